#!/usr/bin/env bash
# Install what the tests need (Python packages, and Debian's chromium, espeak-ng, postgresql, a CJK font, libGL
# when running as root: scripts/debian-packages.sh), then run the whole suite in parallel. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup-venv.sh
ALMANAC_DEBIAN_FOR=test . scripts/debian-packages.sh
exec .venv/bin/python -m pytest -n 2 "$@"
