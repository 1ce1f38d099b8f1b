#!/usr/bin/env bash
# RAGFlow's own HTTP-API and SDK test suites against a live Almanac (a manual conformance check: it needs a
# RAGFlow checkout, which CI cannot fetch).
#
#   scripts/ragflow-suite.sh <ragflow checkout> [http|sdk|both] [pytest args...]
#   scripts/ragflow-suite.sh ~/src/ragflow http --level p2 -k test_dataset_mangement
#
# The checkout should be at tag v0.22.1 (the version of ragflow-sdk that Almanac targets). Its tests are
# copied to a temporary folder and run unchanged except for the login: RAGFlow's conftest registers a user,
# logs in, creates an API token and sets the tenant's models over its web API; here the session fixtures
# `auth`/`token` return the Almanac server's admin API key and `set_tenant_info` does nothing. The tenant's
# chat models that fixture sets up (ZHIPU-AI's glm-4-flash as the default, glm-4) are saved beforehand with
# Almanac's CLI (ZHIPU_AI_API_KEY as their key; the suites never call them). Its default embedding model
# (BAAI/bge-small-en-v1.5, a download) is not: Almanac's default stays its bundled model.
# A throwaway Almanac server (temporary ALMANAC_DATA_DIR, a free port) serves the run and is stopped at the
# end. The suites' Python packages go into their own venv (RAGFLOW_SUITE_VENV), not Almanac's.
# Level: p3 (all tests) unless `--level p1|p2` is given (RAGFlow's own default is p2). Extra args go to
# pytest (select with -k, not with file paths). At the end: passed / failed / skipped per suite and level;
# RAGFLOW_SUITE_RESULTS=<file> keeps the outcome of every test, RAGFLOW_SUITE_LOG=<file> the server's log.
set -euo pipefail

checkout=${1:?usage: $0 <ragflow checkout> [http|sdk|both] [pytest args...]}
which=${2:-both}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")/.." && pwd)
tests="$checkout/test/testcases"
[ -f "$tests/conftest.py" ] || { echo "no $tests/conftest.py: is $checkout a RAGFlow checkout?" >&2; exit 2; }
case "$which" in http) suites=(test_http_api) ;; sdk) suites=(test_sdk_api) ;; both) suites=(test_http_api test_sdk_api) ;;
  *) echo "second argument: http, sdk or both" >&2; exit 2 ;; esac

venv=${RAGFLOW_SUITE_VENV:-${TMPDIR:-/tmp}/ragflow-suite-venv}
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'ragflow-sdk==0.22.1' 'pytest>=8.3.5' 'hypothesis>=6.132.0' 'requests>=2.32.2' \
    'requests-toolbelt>=1.0.0' 'openpyxl>=3.1.5' 'pillow>=10.4.0' 'python-docx>=1.1.2' 'python-pptx>=1.0.2' \
    'reportlab>=4.4.1' 'pytest-timeout'
fi

pytest_args=("$@")
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 143" TERM INT

cp -r "$tests" "$work/testcases"
mkdir -p "$work/data"
cat >> "$work/testcases/conftest.py" <<'PY'


# ---- Almanac: the login is an API key of the Almanac server under test (replaces the fixtures above).
import os as _os


@pytest.fixture(scope="session")
def auth():
    return "Bearer " + _os.environ["ALMANAC_API_KEY"]


@pytest.fixture(scope="session")
def token(auth):
    return _os.environ["ALMANAC_API_KEY"]


@pytest.fixture(scope="session", autouse=True)
def set_tenant_info():
    """Almanac's tenant defaults come from its settings; nothing to set over a web API."""


# ---- Almanac: the outcome of each test with its level, for the summary by priority.
_levels, _outcomes = {}, {}


def pytest_collection_modifyitems(items):
    for item in items:
        _levels[item.nodeid] = next((m.name for m in item.iter_markers() if m.name in ("p1", "p2", "p3")), "-")


def pytest_runtest_logreport(report):
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.skipped:
        _outcomes.setdefault(report.nodeid, "skipped")
    elif report.when == "call":
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_sessionfinish(session):
    with open(_os.environ["RAGFLOW_SUITE_RESULTS"], "a", encoding="utf-8") as out:
        for nodeid, outcome in _outcomes.items():
            out.write(f"{_levels.get(nodeid, '-')}\t{outcome}\t{nodeid}\n")
PY

zhipu=https://open.bigmodel.cn/api/paas/v4
for model in "glm-4-flash@ZHIPU-AI glm-4-flash --default" "glm-4 glm-4"; do
  set -- $model
  (cd "$here" && ALMANAC_DATA_DIR="$work/data" .venv/bin/python -m core.cli models add --type llm --provider openai \
    --name "$1" --model "$2" --base-url "$zhipu" --api-key "${ZHIPU_AI_API_KEY:-unused}" ${3:-} >/dev/null)
done

port=$("$here/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="ragflow-suite-$(date +%s)"
(cd "$here" && ALMANAC_DATA_DIR="$work/data" ALMANAC_HOST=127.0.0.1 ALMANAC_PORT="$port" ALMANAC_ADMIN_API_KEY="$key" \
  exec .venv/bin/python api_server.py >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 240); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done

results=${RAGFLOW_SUITE_RESULTS:-$work/results.tsv}
: > "$results"
status=0
for suite in "${suites[@]}"; do
  client=http; [ "$suite" = test_sdk_api ] && client=python_sdk
  echo "==> $suite"
  (cd "$work/testcases" && HOST_ADDRESS="http://127.0.0.1:$port" ALMANAC_API_KEY="$key" ZHIPU_AI_API_KEY="${ZHIPU_AI_API_KEY:-unused}" \
    RAGFLOW_SUITE_RESULTS="$results" "$venv/bin/python" -m pytest "$suite" -p no:cacheprovider --level p3 \
    --client-type "$client" -q -rfE --timeout 300 "${pytest_args[@]}") || status=$?
done

echo "==> passed / failed / skipped per suite and level (p1+p2 is RAGFlow's default run)"
awk -F'\t' '{ split($3, path, "/"); suite = path[1]
  for (i = 0; i < 3; i++) { key = suite " " (i == 0 ? $1 : i == 1 ? "p1+p2" : "all")
    if (i == 1 && $1 != "p1" && $1 != "p2") continue
    n[key, $2]++; keys[key] } }
  END { for (k in keys) { p = n[k, "passed"] + 0; f = n[k, "failed"] + 0; s = n[k, "skipped"] + 0
        printf "%-20s %5d passed %5d failed %5d skipped  %5.1f %% of those run\n", k, p, f, s, (p + f) ? 100 * p / (p + f) : 0 } }' \
  "$results" | sort
[ -n "${RAGFLOW_SUITE_LOG:-}" ] && cp "$work/server.log" "$RAGFLOW_SUITE_LOG"
exit $status
