"""WeKnora auth: every route refuses a missing or wrong key in WeKnora's envelope; another tenant's ids are
not found (tenants: forbidden) and nothing of theirs changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import weknora_data as data
from tests.helpers import weknora_error as error

ROUTES_TSV = Path(__file__).resolve().parents[1] / "fixtures" / "ROUTES.tsv"
LATER = {"/api/v1/evaluation"}  # arrives with core evaluation


def weknora_routes() -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in ROUTES_TSV.read_text().splitlines() if line.startswith("weknora\t")]
    return [(method, path) for _, method, path, *_ in rows if path not in LATER]


def test_every_route_refuses_a_missing_or_wrong_key(api_app):
    anonymous, wrong = TestClient(api_app), TestClient(api_app, headers={"X-API-Key": "almanac-wrong"})
    routes = weknora_routes()
    assert len(routes) == 41
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", "1", path)
        for client, reason in ((anonymous, "X-API-Key"), (wrong, "invalid API key")):
            err = error(client.request(method, url), 401, 1001)
            assert reason in err["message"], (method, path, err)
    malformed = TestClient(api_app, headers={"Authorization": "Basic abc"})
    assert "format" in error(malformed.get("/api/v1/knowledge-bases"), 401, 1001)["message"]


def test_the_same_key_works_as_x_api_key_bearer_or_query(api_app, svc):
    key = svc.admin_api_key
    for kwargs in ({"headers": {"X-API-Key": key}}, {"headers": {"Authorization": f"Bearer {key}"}},
                   {"params": {"api_key": key}}):
        assert data(TestClient(api_app).get("/api/v1/tenants/1", **kwargs))["api_key"] == key


@pytest.fixture
def owned(weknora, svc) -> dict[str, str]:
    """The admin tenant's objects: knowledge base, knowledge, chunk, session, message, model."""
    kb = data(weknora.post("/api/v1/knowledge-bases", json={"name": "private"}), 201)["id"]
    doc = data(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file",
                            files={"file": ("secret.txt", b"The vault code is kept by the night guard.")}))["id"]
    assert svc.workers.drain(timeout=120)
    chunk = data(weknora.get(f"/api/v1/chunks/{doc}"))[0]["id"]
    session = data(weknora.post("/api/v1/sessions", json={"knowledge_base_id": kb}), 201)["id"]
    weknora.post(f"/api/v1/knowledge-chat/{session}", json={"query": "vault code?"})
    message = data(weknora.get(f"/api/v1/messages/{session}/load"))[0]["id"]
    model = data(weknora.post("/api/v1/models", json={"name": "m", "type": "LLM", "source": "OPENAI",
                                                      "parameters": {"model": "gpt-4"}}), 201)["id"]
    return {"kb": kb, "doc": doc, "chunk": chunk, "session": session, "message": message, "model": model}


def test_another_tenants_ids_are_not_found_and_stay_unchanged(weknora, weknora_other, owned):
    o = owned
    attempts = [
        ("GET", f"/api/v1/knowledge-bases/{o['kb']}", None), ("PUT", f"/api/v1/knowledge-bases/{o['kb']}",
                                                              {"name": "mine"}),
        ("DELETE", f"/api/v1/knowledge-bases/{o['kb']}", None),
        ("GET", f"/api/v1/knowledge-bases/{o['kb']}/hybrid-search?query=vault", None),
        ("GET", f"/api/v1/knowledge-bases/{o['kb']}/knowledge", None),
        ("POST", f"/api/v1/knowledge-bases/{o['kb']}/knowledge/url", {"url": "https://example.com"}),
        ("POST", "/api/v1/knowledge-bases/copy", {"source_id": o["kb"]}),
        ("GET", f"/api/v1/knowledge/{o['doc']}", None), ("PUT", f"/api/v1/knowledge/{o['doc']}", {"title": "x.txt"}),
        ("DELETE", f"/api/v1/knowledge/{o['doc']}", None), ("GET", f"/api/v1/knowledge/{o['doc']}/download", None),
        ("PUT", f"/api/v1/knowledge/image/{o['doc']}/{o['chunk']}", {"image_info": "[]"}),
        ("GET", f"/api/v1/chunks/{o['doc']}", None), ("PUT", f"/api/v1/chunks/{o['doc']}/{o['chunk']}",
                                                     {"content": "mine"}),
        ("DELETE", f"/api/v1/chunks/{o['doc']}/{o['chunk']}", None), ("DELETE", f"/api/v1/chunks/{o['doc']}", None),
        ("GET", f"/api/v1/sessions/{o['session']}", None), ("PUT", f"/api/v1/sessions/{o['session']}",
                                                            {"title": "mine"}),
        ("DELETE", f"/api/v1/sessions/{o['session']}", None),
        ("POST", f"/api/v1/sessions/{o['session']}/generate_title", {"messages": []}),
        ("GET", f"/api/v1/sessions/continue-stream/{o['session']}?message_id={o['message']}", None),
        ("POST", f"/api/v1/knowledge-chat/{o['session']}", {"query": "vault code?"}),
        ("POST", "/api/v1/knowledge-search", {"query": "vault", "knowledge_base_id": o["kb"]}),
        ("GET", f"/api/v1/messages/{o['session']}/load", None),
        ("DELETE", f"/api/v1/messages/{o['session']}/{o['message']}", None),
        ("GET", f"/api/v1/models/{o['model']}", None), ("PUT", f"/api/v1/models/{o['model']}", {"name": "mine"}),
        ("DELETE", f"/api/v1/models/{o['model']}", None),
        ("POST", "/api/v1/sessions", {"knowledge_base_id": o["kb"]}),
    ]
    for method, url, body in attempts:
        res = weknora_other.request(method, url, json=body)
        error(res, 404, 1003)
    file = weknora_other.post(f"/api/v1/knowledge-bases/{o['kb']}/knowledge/file", files={"file": ("a.txt", b"a")})
    error(file, 404, 1003)
    assert data(weknora_other.get("/api/v1/knowledge/batch", params={"ids": o["doc"]})) == []
    assert data(weknora_other.get("/api/v1/knowledge-bases")) == [] and data(weknora_other.get("/api/v1/models")) == []
    assert weknora_other.get("/api/v1/sessions").json()["total"] == 0
    error(weknora_other.get("/api/v1/tenants/1"), 403, 1002)

    # the owner still sees everything as it was
    assert data(weknora.get(f"/api/v1/knowledge-bases/{o['kb']}"))["name"] == "private"
    assert data(weknora.get(f"/api/v1/knowledge/{o['doc']}"))["title"] == "secret.txt"
    assert data(weknora.get(f"/api/v1/chunks/{o['doc']}"))[0]["content"].startswith("The vault code")
    assert data(weknora.get(f"/api/v1/sessions/{o['session']}"))["title"] != "mine"
    assert len(data(weknora.get(f"/api/v1/messages/{o['session']}/load"))) == 2
    assert data(weknora.get(f"/api/v1/models/{o['model']}"))["name"] == "m"
    assert len(data(weknora.get("/api/v1/knowledge-bases"))) == 1
