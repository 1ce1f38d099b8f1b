"""LLMOps envelopes and a dataset made over the LLMOps API, for tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def swatch(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
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
