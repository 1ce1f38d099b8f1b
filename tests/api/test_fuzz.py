"""Every operation of /openapi.json, fuzzed with schemathesis's CLI against a real server: its schema's
examples, boundary values (coverage) and random valid and invalid input. No answer may be a 5xx or an
"Internal error" envelope (tests/api/fuzz_hooks.py). Dialects added later are covered as soon as they
appear in the schema. Bounded: EXAMPLES cases per operation and phase, and MAX_TIME_S in all.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.container import build_services
from tests.conftest import ingest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 15
MAX_TIME_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_INGEST_WORKERS": "1", "HF_HUB_OFFLINE": "1",
           "ALMANAC_EMBEDDING_MODEL": "mock:words-64"}
    log = data.parent / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api_server:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_no_operation_answers_a_server_error(server, tmp_path):
    base, key = server
    report = tmp_path / "junit.xml"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base}/openapi.json",
         "--header", f"Authorization: Bearer {key}", "--checks", "not_a_server_error,no_internal_error_envelope",
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES), "--max-time", str(MAX_TIME_S),
         "--request-timeout", "60", "--continue-on-failure", "--no-color",  # one worker: Python 3.11's ast is
         # not thread-safe, and generating in threads fails with "AST constructor recursion depth mismatch"
         "--report", "junit", "--report-junit-path", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=MAX_TIME_S + 120)
    found = run.stdout[run.stdout.find("=== ERRORS") if "=== ERRORS" in run.stdout else run.stdout.find("=== FAIL"):]
    assert run.returncode == 0, (found or run.stdout)[-12000:] + run.stderr[-2000:]
    assert "Tested: " in run.stdout and report.exists()
    print("\n" + "\n".join(line for line in run.stdout.splitlines() if "Tested:" in line or "generated" in line))
