"""WeKnora knowledge bases and knowledge: each route with the spec's request, the spec's fields, and its
effect seen through a follow-up call."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.config import Settings
from tests.helpers import RFC3339
from tests.helpers import weknora_data as data
from tests.helpers import weknora_error as error

TEXT = (b"The refund window is thirty days from delivery.\n\n"
        b"Shipping to the islands takes five working days.\n\n"
        b"Gift cards never expire and cannot be exchanged for cash.\n")
KB_FIELDS = {"id", "tenant_id", "name", "description", "config", "chunking_config", "embedding_model_id",
             "created_at", "updated_at"}
KNOWLEDGE_FIELDS = {"id", "tenant_id", "knowledge_base_id", "type", "title", "description", "source", "parse_status",
                    "enable_status", "embedding_model_id", "file_name", "file_type", "file_size", "file_path",
                    "created_at", "updated_at", "processed_at", "error_message", "metadata"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    """URL imports may reach this test's own web server on 127.0.0.1."""
    return Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64",
                    allow_private_urls=True)


@pytest.fixture
def site():
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = b"<html><body><h1>Returns</h1><p>Returned parcels are refunded within ten days.</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def kb(weknora) -> str:
    return data(weknora.post("/api/v1/knowledge-bases", json={
        "name": "知识库名称", "description": "知识库描述", "config": {"chunk_size": 40, "chunk_overlap": 8}}), 201)["id"]


@pytest.fixture
def knowledge(weknora, svc, kb) -> str:
    """A parsed knowledge entry of `kb`, uploaded with metadata."""
    created = data(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file", files={"file": ("policy.txt", TEXT)},
                                data={"metadata": json.dumps({"page": 1, "owner": "support"})}))
    assert svc.workers.drain(timeout=120)
    return created["id"]


def test_knowledge_base_crud(weknora):
    created = data(weknora.post("/api/v1/knowledge-bases", json={
        "name": "知识库名称", "description": "知识库描述", "config": {"chunk_size": 1000, "chunk_overlap": 200},
        "embedding_model_id": "mock:words-64"}), 201)
    assert set(created) >= KB_FIELDS and created["tenant_id"] == 1 and re.match(RFC3339, created["created_at"])
    assert created["config"] == {"chunk_size": 1000, "chunk_overlap": 200}
    assert created["chunking_config"]["chunk_size"] == 1000 and created["embedding_model_id"] == "mock:words-64"
    kb = created["id"]
    assert data(weknora.get(f"/api/v1/knowledge-bases/{kb}")) == created
    assert [k["id"] for k in data(weknora.get("/api/v1/knowledge-bases"))] == [kb]

    updated = data(weknora.put(f"/api/v1/knowledge-bases/{kb}", json={
        "name": "新知识库名称", "description": "新知识库描述", "config": {"chunk_size": 800, "chunk_overlap": 150}}))
    assert (updated["name"], updated["description"], updated["config"]) == \
        ("新知识库名称", "新知识库描述", {"chunk_size": 800, "chunk_overlap": 150})
    # WeKnora's Go client nests the chunking in config.chunking_config; separators are plain strings
    go = data(weknora.put(f"/api/v1/knowledge-bases/{kb}", json={"name": "新知识库名称", "config": {
        "chunking_config": {"chunk_size": 600, "chunk_overlap": 50, "separators": ["\n\n", "."]}}}))
    assert go["chunking_config"]["separators"] == ["\n\n", "."] and go["config"]["chunk_size"] == 600
    assert data(weknora.get(f"/api/v1/knowledge-bases/{kb}"))["chunking_config"] == go["chunking_config"]

    res = weknora.delete(f"/api/v1/knowledge-bases/{kb}")
    assert res.status_code == 200 and res.json()["success"] is True
    error(weknora.get(f"/api/v1/knowledge-bases/{kb}"), 404, 1003)


def test_knowledge_base_bad_input(weknora):
    error(weknora.post("/api/v1/knowledge-bases", json={"name": ""}), 400, 1000)
    error(weknora.post("/api/v1/knowledge-bases", json={"name": "x", "embedding_model_id": "no-such-model"}), 400,
          1000)
    error(weknora.post("/api/v1/knowledge-bases", json={"name": "x", "config": {"chunk_size": 10,
                                                                                "chunk_overlap": 50}}), 400, 1000)
    data(weknora.post("/api/v1/knowledge-bases", json={"name": "once"}), 201)
    error(weknora.post("/api/v1/knowledge-bases", json={"name": "once"}), 409, 1005)
    assert [k["name"] for k in data(weknora.get("/api/v1/knowledge-bases"))] == ["once"]


