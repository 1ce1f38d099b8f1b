"""WeKnora's published Python client (PyPI weknora-mcp-server 1.0.0, `WeKnoraClient`, its code unchanged) against
a live Almanac server: tenant -> knowledge base -> upload -> parse -> chunks -> search -> model -> session -> chat.

`WeKnoraClient.chat` reads the answer with `response.json()` although WeKnora answers with Server-Sent Events
(its own comment: "This returns SSE stream, simplified here"), so it cannot read any WeKnora server's answer;
the stream is read through the client's own HTTP session (its X-API-Key) instead.
"""

from __future__ import annotations

import time

import httpx
import pytest
import requests

from tests.helpers import free_port, sse_events, start_server, weknora_client_class

KEY = "almanac-weknora-client-test-key"
TEXT = (b"The travel policy says employees book trains for trips under four hours.\n\n"
        b"Hotel costs above two hundred euros per night need approval from the budget office.\n\n"
        b"Lunch receipts are kept for seven years by the finance archive.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_ADMIN_API_KEY", KEY)
        mp.setenv("ALMANAC_EMBEDDING_MODEL", "mock:words-64")
        port = free_port()
        proc = start_server(tmp_path_factory.mktemp("weknora") / "data", port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def client_class() -> type:
    return weknora_client_class()


def parsed(client, knowledge_id: str) -> dict:
    """Poll as a WeKnora user does until the knowledge is parsed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        knowledge = client.get_knowledge(knowledge_id)["data"]
        if knowledge["parse_status"] in ("completed", "failed"):
            return knowledge
        time.sleep(0.2)
    raise AssertionError(f"{knowledge_id} was not parsed in time")


def test_tenant_to_chat_with_weknoras_client(server, client_class, mock_llm, tmp_path):
    admin = client_class(f"{server}/api/v1", KEY)
    tenant = admin.create_tenant("acme", "The Acme team", "retail", {"engines": [
        {"retriever_type": "keywords", "retriever_engine_type": "postgres"}]})["data"]
    assert isinstance(tenant["id"], int) and tenant["api_key"]
    assert admin.get_tenant(str(tenant["id"]))["data"]["api_key"] == tenant["api_key"]
    assert [t["name"] for t in admin.list_tenants()["data"]["items"]] == ["Default workspace", "acme"]

    wk = client_class(f"{server}/api/v1", tenant["api_key"])
    kb = wk.create_knowledge_base("handbook", "Travel rules", {
        "chunking_config": {"chunk_size": 24, "chunk_overlap": 0, "separators": ["."], "enable_multimodal": True},
        "embedding_model_id": "", "summary_model_id": ""})["data"]
    assert kb["tenant_id"] == tenant["id"] and kb["chunking_config"]["separators"] == ["."]
    assert [k["id"] for k in wk.list_knowledge_bases()["data"]] == [kb["id"]]
    assert wk.update_knowledge_base(kb["id"], {"name": "travel handbook"})["data"]["name"] == "travel handbook"
    assert wk.get_knowledge_base(kb["id"])["data"]["name"] == "travel handbook"

    path = tmp_path / "policy.txt"
    path.write_bytes(TEXT)
    created = wk.create_knowledge_from_file(kb["id"], str(path))["data"]
    assert created["title"] == "policy.txt" and created["knowledge_base_id"] == kb["id"]
    with pytest.raises(requests.HTTPError, match="409"):
        wk.create_knowledge_from_file(kb["id"], str(path))  # the same file again
    knowledge = parsed(wk, created["id"])
    assert knowledge["parse_status"] == "completed" and knowledge["enable_status"] == "enabled"
    assert wk.list_knowledge(kb["id"])["total"] == 1

    chunks = wk.list_chunks(created["id"])["data"]
    assert len(chunks) >= 2 and any("Hotel costs" in c["content"] for c in chunks)
    hits = wk.hybrid_search(kb["id"], "hotel approval budget", {"vector_threshold": 0.0, "keyword_threshold": 0.0,
                                                                  "match_count": 2})["data"]
    assert len(hits) <= 2 and "Hotel" in hits[0]["content"] and hits[0]["knowledge_id"] == created["id"]

    model = wk.create_model("mock", "KnowledgeQA", "remote", "The test's LLM", {
        "model": "mock-model", "base_url": mock_llm.base_url, "api_key": ""}, True)["data"]
    assert model["type"] == "LLM" and model["is_default"] is True
    assert wk.get_model(model["id"])["data"]["parameters"]["base_url"] == mock_llm.base_url
    assert [m["id"] for m in wk.list_models()["data"]] == [model["id"]]

    session = wk.create_session(kb["id"], {"max_rounds": 5, "enable_rewrite": True,
                                           "fallback_strategy": "FIXED_RESPONSE",
                                           "fallback_response": "Sorry, I cannot answer this question.",
                                           "embedding_top_k": 10, "keyword_threshold": 0.1, "vector_threshold": 0.1,
                                           "summary_model_id": model["id"]})["data"]
    assert wk.get_session(session["id"])["data"]["summary_model_id"] == model["id"]
    assert wk.list_sessions()["total"] == 1

    question = "Who approves hotel costs per night?"
    with pytest.raises(requests.exceptions.JSONDecodeError):
        wk.chat(session["id"], question)  # the client parses the SSE body as JSON
    res = wk.session.post(f"{wk.base_url}/knowledge-chat/{session['id']}", json={"query": question}, stream=True)
    frames = [f for _, f in sse_events(res.text)]
    assert frames[0]["response_type"] == "references" and "Hotel" in frames[0]["knowledge_references"][0]["content"]
    assert "".join(f["content"] for f in frames[1:]).startswith(f"Mock answer about: {question}")
    assert frames[-1]["done"] is True
    assert any(question in m["content"] for r in mock_llm.chat_requests
               for m in r["body"]["messages"])

    assert wk.delete_chunk(created["id"], chunks[0]["id"])["success"] is True
    assert len(wk.list_chunks(created["id"])["data"]) == len(chunks) - 1
    assert wk.delete_session(session["id"])["success"] is True
    assert wk.delete_knowledge(created["id"])["success"] is True
    assert wk.list_knowledge(kb["id"])["total"] == 0
    assert wk.delete_knowledge_base(kb["id"])["success"] is True
    assert wk.list_knowledge_bases()["data"] == []
    with pytest.raises(requests.HTTPError, match="401"):
        client_class(f"{server}/api/v1", "almanac-wrong").list_knowledge_bases()


def test_openapi_lists_every_weknora_route(server):
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    for method, path in (("post", "/api/v1/tenants"), ("get", "/api/v1/knowledge/batch"),
                         ("put", "/api/v1/knowledge/image/{id}/{chunk_id}"),
                         ("get", "/api/v1/sessions/continue-stream/{session_id}"),
                         ("post", "/api/v1/knowledge-chat/{session_id}"),
                         ("delete", "/api/v1/messages/{session_id}/{id}")):
        assert method in paths.get(path, {}), (method, path)
    weknora = [(p, m) for p, ops in paths.items() for m, op in ops.items() if op["tags"][0].startswith("WeKnora")]
    assert len(weknora) == 43
