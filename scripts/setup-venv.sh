# Sourced by run.sh and test.sh: create .venv and install the pinned requirements when they change.
set -euo pipefail
PYTHON_BIN=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON_BIN --version)"
  "$PYTHON_BIN" -m venv .venv
fi
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha 2>/dev/null)" != "$want" ]; then
  echo "==> installing requirements (first run takes a minute or two)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > .venv/.requirements.sha
fi
export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
# OpenMP threads (embedding, speech) sleep rather than spin while waiting: far less CPU on shared cores.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
