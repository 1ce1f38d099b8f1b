"""Every operation of /openapi.json, fuzzed with schemathesis's CLI against a real server: its schema's
examples, boundary values (coverage) and random valid and invalid input. No answer may be a 5xx or an
"Internal error" envelope (tests/api/fuzz_hooks.py). Dialects added later are covered as soon as they
appear in the schema. Bounded and deterministic, so the suite stays fast and every run sends the same
requests: derandomized generation (no example database), EXAMPLES fuzzed cases per operation and no time
budget (with one, schemathesis keeps fuzzing until it is spent, a different number of cases each run).
About 6,000 cases, ~80 s with the server's start on two busy cores; MAX_TIME_S only stops a hung run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from core.container import build_services
from tests.conftest import ingest
from tests.helpers.server import free_port, start_server, stop_process
from tests.mock_llm import MockOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 8
MAX_TIME_S = 240


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with a knowledge base, a document and an assistant; yields (base URL, admin key)."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    seed = build_services(Settings(data_dir=data, ingest_workers=0, embedding_model="mock:words-64"))
    kb = seed.knowledge.create("default", "Handbook")
    ingest(seed, "default", kb.id, [("leave.txt", b"Annual leave is 25 days. Ask your manager first.")])
    seed.assistants.create("default", "Helper", kb_ids=[kb.id])
    key = seed.admin_api_key
    seed.close()
    port = free_port()
    upstream = MockOpenAIServer().start()  # Nexent's upstream model service (/api/me/...): configured, so it answers
    env = {"ALMANAC_INGEST_WORKERS": "1", "ALMANAC_EMBEDDING_MODEL": "mock:words-64",
           "ALMANAC_MODEL_ENGINE_URL": upstream.base_url, "ALMANAC_MODEL_ENGINE_API_KEY": "sk-upstream"}
    try:
        proc = start_server(data, port, env, argv=[sys.executable, "-m", "uvicorn", "api_server:app", "--host",
                                                   "127.0.0.1", "--port", str(port), "--log-level", "warning"])
        try:
            yield f"http://127.0.0.1:{port}", key
        finally:
            stop_process(proc, 30)
    finally:
        upstream.stop()


def test_no_operation_answers_a_server_error(server, tmp_path):
    base, key = server
    report = tmp_path / "junit.xml"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base}/openapi.json",
         "--header", f"Authorization: Bearer {key}", "--checks", "not_a_server_error,no_internal_error_envelope",
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES),
         "--generation-deterministic", "--no-shrink",
         "--request-timeout", "60", "--continue-on-failure", "--no-color",
         "--workers", "1",  # Python 3.11's ast is not thread-safe: generating in threads fails with
         # "AST constructor recursion depth mismatch"
         "--report", "junit", "--report-junit-path", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=MAX_TIME_S)
    found = run.stdout[run.stdout.find("=== ERRORS") if "=== ERRORS" in run.stdout else run.stdout.find("=== FAIL"):]
    assert run.returncode == 0, (found or run.stdout)[-12000:] + run.stderr[-2000:]
    assert "Tested: " in run.stdout and report.exists()
    print("\n" + "\n".join(line for line in run.stdout.splitlines() if "Tested:" in line or "generated" in line
                           ))
