"""A live Almanac server for tests, and processes that always end (stop_process kills what ignores SIGTERM)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 120  # seconds; a cold start on two busy cores takes well over ten


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> int | None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds: no test leaves a process behind."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
    return proc.returncode


def log_tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_until_healthy(proc: subprocess.Popen, base: str, log: Path, timeout: float = SERVER_START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{log_tail(log)}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise AssertionError(f"the server did not answer /health within {timeout} s:\n{log_tail(log)}")


def start_server(data: Path, port: int, env: dict[str, str] | None = None,
                 argv: list[str] | None = None) -> subprocess.Popen:
    """`python api_server.py` (or `argv`) on `port` over the data dir `data`, once /health answers.

    Its output goes to `<data>.<port>.log` beside the data dir (shown when it fails to start).
    Stop it with stop_process().
    """
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_PORT": str(port), "ALMANAC_HOST": "127.0.0.1",
           "ALMANAC_INGEST_WORKERS": os.environ.get("ALMANAC_INGEST_WORKERS", "2"), "HF_HUB_OFFLINE": "1",
           **(env or {})}
    log = data.parent / f"{data.name}.{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv or [sys.executable, "api_server.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    wait_until_healthy(proc, f"http://127.0.0.1:{port}", log)
    return proc


def communicate_or_kill(proc: subprocess.Popen, timeout: float) -> str:
    """The process's output once it exits; killed (and the test failed) when it runs past `timeout`."""
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            out = proc.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:  # exited, but a process it started still holds its output open
            out = "(output not closed: a process it started is still running)"
        raise AssertionError(f"{proc.args!r} or a process it started was still running after {timeout} s; "
                             f"killed:\n{out}") from None
