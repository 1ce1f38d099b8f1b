#!/usr/bin/env bash
# Install what the tests need (Python packages, and Debian's chromium, espeak-ng, postgresql, a CJK font
# when running as root), then run the whole suite in parallel. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup-venv.sh
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
# OCR tests render Chinese text (a CJK font); OpenCV, which the OCR engine uses, needs libGL and GLib.
{ compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK-*" || fc-list 2>/dev/null | grep -i "Noto Sans CJK"; } \
  >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
ldconfig -p 2>/dev/null | grep "libGL.so.1" >/dev/null || missing+=(libgl1)
ldconfig -p 2>/dev/null | grep "libglib-2.0.so.0" >/dev/null || missing+=(libglib2.0-0)
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
