#!/usr/bin/env bash
# Start everything: the API, the admin UI (/ui/) and the ingestion workers, in one process.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup-venv.sh
. scripts/debian-packages.sh  # espeak-ng (voice), libGL/GLib (OCR), a CJK font
exec .venv/bin/python api_server.py "$@"
