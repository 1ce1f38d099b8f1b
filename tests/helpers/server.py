"""A live Almanac server for tests (a subprocess on a free port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int, **env: str) -> subprocess.Popen:
    """`python api_server.py` on the data dir; returns once /health answers (the caller terminates it)."""
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_PORT": str(port), "ALMANAC_HOST": "127.0.0.1",
           "ALMANAC_INGEST_WORKERS": "2", "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.Popen([sys.executable, "api_server.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("server did not start")
