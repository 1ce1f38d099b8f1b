#!/usr/bin/env bash
# Install what the tests need (Python packages, and Debian's chromium, espeak-ng and postgresql
# when running as root), then run the whole suite in parallel. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup-venv.sh
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
# The scale-out tests run a throwaway PostgreSQL server; Debian keeps initdb and postgres off
# PATH, in /usr/lib/postgresql/<version>/bin (tests/scaleout/conftest.py looks there too).
if ! { command -v initdb && command -v postgres; } >/dev/null 2>&1 \
   && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: ${missing[*]} not installed (needs root); tests that need them are skipped" >&2
  fi
fi
exec .venv/bin/python -m pytest -n 2 "$@"
