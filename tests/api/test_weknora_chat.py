"""WeKnora models, chunks, sessions, knowledge chat (SSE), knowledge search and messages: each route with the
spec's request and fields, its effect checked by a follow-up call."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from core.tenants import DEFAULT_TENANT_ID
from tests.helpers import RFC3339, sse_events
from tests.helpers import weknora_data as data
from tests.helpers import weknora_error as error

TEXT = (b"The refund window is thirty days from delivery.\n\n"
        b"Shipping to the islands takes five working days.\n\n"
        b"Gift cards never expire and cannot be exchanged for cash.\n")
STRATEGY = {"max_rounds": 5, "enable_rewrite": True, "fallback_strategy": "FIXED_RESPONSE",
            "fallback_response": "对不起,我无法回答这个问题", "keyword_threshold": 0.1, "vector_threshold": 0.2,
            "rerank_model_id": "排序模型ID", "rerank_top_k": 3,
            "summary_parameters": {"max_tokens": 100, "top_p": 0.9, "top_k": 40, "frequency_penalty": 0.0,
                                   "presence_penalty": 0.0, "repeat_penalty": 1.1, "prompt": "总结对话内容 {knowledge}",
                                   "context_template": "上下文模板"}}
SESSION_FIELDS = {"id", "tenant_id", "knowledge_base_id", "title", "max_rounds", "enable_rewrite", "fallback_strategy",
                  "fallback_response", "keyword_threshold", "vector_threshold", "rerank_model_id", "rerank_top_k",
                  "summary_model_id", "summary_parameters", "created_at", "updated_at"}


@pytest.fixture
def kb(weknora, svc) -> tuple[str, str]:
    """(knowledge base id, knowledge id) with the text parsed into three chunks."""
    kb = data(weknora.post("/api/v1/knowledge-bases", json={"name": "kb", "config": {"chunk_size": 16,
                                                                                      "chunk_overlap": 0}}), 201)["id"]
    doc = data(weknora.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file", files={"file": ("policy.txt", TEXT)}))
    assert svc.workers.drain(timeout=120)
    return kb, doc["id"]


def session(weknora, kb_id: str, **strategy) -> dict:
    return data(weknora.post("/api/v1/sessions", json={"knowledge_base_id": kb_id,
                                                       "session_strategy": {**STRATEGY, **strategy}}), 201)


# ------------------------------------------------------------------ models
def test_models_crud_with_masked_keys(weknora, svc):
    key = "sk-live-0123456789abcdef"
    created = data(weknora.post("/api/v1/models", json={
        "name": "模型名称", "type": "LLM", "source": "OPENAI", "description": "模型描述",
        "parameters": {"model": "gpt-4", "api_key": key, "base_url": "https://api.openai.com"}}), 201)
    assert {"id", "tenant_id", "name", "type", "source", "description", "parameters", "created_at",
            "updated_at"} <= set(created)
    assert (created["type"], created["source"], created["description"]) == ("LLM", "OPENAI", "模型描述")
    assert created["parameters"]["model"] == "gpt-4" and created["parameters"]["base_url"] == "https://api.openai.com"
    assert created["parameters"]["api_key"] != key and created["parameters"]["api_key"].endswith(key[-4:])
    assert data(weknora.get(f"/api/v1/models/{created['id']}")) == created
    assert [m["id"] for m in data(weknora.get("/api/v1/models"))] == [created["id"]]

    sent_back = {**created["parameters"], "model": "gpt-4-turbo"}  # a client echoing the masked key
    updated = data(weknora.put(f"/api/v1/models/{created['id']}", json={
        "name": "新模型名称", "description": "新模型描述", "parameters": sent_back, "is_default": False}))
    assert (updated["name"], updated["description"], updated["parameters"]["model"], updated["is_default"]) == \
        ("新模型名称", "新模型描述", "gpt-4-turbo", False)
    assert svc.models.llm_spec(DEFAULT_TENANT_ID, created["id"]).api_key == key  # the stored key was kept
    assert data(weknora.get(f"/api/v1/models/{created['id']}"))["name"] == "新模型名称"

    res = weknora.delete(f"/api/v1/models/{created['id']}")
    assert res.status_code == 200 and res.json()["success"] is True
    error(weknora.get(f"/api/v1/models/{created['id']}"), 404, 1003)


def test_model_bad_input_and_an_embedding_model_for_a_knowledge_base(weknora):
    error(weknora.post("/api/v1/models", json={"name": "v", "type": "VIDEO", "source": "OPENAI"}), 400, 1000)
    error(weknora.post("/api/v1/models", json={"name": "v", "type": "LLM", "source": "nowhere"}), 400, 1000)
    embedding = data(weknora.post("/api/v1/models", json={
        "name": "words", "type": "Embedding", "source": "mock", "parameters": {"model": "words-64"}}), 201)
    assert embedding["type"] == "EMBEDDING"
    error(weknora.post("/api/v1/models", json={"name": "words", "type": "EMBEDDING", "source": "mock"}), 409, 1005)
    kb = data(weknora.post("/api/v1/knowledge-bases", json={"name": "e", "embedding_model_id": embedding["id"]}), 201)
    assert kb["embedding_model_id"] == embedding["id"]
    assert [m["name"] for m in data(weknora.get("/api/v1/models"))] == ["words"]


# ------------------------------------------------------------------ chunks
def test_chunks_list_update_delete(weknora, kb):
    kb_id, doc = kb
    page = weknora.get(f"/api/v1/chunks/{doc}", params={"page": 1, "page_size": 2}).json()
    assert page["success"] and page["total"] == 3 and (page["page"], page["page_size"]) == (1, 2)
    first = page["data"][0]
    assert {"id", "knowledge_id", "content", "is_enabled", "created_at", "updated_at"} <= set(first)
    assert first["knowledge_id"] == doc and first["is_enabled"] is True and "refund" in first["content"]

    updated = data(weknora.put(f"/api/v1/chunks/{doc}/{first['id']}", json={
        "content": "Returns of furniture are collected by the courier on Tuesdays.",
        "metadata": {"page": 1, "position": "top", "custom_field": "自定义字段"}}))
    assert updated["content"].startswith("Returns of furniture") and updated["is_enabled"] is True
    assert updated["metadata"] == {"page": "1", "position": "top", "custom_field": "自定义字段"}
    hits = data(weknora.get(f"/api/v1/knowledge-bases/{kb_id}/hybrid-search", params={"query": "furniture courier"}))
    assert hits[0]["id"] == first["id"] and "furniture" in hits[0]["content"]  # search sees the new text

    data(weknora.put(f"/api/v1/chunks/{doc}/{first['id']}", json={"is_enabled": False}))
    hits = data(weknora.get(f"/api/v1/knowledge-bases/{kb_id}/hybrid-search", params={"query": "furniture courier"}))
    assert all(h["id"] != first["id"] for h in hits)

    res = weknora.delete(f"/api/v1/chunks/{doc}/{first['id']}")
    assert res.status_code == 200 and res.json()["success"] is True
    remaining = [c["id"] for c in data(weknora.get(f"/api/v1/chunks/{doc}"))]
    assert len(remaining) == 2 and first["id"] not in remaining
    error(weknora.delete(f"/api/v1/chunks/{doc}/{first['id']}"), 404, 1003)

    res = weknora.delete(f"/api/v1/chunks/{doc}")
    assert res.status_code == 200 and res.json()["success"] is True
    assert weknora.get(f"/api/v1/chunks/{doc}").json()["total"] == 0
    assert data(weknora.get(f"/api/v1/knowledge/{doc}"))["chunk_count"] == 0
    error(weknora.get("/api/v1/chunks/nope"), 404, 1003)
    error(weknora.get(f"/api/v1/chunks/{doc}", params={"page": 0}), 400, 1010)


# ------------------------------------------------------------------ sessions
def test_sessions_crud_with_the_strategy_stored_per_session(weknora, svc, kb):
    kb_id, _ = kb
    created = session(weknora, kb_id)
    assert SESSION_FIELDS <= set(created) and created["tenant_id"] == 1 and created["knowledge_base_id"] == kb_id
    for field in ("max_rounds", "enable_rewrite", "fallback_strategy", "fallback_response", "keyword_threshold",
                  "vector_threshold", "rerank_model_id", "rerank_top_k"):
        assert created[field] == STRATEGY[field], field
    assert created["summary_parameters"] == {**created["summary_parameters"], **STRATEGY["summary_parameters"]}
    effective = svc.chat.effective_settings(DEFAULT_TENANT_ID, created["id"])
    assert (effective.strategy.max_rounds, effective.strategy.query_rewrite, effective.prompt.top_n,
            effective.prompt.similarity_threshold, effective.llm.max_tokens, effective.llm.top_p) == \
        (5, True, 3, 0.1, 100, 0.9)
    assert data(weknora.get(f"/api/v1/sessions/{created['id']}")) == created

    change = {"title": "新会话标题", "max_rounds": 10, "enable_rewrite": False, "fallback_strategy": "NO_FALLBACK",
              "fallback_response": "", "keyword_threshold": 0.6, "vector_threshold": 0.8, "rerank_top_k": 5,
              "summary_parameters": {"max_tokens": 150, "top_p": 0.8, "prompt": "总结这段对话 {knowledge}"}}
    updated = data(weknora.put(f"/api/v1/sessions/{created['id']}", json=change))
    got = data(weknora.get(f"/api/v1/sessions/{created['id']}"))
    assert updated == got and got["title"] == "新会话标题" and got["max_rounds"] == 10
    assert (got["fallback_strategy"], got["keyword_threshold"], got["vector_threshold"]) == ("NO_FALLBACK", 0.6, 0.8)
    assert got["summary_parameters"]["max_tokens"] == 150 and got["summary_parameters"]["top_k"] == 40  # kept
    effective = svc.chat.effective_settings(DEFAULT_TENANT_ID, created["id"])
    assert (effective.strategy.fallback_strategy, effective.prompt.similarity_threshold, effective.prompt.top_n) == \
        ("model", 0.6, 5)
    # WeKnora's Go client updates with {knowledge_base_id, session_strategy}
    go = data(weknora.put(f"/api/v1/sessions/{created['id']}", json={
        "knowledge_base_id": kb_id, "session_strategy": {"max_rounds": 2, "embedding_top_k": 7}}))
    assert (go["max_rounds"], go["embedding_top_k"], go["title"]) == (2, 7, "新会话标题")

    second = session(weknora, kb_id)
    listed = weknora.get("/api/v1/sessions", params={"page": 1, "page_size": 1}).json()
    assert listed["success"] and listed["total"] == 2 and listed["data"][0]["id"] == second["id"]
    res = weknora.delete(f"/api/v1/sessions/{second['id']}")
    assert res.status_code == 200 and res.json()["success"] is True
    error(weknora.get(f"/api/v1/sessions/{second['id']}"), 404, 1003)
    assert weknora.get("/api/v1/sessions").json()["total"] == 1


def test_session_bad_input(weknora, kb):
    kb_id, _ = kb
    error(weknora.post("/api/v1/sessions", json={}), 400, 1000)
    error(weknora.post("/api/v1/sessions", json={"knowledge_base_id": "nope"}), 404, 1003)
    error(weknora.post("/api/v1/sessions", json={"knowledge_base_id": kb_id,
                                                 "session_strategy": {"fallback_strategy": "SOMETIMES"}}), 400, 1000)
    error(weknora.post("/api/v1/sessions", json={"knowledge_base_id": kb_id,
                                                 "session_strategy": {"max_rounds": -1}}), 400, 1000)
    error(weknora.post("/api/v1/sessions", json={"knowledge_base_id": kb_id,
                                                 "session_strategy": {"summary_model_id": "nope"}}), 404, 1003)
    assert weknora.get("/api/v1/sessions").json()["total"] == 0


def test_generate_title(weknora, kb, llm):
    s = session(weknora, kb[0])
    res = weknora.post(f"/api/v1/sessions/{s['id']}/generate_title", json={"messages": [
        {"role": "user", "content": "你好,我想了解关于人工智能的知识"},
        {"role": "assistant", "content": "人工智能是计算机科学的一个分支..."}]})
    title = data(res)
    assert isinstance(title, str) and title and data(weknora.get(f"/api/v1/sessions/{s['id']}"))["title"] == title
    assert "人工智能" in llm.chat_requests[-1]["body"]["messages"][-1]["content"]  # the LLM titled it


# ------------------------------------------------------------------ knowledge chat and search
def test_knowledge_chat_streams_references_then_fragments_then_done(weknora, kb, llm):
    kb_id, doc = kb
    s = session(weknora, kb_id)
    res = weknora.post(f"/api/v1/knowledge-chat/{s['id']}", json={"query": "How long is the refund window?"})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
    assert re.search(r"^event:message\ndata:\{", res.text)  # as Gin writes frames
    events = sse_events(res.text)
    assert {name for name, _ in events} == {"message"}
    frames = [f for _, f in events]
    first, *answer, last = frames
    assert first["response_type"] == "references" and first["done"] is False
    assert first["knowledge_references"][0]["knowledge_id"] == doc
    top = first["knowledge_references"][0]
    assert "refund" in top["content"] and top["knowledge_title"] == "policy.txt"
    assert len(answer) >= 2 and all(f["response_type"] == "answer" and f["done"] is False for f in answer)
    assert last["response_type"] == "answer" and last["done"] is True and last["content"] == ""
    assert len({f["id"] for f in frames}) == 1 and all(re.match(RFC3339, f["created_at"]) for f in frames[1:])
    text = "".join(f["content"] for f in answer)
    assert text.startswith("Mock answer about: How long is the refund window?")

    messages = data(weknora.get(f"/api/v1/messages/{s['id']}/load"))
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"] == text and messages[1]["id"] == first["id"] and messages[1]["is_completed"]
    assert messages[0]["request_id"] == messages[1]["request_id"] == first["id"]
    assert messages[1]["knowledge_references"][0]["id"] == first["knowledge_references"][0]["id"]
    assert messages[0]["knowledge_references"] is None


def test_fixed_fallback_when_nothing_is_found(weknora, kb):
    s = session(weknora, kb[0], keyword_threshold=1.0, vector_threshold=1.0, fallback_response="Ask support.")
    frames = [f for _, f in sse_events(weknora.post(f"/api/v1/knowledge-chat/{s['id']}",
                                                    json={"query": "What is the capital of Peru?"}).text)]
    assert frames[0]["knowledge_references"] == []
    assert "".join(f["content"] for f in frames[1:]) == "Ask support." and frames[-1]["done"] is True


def test_knowledge_chat_bad_input(weknora, kb):
    s = session(weknora, kb[0])
    error(weknora.post(f"/api/v1/knowledge-chat/{s['id']}", json={"query": " "}), 400, 1000)
    error(weknora.post("/api/v1/knowledge-chat/nope", json={"query": "hi"}), 404, 1003)
    assert data(weknora.get(f"/api/v1/messages/{s['id']}/load")) == []


def test_knowledge_search(weknora, kb):
    kb_id, doc = kb
    hits = data(weknora.post("/api/v1/knowledge-search",
                             json={"query": "islands shipping", "knowledge_base_id": kb_id}))
    assert hits and hits[0]["knowledge_id"] == doc and "islands" in hits[0]["content"]
    error(weknora.post("/api/v1/knowledge-search", json={"query": "x"}), 400, 1000)
    error(weknora.post("/api/v1/knowledge-search", json={"query": "x", "knowledge_base_id": "nope"}), 404, 1003)


# ------------------------------------------------------------------ messages and continuing an answer
def test_messages_load_before_time_with_limit_and_delete(weknora, kb):
    s = session(weknora, kb[0])
    for q in ("refund window?", "shipping to the islands?", "gift cards?"):
        weknora.post(f"/api/v1/knowledge-chat/{s['id']}", json={"query": q})
    messages = data(weknora.get(f"/api/v1/messages/{s['id']}/load"))
    assert [m["content"] for m in messages if m["role"] == "user"] == ["refund window?", "shipping to the islands?",
                                                                       "gift cards?"]
    assert data(weknora.get(f"/api/v1/messages/{s['id']}/load", params={"limit": 2})) == messages[-2:]
    before = datetime.fromisoformat(messages[2]["created_at"]).astimezone().isoformat()  # in the local zone
    assert data(weknora.get(f"/api/v1/messages/{s['id']}/load", params={"before_time": before})) == messages[:2]
    error(weknora.get(f"/api/v1/messages/{s['id']}/load", params={"before_time": "yesterday"}), 400, 1000)
    error(weknora.get(f"/api/v1/messages/{s['id']}/load", params={"limit": 0}), 400, 1010)

    res = weknora.delete(f"/api/v1/messages/{s['id']}/{messages[0]['id']}")
    assert res.status_code == 200 and res.json()["success"] is True
    assert data(weknora.get(f"/api/v1/messages/{s['id']}/load")) == messages[1:]
    other = session(weknora, kb[0])
    error(weknora.delete(f"/api/v1/messages/{other['id']}/{messages[1]['id']}"), 404, 1003)  # not that session's


def test_continue_stream_finishes_an_interrupted_answer(weknora, svc, kb, llm):
    s = session(weknora, kb[0])
    events = svc.chat.answer(DEFAULT_TENANT_ID, s["id"], "How long is the refund window?")
    next(events)  # the references arrive, then the reader goes away
    events.close()
    (_, answer) = data(weknora.get(f"/api/v1/messages/{s['id']}/load"))
    assert answer["is_completed"] is False

    res = weknora.get(f"/api/v1/sessions/continue-stream/{s['id']}", params={"message_id": answer["id"]})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
    frames = [f for _, f in sse_events(res.text)]
    assert frames[0]["response_type"] == "references" and frames[-1]["done"] is True
    text = "".join(f["content"] for f in frames[1:])
    assert text.startswith("Mock answer about: How long is the refund window?")
    (_, answer) = data(weknora.get(f"/api/v1/messages/{s['id']}/load"))
    assert answer["is_completed"] is True and answer["content"] == text

    replay = [f for _, f in sse_events(weknora.get(f"/api/v1/sessions/continue-stream/{s['id']}",
                                                   params={"message_id": answer["id"]}).text)]
    assert "".join(f["content"] for f in replay[1:]) == text and replay[-1]["done"] is True
    error(weknora.get(f"/api/v1/sessions/continue-stream/{s['id']}"), 400, 1000)
    error(weknora.get(f"/api/v1/sessions/continue-stream/{s['id']}", params={"message_id": "nope"}), 404, 1003)
