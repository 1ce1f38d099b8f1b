#!/bin/sh
# The Docker image's entry point (Hugging Face Spaces, `docker run`): choose the data dir, start the server.
#   scripts/space-entrypoint.sh [persistent dir]      (default /data, where Spaces mount persistent storage)
# Data goes to <persistent dir>/almanac when that dir exists and is writable, else to a temporary folder
# (gone with the container). ALMANAC_DATA_DIR, when set, wins. Settings come from the environment
# (the Dockerfile sets ALMANAC_PORT=7860 and ALMANAC_DEMO=true).
set -eu
cd "$(dirname "$0")/.."
persistent=${1:-/data}
if [ -z "${ALMANAC_DATA_DIR:-}" ]; then
  # Creating the folder is the test that counts: `-w` says yes to root even where nothing can be made (/proc).
  if [ -d "$persistent" ] && mkdir -p "$persistent/almanac" 2>/dev/null; then
    ALMANAC_DATA_DIR="$persistent/almanac"
  else
    ALMANAC_DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/almanac-data.XXXXXX")
    echo "==> $persistent is not a writable folder: data lives in $ALMANAC_DATA_DIR until the container stops"
  fi
  export ALMANAC_DATA_DIR
fi
mkdir -p "$ALMANAC_DATA_DIR"
# exec: the server is the container's main process and gets its SIGTERM directly (it stops within a second).
exec python api_server.py