def test_knowledge_from_file_with_metadata_then_parsed(weknora, svc, kb):
    res = weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file", files={"file": ("policy.txt", TEXT)},
                       data={"metadata": json.dumps({"page": 1, "owner": "support"})})
    created = data(res)
    assert set(created) >= KNOWLEDGE_FIELDS and created["knowledge_base_id"] == kb and created["type"] == "file"
    assert (created["title"], created["file_name"], created["file_type"], created["file_size"]) == \
        ("policy.txt", "policy.txt", "txt", len(TEXT))
    assert created["metadata"] == {"page": "1", "owner": "support"}  # strings, as WeKnora's clients decode them
    assert created["parse_status"] == "pending" and created["enable_status"] == "disabled"
    echoed = data(weknora.put(f"/api/v1/knowledge/{created['id']}", json=created))  # WeKnora's Go client sends it all
    assert {k: echoed[k] for k in ("title", "metadata", "enable_status")} == \
        {k: created[k] for k in ("title", "metadata", "enable_status")}
    assert svc.workers.drain(timeout=120)
    parsed = data(weknora.get(f"/api/v1/knowledge/{created['id']}"))
    assert (parsed["parse_status"], parsed["enable_status"]) == ("completed", "enabled")
    assert re.match(RFC3339, parsed["processed_at"]) and parsed["error_message"] == ""
    assert data(weknora.get(f"/api/v1/chunks/{created['id']}"))  # it has chunks now

    duplicate = weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file", files={"file": ("copy.txt", TEXT)})
    assert duplicate.status_code == 409
    body = duplicate.json()
    assert body["success"] is False and body["code"] == "duplicate_file" and body["data"]["id"] == created["id"]
    assert body["error"]["code"] == 1005
    error(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file", files={"file": ("x.txt", b"x")},
                       data={"metadata": "{not json"}), 400, 1000)
    error(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file"), 400, 1000)
    listed = weknora.get(f"/api/v1/knowledge-bases/{kb}/knowledge").json()
    assert listed["total"] == 1 and [k["id"] for k in listed["data"]] == [created["id"]]


def test_knowledge_from_url(weknora, svc, kb, site):
    created = data(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/url", json={"url": f"{site}/returns"}), 201)
    assert created["type"] == "url" and created["source"] == f"{site}/returns" and created["title"] == "returns.html"
    assert svc.workers.drain(timeout=120)
    chunks = data(weknora.get(f"/api/v1/chunks/{created['id']}"))
    assert any("refunded within ten days" in c["content"] for c in chunks)
    again = weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/url", json={"url": f"{site}/returns"})
    assert again.status_code == 409 and again.json()["code"] == "duplicate_url"
    error(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/url", json={"url": "ftp://x"}), 400, 1000)


def test_list_get_batch_update_download_delete(weknora, svc, kb, knowledge):
    other = data(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file",
                              files={"file": ("notes.md", b"# Notes\n\nCall the warehouse on Mondays.")}))["id"]
    assert svc.workers.drain(timeout=120)
    page = weknora.get(f"/api/v1/knowledge-bases/{kb}/knowledge", params={"page": 1, "page_size": 1}).json()
    assert page["success"] and page["total"] == 2 and (page["page"], page["page_size"]) == (1, 1)
    assert len(page["data"]) == 1 and set(page["data"][0]) >= KNOWLEDGE_FIELDS
    batch = data(weknora.get("/api/v1/knowledge/batch", params=[("ids", knowledge), ("ids", other),
                                                                ("ids", "nope")]))
    assert [k["id"] for k in batch] == [knowledge, other]

    updated = data(weknora.put(f"/api/v1/knowledge/{knowledge}", json={
        "title": "refunds.txt", "metadata": {"owner": "billing", "year": 2025}, "enable_status": "disabled"}))
    got = data(weknora.get(f"/api/v1/knowledge/{knowledge}"))
    assert updated == got and got["title"] == "refunds.txt" and got["enable_status"] == "disabled"
    assert got["metadata"] == {"owner": "billing", "year": "2025"}
    hits = data(weknora.get(f"/api/v1/knowledge-bases/{kb}/hybrid-search", params={"query": "refund window"}))
    assert all(h["knowledge_id"] != knowledge for h in hits)  # disabled knowledge is not searched
    data(weknora.put(f"/api/v1/knowledge/{knowledge}", json={"enable_status": "enabled"}))
    error(weknora.put(f"/api/v1/knowledge/{knowledge}", json={"enable_status": "maybe"}), 400, 1000)

    download = weknora.get(f"/api/v1/knowledge/{knowledge}/download")
    assert download.status_code == 200 and download.content == TEXT
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment")

    res = weknora.delete(f"/api/v1/knowledge/{other}")
    assert res.status_code == 200 and res.json()["success"] is True
    error(weknora.get(f"/api/v1/knowledge/{other}"), 404, 1003)
    assert weknora.get(f"/api/v1/knowledge-bases/{kb}/knowledge").json()["total"] == 1


def test_image_info_of_a_chunk(weknora, knowledge):
    chunk = data(weknora.get(f"/api/v1/chunks/{knowledge}"))[0]
    info = json.dumps([{"url": "https://example.com/a.png", "caption": "a parcel", "ocr_text": "RETURN"}])
    res = weknora.put(f"/api/v1/knowledge/image/{knowledge}/{chunk['id']}", json={"image_info": info})
    assert res.status_code == 200 and res.json()["success"] is True
    again = next(c for c in data(weknora.get(f"/api/v1/chunks/{knowledge}")) if c["id"] == chunk["id"])
    assert again["image_info"] == info and "image_info" not in again["metadata"]
    error(weknora.put(f"/api/v1/knowledge/image/{knowledge}/{chunk['id']}", json={"image_info": "{oops"}), 400, 1000)
    error(weknora.put(f"/api/v1/knowledge/image/other/{chunk['id']}", json={"image_info": "[]"}), 404, 1003)


def test_hybrid_search_with_query_parameter_or_json_body(weknora, kb, knowledge):
    hits = data(weknora.get(f"/api/v1/knowledge-bases/{kb}/hybrid-search", params={"query": "refund window"}))
    assert hits and "refund" in hits[0]["content"] and hits[0]["knowledge_id"] == knowledge
    assert {"id", "content", "metadata", "knowledge_title", "score"} <= set(hits[0])
    assert hits[0]["knowledge_title"] == "policy.txt" and 0 < hits[0]["score"] <= 1
    assert all(isinstance(v, str) for h in hits for v in h["metadata"].values())
    body = data(weknora.request("GET", f"/api/v1/knowledge-bases/{kb}/hybrid-search",
                                json={"query_text": "gift cards expire", "vector_threshold": 0.0,
                                      "keyword_threshold": 0.0, "match_count": 1}))
    assert len(body) == 1 and "Gift cards" in body[0]["content"]
    error(weknora.get(f"/api/v1/knowledge-bases/{kb}/hybrid-search"), 400, 1000)
    error(weknora.request("GET", f"/api/v1/knowledge-bases/{kb}/hybrid-search",
                          json={"query": "x", "match_count": -1}), 400, 1010)


def test_copy_into_an_existing_knowledge_base_and_into_a_new_one(weknora, svc, kb, knowledge):
    target = data(weknora.post("/api/v1/knowledge-bases", json={"name": "target"}), 201)["id"]
    data(weknora.post(f"/api/v1/knowledge-bases/{target}/knowledge/file",
                      files={"file": ("own.txt", b"The target keeps its own notes on pallets.")}))
    assert svc.workers.drain(timeout=120)
    res = weknora.post("/api/v1/knowledge-bases/copy", json={"source_id": kb, "target_id": target})
    assert res.status_code == 200 and res.json()["success"] is True
    titles = sorted(k["title"] for k in weknora.get(f"/api/v1/knowledge-bases/{target}/knowledge").json()["data"])
    assert titles == ["own.txt", "policy.txt"]
    hits = data(weknora.get(f"/api/v1/knowledge-bases/{target}/hybrid-search", params={"query": "refund window"}))
    assert hits and "refund" in hits[0]["content"] and hits[0]["knowledge_base_id"] == target
    weknora.post("/api/v1/knowledge-bases/copy", json={"source_id": kb, "target_id": target})  # again: no duplicate
    assert weknora.get(f"/api/v1/knowledge-bases/{target}/knowledge").json()["total"] == 2

    fresh = weknora.post("/api/v1/knowledge-bases/copy", json={"source_id": kb}).json()["data"]["target_id"]
    assert data(weknora.get(f"/api/v1/knowledge-bases/{fresh}"))["knowledge_count"] == 1
    error(weknora.post("/api/v1/knowledge-bases/copy", json={"source_id": kb, "target_id": kb}), 400, 1000)
    error(weknora.post("/api/v1/knowledge-bases/copy", json={"source_id": "nope"}), 404, 1003)
    error(weknora.post("/api/v1/knowledge-bases/copy", json={}), 400, 1010)
