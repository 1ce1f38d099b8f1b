# Sourced by run.sh and test.sh: install the Debian packages Almanac needs at run time (and, with
# `ALMANAC_DEBIAN_FOR=test`, those the tests need too) when they are missing and we may (root + apt-get).
# Run time: espeak-ng (offline text-to-speech), libGL and GLib (OpenCV, used by the OCR engine), a CJK font
# (OCR tests render Chinese; the UI shows it). Tests add chromium (browser tests) and postgresql (scale-out).
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
ldconfig -p 2>/dev/null | grep "libGL.so.1" >/dev/null || missing+=(libgl1)
ldconfig -p 2>/dev/null | grep "libglib-2.0.so.0" >/dev/null || missing+=(libglib2.0-0)
{ compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK-*" || fc-list 2>/dev/null | grep -i "Noto Sans CJK"; } \
  >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ "${ALMANAC_DEBIAN_FOR:-run}" = test ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  # Debian keeps initdb and postgres off PATH, in /usr/lib/postgresql/<version>/bin
  # (tests/scaleout/conftest.py looks there too).
  if ! { command -v initdb && command -v postgres; } >/dev/null 2>&1 \
     && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: ${missing[*]} not installed (needs root); features (or tests) that need them are off" >&2
  fi
fi
