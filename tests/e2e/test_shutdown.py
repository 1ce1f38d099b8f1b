"""Stopping the server while it ingests: it exits within 5 s, the running task goes back to the queue, and
the next start finishes it with SQL and vectors in step. The access log never shows a credential."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.config import Settings
from core.container import build_services
from core.ingestion.tasks import REQUEUED_MESSAGE

ROOT = Path(__file__).resolve().parents[2]
SECRET = "almanac-not-for-the-log-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_PORT": str(port), "ALMANAC_HOST": "127.0.0.1",
           "ALMANAC_INGEST_WORKERS": "1", "HF_HUB_OFFLINE": "1",
           "ALMANAC_INGEST_NICE": "0"}  # stopping is tested here, not CPU priority (the machine may be shared)
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api_server:app", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")


def test_graceful_shutdown_requeues_and_the_next_start_resumes(tmp_path):
    data, log = tmp_path / "data", tmp_path / "server.log"
    setup = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = setup.knowledge.create("default", "Shutdown", chunk_config={"chunk_size": 48, "chunk_overlap": 0})
    text = "\n\n".join(f"Paragraph {i}: the archive keeps record {i * 7} about topic {i % 13} for the regional "
                       "office, with notes on budgets, travel and staffing." for i in range(250))
    (doc,) = setup.documents.upload("default", kb.id, [("archive.txt", text.encode())])
    setup.close()

    server, base = start(data, log)
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
        if server.poll() is None:
            server.kill()
        probe.close()
    logged = log.read_text(errors="replace")
    assert "GET /health?api_key=*** HTTP/1.1" in logged and SECRET not in logged

    server, _ = start(data, log)
    try:
        check = build_services(Settings(data_dir=data, ingest_workers=0))
        deadline = time.monotonic() + 600
        while (task := check.documents.get("default", doc.id).task).state != "completed":
            assert time.monotonic() < deadline and task.state != "error", task
            time.sleep(0.3)
        check.close()
    finally:
        server.terminate()
        server.wait(30)
    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        chunks = check.chunks.list("default", doc.id, page_size=100_000).items
        assert [c.position for c in chunks] == list(range(len(chunks))) and all(c.embedded for c in chunks)
        assert check.vectors.count(kb.id) == len(chunks) == check.documents.get("default", doc.id).chunk_count
    finally:
        check.close()
