"""Nexent indices: create, list (with stats), info, add documents (text and sources), search accurate / semantic /
hybrid with Nexent's fields, delete a document by path_or_url, delete, health; bad input; other tenants; keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

TEXTS = [
    {"text": "The refund window is thirty days after purchase. Refunds go back to the original card.",
     "source": "/docs/refunds.md", "metadata": {"filename": "refunds.md", "title": "Refund policy", "author": "Ops"}},
    {"text": "Our office dog is called Biscuit and likes long walks by the river.",
     "source": "https://example.com/dog.html", "metadata": {"title": "The office dog"}},
]


def add_texts(client: TestClient, index: str, results: list[dict] = TEXTS) -> dict:
    res = client.post(f"/api/indices/{index}/documents", json={"task_id": "t1", "results": results})
    assert res.status_code == 200, res.text
    return res.json()


def search(client: TestClient, kind: str, query: str, *indices: str, **more) -> dict:
    res = client.post(f"/api/indices/search/{kind}", json={"query": query, "index_names": list(indices), **more})
    assert res.status_code == 200, res.text
    return res.json()


def test_create_list_info_and_delete_an_index(client):
    made = client.post("/api/indices/handbook", params={"embedding_dim": 64})
    assert made.status_code == 200 and made.json() == {"status": "success", "success": True, "embedding_dim": 64,
                                                       "message": "Index handbook created successfully"}
    again = client.post("/api/indices/Handbook").json()  # names are case-insensitive; creating twice is fine
    assert again["status"] == "success" and "already exists" in again["message"]
    client.post("/api/indices/notes")
    assert client.get("/api/indices").json() == {"indices": ["handbook", "notes"], "count": 2}
    assert client.get("/api/indices", params={"pattern": "hand*"}).json()["indices"] == ["handbook"]

    add_texts(client, "handbook")
    listed = client.get("/api/indices", params={"include_stats": True}).json()
    stats = {i["name"]: i["stats"] for i in listed["indices_info"]}
    assert stats["handbook"]["base_info"]["doc_count"] == 2 and stats["handbook"]["base_info"]["chunk_count"] >= 2
    assert stats["handbook"]["base_info"]["embedding_model"] == "mock:words-64" and stats["notes"]["docs"] == 0

    info = client.get("/api/indices/handbook/info", params={"include_chunks": True}).json()
    assert info["base_info"]["doc_count"] == 2 and info["fields"]["content"] == {"type": "text"}
    files = {f["path_or_url"]: f for f in info["files"]}
    assert set(files) == {"/docs/refunds.md", "https://example.com/dog.html"}
    refunds = files["/docs/refunds.md"]
    assert (refunds["file"], refunds["status"], refunds["chunks_count"]) == ("refunds.md", "COMPLETED", 1)
    assert "thirty days" in refunds["chunks"][0]["content"] and refunds["chunk_count"] == 1
    assert files["https://example.com/dog.html"]["file"] == "dog.html.txt"  # text under a non-text name
    assert client.get("/api/indices/handbook/info", params={"include_files": False}).json()["files"] is None

    gone = client.delete("/api/indices/handbook")
    assert gone.json() == {"status": "success", "message": "Index handbook deleted successfully"}
    assert client.get("/api/indices").json()["indices"] == ["notes"]
    missing = client.delete("/api/indices/handbook")
    assert missing.status_code == 404 and missing.json() == {"message": "Index handbook not found"}
    assert client.get("/api/indices/handbook/info").status_code == 404


def test_added_text_is_found_at_once_and_a_deleted_document_is_gone_from_every_search(client):
    added = add_texts(client, "kb")  # the index is made when missing
    assert added == {"success": True, "message": "Successfully indexed 2 documents (2 chunks)", "total_indexed": 2,
                     "total_submitted": 2}
    accurate = search(client, "accurate", "refund window", "kb")
    top = accurate["results"][0]
    assert accurate["total"] == len(accurate["results"]) and accurate["query_time_ms"] >= 0
    assert (top["index"], top["title"], top["path_or_url"], top["filename"], top["author"]) == \
        ("kb", "Refund policy", "/docs/refunds.md", "refunds.md", "Ops")
    assert "thirty days" in top["content"] and 0 < top["score"] <= 1 and top["id"]
    semantic = search(client, "semantic", "refund window thirty days", "kb", top_k=1)["results"]
    assert len(semantic) == 1 and semantic[0]["path_or_url"] == "/docs/refunds.md"
    hybrid = search(client, "hybrid", "refund window", "kb", weight_accurate=0.5)["results"][0]
    details = hybrid["score_details"]
    assert hybrid["score"] == pytest.approx(0.5 * details["accurate"] + 0.5 * details["semantic"], abs=1e-5)

    deleted = client.delete("/api/indices/kb/documents", params={"path_or_url": "/docs/refunds.md"})
    assert deleted.json() == {"status": "success", "deleted_count": 1, "deleted_documents": 1}
    for kind in ("accurate", "semantic", "hybrid"):
        paths = [r["path_or_url"] for r in search(client, kind, "refund window thirty days", "kb")["results"]]
        assert "/docs/refunds.md" not in paths, kind
    by_body = client.request("DELETE", "/api/indices/kb/documents", json={"path_or_url": "https://example.com/dog.html"})
    assert by_body.json()["deleted_count"] == 1
    assert client.delete("/api/indices/kb/documents", params={"path_or_url": "nothing"}).json()["deleted_count"] == 0


def test_search_spans_several_indices(client):
    add_texts(client, "one", TEXTS[:1])
    add_texts(client, "two", TEXTS[1:])
    found = search(client, "hybrid", "refund dog Biscuit thirty", "one", "two", top_k=10)["results"]
    assert {r["index"] for r in found} == {"one", "two"}


def test_bad_input_is_refused_and_changes_nothing(client):
    client.post("/api/indices/kb")
    cases = [
        ("post", "/api/indices/search/accurate", {"query": "  ", "index_names": ["kb"]}, 400),
        ("post", "/api/indices/search/accurate", {"query": "x", "index_names": []}, 400),
        ("post", "/api/indices/search/semantic", {"query": "x", "index_names": ["nope"]}, 404),
        ("post", "/api/indices/search/semantic", {"query": "x"}, 422),
        ("post", "/api/indices/search/hybrid", {"query": "x", "index_names": ["kb"], "weight_accurate": 2}, 422),
        ("post", "/api/indices/search/accurate", {"query": "x", "index_names": ["kb"], "top_k": 0}, 422),
        ("post", "/api/indices/kb/documents", {"results": [{"text": ""}]}, 400),
        ("post", "/api/indices/kb/documents", {"results": "no"}, 422),
        ("post", "/api/indices/new/documents", {"results": [{"source": "http://127.0.0.1/secret.txt"}]}, 400),
    ]
    for method, path, body, status in cases:
        res = getattr(client, method)(path, json=body)
        assert res.status_code == status, (path, body, res.text)
        assert ("detail" if status == 422 else "message") in res.json()
    assert client.get("/api/indices").json()["indices"] == ["kb"]  # the refused batch made no index "new"
    assert client.post("/api/indices/kb2", params={"embedding_dim": 7}).status_code == 400
    assert client.delete("/api/indices/kb/documents").status_code == 400  # no path_or_url
    assert client.get("/api/indices/kb/info").json()["files"] == []


def test_other_tenants_indices_are_invisible(client, other_client):
    add_texts(client, "private")
    assert other_client.get("/api/indices").json() == {"indices": [], "count": 0}
    assert other_client.get("/api/indices/private/info").status_code == 404
    assert other_client.post("/api/indices/search/accurate",
                             json={"query": "refund", "index_names": ["private"]}).status_code == 404
    assert other_client.delete("/api/indices/private/documents", params={"path_or_url": "/docs/refunds.md"}) \
        .status_code == 404
    assert other_client.delete("/api/indices/private").status_code == 404
    other_client.post("/api/indices/private")  # its own index of the same name is another index
    assert other_client.get("/api/indices/private/info").json()["files"] == []
    assert len(client.get("/api/indices/private/info").json()["files"]) == 2


def test_health_and_keys(client, api_app):
    health = client.get("/api/indices/health").json()
    assert health == {"status": "healthy", "elasticsearch": "connected", "indices_count": 0}
    anonymous = TestClient(api_app)
    for method, path in (("get", "/api/indices"), ("get", "/api/indices/health"), ("post", "/api/indices/x"),
                         ("post", "/api/indices/search/accurate")):
        res = getattr(anonymous, method)(path)
        assert res.status_code == 401 and "API key" in res.json()["message"], path
    wrong = anonymous.get("/api/indices", headers={"Authorization": "Bearer almanac-wrong"})
    assert wrong.status_code == 401 and wrong.json() == {"message": "Invalid API key"}
    for creds in ({"headers": {"X-API-Key": client.headers["Authorization"][7:]}},
                  {"params": {"api_key": client.headers["Authorization"][7:]}}):
        assert anonymous.get("/api/indices", **creds).status_code == 200
    assert client.get("/nexent/api/indices").json() == client.get("/api/indices").json()
