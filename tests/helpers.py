"""Helpers shared by test modules (fixtures live in conftest.py files)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's: Playwright cannot download browsers here
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int) -> subprocess.Popen:
    """The one-process server (api_server.py) on 127.0.0.1:port over `data`, once /health answers."""
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_PORT": str(port), "ALMANAC_HOST": "127.0.0.1",
           "ALMANAC_INGEST_WORKERS": "2", "HF_HUB_OFFLINE": "1"}
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


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A real image, encoded by Pillow."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buf, format=fmt)
    return buf.getvalue()


def llmops_data(resp: Any) -> Any:
    """The `data` of a successful LLMOps answer (HTTP 200, code success)."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["code"] == "success", body
    assert set(body) == {"code", "message", "data"}
    return body["data"]


def llmops_error(resp: Any, code: str) -> str:
    """The message of an LLMOps failure with `code` (LLMOps answers failures with HTTP 200 too)."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["code"] == code, body
    assert body["message"] and body["data"] is not None
    return body["message"]


def llmops_dataset(client: Any, svc: Any, files: list[tuple[str, bytes]], *, name: str = "handbook",
                   rule: dict | None = None) -> tuple[str, str, list[str]]:
    """Over the LLMOps API: a dataset, the files uploaded and added as documents (custom `rule`, else
    automatic), processed by the workers. Returns (dataset id, batch, document ids)."""
    dataset = llmops_data(client.post("/datasets", json={"name": name, "icon": "https://example.com/kb.png"}))["id"]
    ids = [llmops_data(client.post("/upload-files/file", files={"file": f}))["id"] for f in files]
    body: dict[str, Any] = {"upload_file_ids": ids, "process_type": "custom" if rule else "automatic"}
    if rule:
        body["rule"] = rule
    added = llmops_data(client.post(f"/datasets/{dataset}/documents", json=body))
    assert svc.workers.drain(timeout=120)
    return dataset, added["batch"], [d["id"] for d in added["documents"]]
