"""Stopping the server while it ingests: it exits within 5 s, the running task goes back to the queue, and
the next start finishes it with SQL and vectors in step. The access log never shows a credential."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.config import Settings
from core.container import build_services
from core.ingestion.tasks import REQUEUED_MESSAGE
from tests.helpers.server import free_port, start_server, stop_process

SECRET = "almanac-not-for-the-log-0123456789"


def start(data: Path) -> tuple[subprocess.Popen, str, Path]:
    """The server under uvicorn (its access log on), with one ingestion worker; (process, base URL, log)."""
    port = free_port()
    env = {"ALMANAC_INGEST_WORKERS": "1",
           "ALMANAC_INGEST_NICE": "0"}  # stopping is tested here, not CPU priority (the machine may be shared)
    proc = start_server(data, port, env, argv=[sys.executable, "-m", "uvicorn", "api_server:app", "--host",
                                               "127.0.0.1", "--port", str(port)])
    return proc, f"http://127.0.0.1:{port}", data.parent / f"{data.name}.{port}.log"


def test_graceful_shutdown_requeues_and_the_next_start_resumes(tmp_path):
    data = tmp_path / "data"
    setup = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = setup.knowledge.create("default", "Shutdown", chunk_config={"chunk_size": 48, "chunk_overlap": 0})
    text = "\n\n".join(f"Paragraph {i}: the archive keeps record {i * 7} about topic {i % 13} for the regional "
                       "office, with notes on budgets, travel and staffing." for i in range(250))
    (doc,) = setup.documents.upload("default", kb.id, [("archive.txt", text.encode())])
    setup.close()

    server, base, log = start(data)
    probe = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        deadline = time.monotonic() + 300
        while (task := probe.documents.get("default", doc.id).task).state != "indexing" or task.progress < 0.3:
            assert time.monotonic() < deadline and task.state not in ("completed", "error"), task
            time.sleep(0.1)
        assert httpx.get(f"{base}/health", params={"api_key": SECRET}).status_code == 200
        stopping = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        took = time.monotonic() - stopping
        task = probe.documents.get("default", doc.id).task
        assert took <= 5.0, f"the server took {took:.1f} s to stop"
        assert (task.state, task.message) == ("waiting", REQUEUED_MESSAGE) and 0.3 <= task.progress < 1.0
    finally:
        stop_process(server)
        probe.close()
    logged = log.read_text(errors="replace")
    assert "GET /health?api_key=*** HTTP/1.1" in logged and SECRET not in logged

    server, _, _ = start(data)
    try:
        check = build_services(Settings(data_dir=data, ingest_workers=0))
        deadline = time.monotonic() + 600
        while (task := check.documents.get("default", doc.id).task).state != "completed":
            assert time.monotonic() < deadline and task.state != "error", task
            time.sleep(0.3)
        check.close()
    finally:
        stop_process(server)
    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        chunks = check.chunks.list("default", doc.id, page_size=100_000).items
        assert [c.position for c in chunks] == list(range(len(chunks))) and all(c.embedded for c in chunks)
        assert check.vectors.count(kb.id) == len(chunks) == check.documents.get("default", doc.id).chunk_count
    finally:
        check.close()
