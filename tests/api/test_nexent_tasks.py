"""Nexent tasks over the ingestion tasks: create (text, a URL), batch (all or nothing), get, list, an index's tasks,
details; statuses and times as Nexent shows them; FastAPI's {"detail"} errors; the image proxy."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from core.config import Settings
from tests.helpers import local_site

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PAGE = b"<html><body><h1>Returns</h1><p>Returned parcels are refunded within ten days.</p></body></html>"


@pytest.fixture
def settings(tmp_path) -> Settings:
    """URL imports may reach this test's own web server on 127.0.0.1."""
    return Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64",
                    allow_private_urls=True)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, format="PNG")
    return out.getvalue()


def test_a_text_task_from_waiting_to_completed(client, svc):
    client.post("/api/indices/kb")
    made = client.post("/api/tasks", json={"source": "Parcels to the islands take five days.", "source_type": "text",
                                           "index_name": "kb", "chunking_strategy": "basic",
                                           "additional_params": {"filename": "shipping.txt", "chunk_size": 128}})
    assert made.status_code == 201, made.text
    task_id = made.json()["task_id"]
    waiting = client.get(f"/api/tasks/{task_id}").json()
    assert (waiting["id"], waiting["status"], waiting["error"]) == (task_id, "waiting", None)
    assert ISO.match(waiting["created_at"]) and ISO.match(waiting["updated_at"])
    pending = client.get("/api/tasks/indices/kb/tasks").json()
    assert pending["index_name"] == "kb" and [f["status"] for f in pending["files"]] == ["WAITING"]
    assert pending["files"][0]["file"] == "shipping.txt"

    svc.workers.drain()
    done = client.get(f"/api/tasks/{task_id}/details").json()
    assert done["status"] == "completed" and done["updated_at"] >= done["created_at"]
    assert done["results"]["index_name"] == "kb" and done["results"]["chunks"] == 1
    assert client.get("/api/tasks/indices/kb/tasks").json()["files"] == []  # nothing unfinished or failed
    assert [t["id"] for t in client.get("/api/tasks").json()["tasks"]] == [task_id]
    found = client.post("/api/indices/search/accurate", json={"query": "islands", "index_names": ["kb"]}).json()
    assert found["results"][0]["filename"] == "shipping.txt"


def test_a_url_task_and_a_failed_one(client, svc):
    client.post("/api/indices/kb")
    with local_site({"/returns.html": ("text/html", PAGE)}) as site:
        task_id = client.post("/api/tasks", json={"source": f"{site}/returns.html", "source_type": "url",
                                                  "index_name": "kb"}).json()["task_id"]
    failed_id = client.post("/api/tasks", json={"source": "  \n ", "source_type": "text",
                                                "index_name": "kb"}).json()["task_id"]
    svc.workers.drain()
    assert client.get(f"/api/tasks/{task_id}").json()["status"] == "completed"
    failed = client.get(f"/api/tasks/{failed_id}").json()
    assert failed["status"] == "failed" and failed["error"]
    [shown] = client.get("/api/tasks/indices/kb/tasks").json()["files"]
    assert (shown["status"], shown["task_id"]) == ("FAILED", failed_id)
    info = {f["path_or_url"]: f for f in client.get("/api/indices/kb/info").json()["files"]}
    assert info[f"{site}/returns.html"]["status"] == "COMPLETED" and info["text.txt"]["status"] == "FAILED"


def test_batches_are_all_or_nothing(client, svc):
    client.post("/api/indices/kb")
    good = {"source": "Gift cards never expire.", "source_type": "text", "index_name": "kb"}
    refused = client.post("/api/tasks/batch", json={"sources": [good, {**good, "index_name": "nope"}]})
    assert refused.status_code == 404 and refused.json() == {"detail": "Index nope not found"}
    refused = client.post("/api/tasks/batch", json={"sources": [good, {"source": "http://127.0.0.1:9/x",
                                                                       "source_type": "url", "index_name": "kb"}]})
    assert refused.status_code == 502 and "detail" in refused.json()
    assert client.get("/api/tasks").json()["tasks"] == [] and client.get("/api/indices/kb/info").json()["files"] == []
    made = client.post("/api/tasks/batch", json={"sources": [good, {**good, "source": "Shipping is free."}]})
    assert made.status_code == 201 and len(made.json()["task_ids"]) == 2


def test_bad_input_and_other_tenants(client, other_client):
    client.post("/api/indices/kb")
    task_id = client.post("/api/tasks", json={"source": "x y z", "source_type": "text", "index_name": "kb"}) \
        .json()["task_id"]
    cases = [
        ("post", "/api/tasks", {"source_type": "text", "index_name": "kb"}, 422),
        ("post", "/api/tasks", {"source": "x", "source_type": "ftp", "index_name": "kb"}, 422),
        ("post", "/api/tasks", {"source": "x", "source_type": "text", "index_name": "kb",
                                "chunking_strategy": "by_magic"}, 400),
        ("post", "/api/tasks", {"source": "x", "source_type": "text", "index_name": "kb",
                                "additional_params": {"chunk_size": 3}}, 400),
        ("post", "/api/tasks/batch", {"sources": []}, 422),
        ("get", "/api/tasks/nope", None, 404),
        ("get", "/api/tasks/nope/details", None, 404),
        ("get", "/api/tasks/indices/nope/tasks", None, 404),
        ("get", "/api/tasks?limit=0", None, 422),
    ]
    for method, path, body, status in cases:
        res = client.request(method.upper(), path, json=body)
        assert res.status_code == status, (path, body, res.text)
        assert "detail" in res.json() and "message" not in res.json()
    assert len(client.get("/api/tasks").json()["tasks"]) == 1
    assert other_client.get(f"/api/tasks/{task_id}").status_code == 404
    assert other_client.get("/api/tasks").json() == {"tasks": []}
    assert other_client.post("/api/tasks", json={"source": "x", "source_type": "text", "index_name": "kb"}) \
        .status_code == 404


def test_image_proxy(client, svc):
    image = png()
    with local_site({"/cat.png": ("application/octet-stream", image), "/page.html": ("text/html", PAGE),
                     "/big.png": ("image/png", image + b"\0" * 2**20)}) as site:
        got = client.get("/api/proxy/image", params={"url": f"{site}/cat.png"}).json()
        assert got == {"success": True, "base64": base64.b64encode(image).decode(), "content_type": "image/png"}
        not_image = client.get("/api/proxy/image", params={"url": f"{site}/page.html"})
        assert not_image.status_code == 400 and not_image.json() == {"success": False, "error":
                                                                    "The URL does not point to a readable image"}
        svc.settings.image_proxy_max_mb = 1
        assert client.get("/api/proxy/image", params={"url": f"{site}/big.png"}).status_code == 413
        assert client.get("/api/proxy/image", params={"url": f"{site}/missing.png"}).status_code == 400
        svc.settings.allow_private_urls = False
        private = client.get("/api/proxy/image", params={"url": f"{site}/cat.png"})
        assert private.status_code == 400 and "private" in private.json()["error"]
    assert client.get("/api/proxy/image", params={"url": "file:///etc/passwd"}).status_code == 400
    assert client.get("/api/proxy/image").status_code == 422
