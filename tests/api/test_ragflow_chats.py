"""RAGFlow dialect: chat assistants, sessions and completions (SSE and not)."""

from __future__ import annotations

import itertools
import json

import pytest

from core.calibration import DEFAULT_THRESHOLD
from core.errors import Forbidden, NotFound
from core.tenants import DEFAULT_TENANT_ID

TEXT = (b"Hotel costs above two hundred euros per night need approval from the budget office.\n\n"
        b"Lunch receipts are kept for seven years by the finance archive.\n")


@pytest.fixture
def dataset(client, svc) -> str:
    kb = client.post("/api/v1/datasets", json={"name": "chat_kb"}).json()["data"]["id"]
    doc = client.post(f"/api/v1/datasets/{kb}/documents", files=[("file", ("policy.txt", TEXT, "text/plain"))]
                      ).json()["data"][0]["id"]
    client.post(f"/api/v1/datasets/{kb}/chunks", json={"document_ids": [doc]})
    assert svc.workers.drain(timeout=120)
    return kb


@pytest.fixture
def mock_model(svc):
    return svc.models.create(DEFAULT_TENANT_ID, type="llm", provider="mock", name="mock-llm", model="mock",
                             is_default=True)


def create_chat(client, dataset, **body) -> dict:
    res = client.post("/api/v1/chats", json={"name": "new_chat_1", "dataset_ids": [dataset], **body}).json()
    assert res["code"] == 0, res
    return res["data"]


def frames(res) -> list:
    return [json.loads(line[len("data:"):]) for line in res.text.splitlines() if line.startswith("data:")]


def test_create_chat_with_spec_defaults(client, svc, dataset, mock_model):
    chat = create_chat(client, dataset)
    assert chat["dataset_ids"] == [dataset] and chat["llm"]["model_name"] == "mock-llm"
    assert chat["llm"]["temperature"] == 0.1 and chat["llm"]["top_p"] == 0.3 and chat["llm"]["max_tokens"] == 512
    p = chat["prompt"]
    assert p["similarity_threshold"] == DEFAULT_THRESHOLD and p["opener"] and p["empty_response"] and "{knowledge}" in p["prompt"]
    assert chat["prompt_type"] == "simple" and chat["top_k"] == 1024 and chat["create_date"].endswith("GMT")
    assert svc.assistants.get(DEFAULT_TENANT_ID, chat["id"]).kb_ids == [dataset]
    custom = create_chat(client, dataset, name="custom", llm={"model_name": "mock-llm", "temperature": 0.5},
                         prompt={"top_n": 3, "opener": "Hello there", "prompt": "Answer from {knowledge}"})
    a = svc.assistants.get(DEFAULT_TENANT_ID, custom["id"])
    assert a.llm.temperature == 0.5 and a.llm.model_id == mock_model.id and a.prompt.top_n == 3
    assert a.prompt.opener == "Hello there" and a.prompt.system == "Answer from {knowledge}"


def test_chat_errors(client, svc, dataset, other_client):
    create_chat(client, dataset)
    assert client.post("/api/v1/chats", json={"name": "NEW_CHAT_1"}).json()["code"] == 102
    assert client.post("/api/v1/chats", json={}).json()["code"] == 102
    assert client.post("/api/v1/chats", json={"name": "x", "dataset_ids": ["nope"]}).json()["code"] == 102
    assert client.post("/api/v1/chats", json={"name": "x", "llm": {"model_name": "nope"}}).json()["code"] == 102
    assert client.post("/api/v1/chats", json={"name": "x", "prompt": {"top_n": -1}}).json()["code"] == 101
    assert client.post("/api/v1/chats", json={"name": "x", "prompt": {"prompt": "Hello"}}).json() == {
        "code": 102, "message": "Parameter 'knowledge' is not used"}
    unparsed = client.post("/api/v1/datasets", json={"name": "unparsed"}).json()["data"]["id"]
    assert client.post("/api/v1/chats", json={"name": "x", "dataset_ids": [unparsed]}).json() == {
        "code": 102, "message": f"The dataset {unparsed} doesn't own parsed file"}
    assert other_client.post("/api/v1/chats", json={"name": "x", "dataset_ids": [dataset]}).json()["code"] == 102
    assert svc.assistants.list(DEFAULT_TENANT_ID).total == 1


def test_update_list_delete_chats(client, svc, dataset, other_client):
    chat = create_chat(client, dataset)
    assert client.put(f"/api/v1/chats/{chat['id']}", json={"name": "Test", "prompt": {"top_n": 2}}).json() == {
        "code": 0}
    a = svc.assistants.get(DEFAULT_TENANT_ID, chat["id"])
    assert a.name == "Test" and a.prompt.top_n == 2
    listed = client.get("/api/v1/chats", params={"name": "test"}).json()
    assert listed["code"] == 0 and [c["id"] for c in listed["data"]] == [chat["id"]]
    assert client.get("/api/v1/chats", params={"id": "nope"}).json() == {"code": 102,
                                                                        "message": "The chat doesn't exist"}
    assert [c["id"] for c in client.get("/api/v1/chats", params={"page": 0}).json()["data"]] == [chat["id"]]
    assert client.get("/api/v1/chats", params={"page_size": 0}).json() == {"code": 0, "data": []}
    assert other_client.put(f"/api/v1/chats/{chat['id']}", json={"name": "x"}).json()["code"] == 102
    assert other_client.request("DELETE", "/api/v1/chats", json={"ids": [chat["id"]]}).json() == {
        "code": 102, "message": f"Assistant({chat['id']}) not found."}
    assert client.put(f"/api/v1/chats/{chat['id']}", json={"prompt": {"prompt": "no slot"}}).json() == {
        "code": 102, "message": "Parameter 'knowledge' is not used"}
    assert client.request("DELETE", "/api/v1/chats", json={"ids": [chat["id"], chat["id"]]}).json() == {
        "code": 0, "message": "Partially deleted 1 chats with 1 errors",
        "data": {"success_count": 1, "errors": [f"Duplicate assistant ids: {chat['id']}"]}}
    assert client.get("/api/v1/chats").json() == {"code": 0, "data": []}


def test_sessions(client, dataset, other_client):
    chat = create_chat(client, dataset, prompt={"opener": "Hi! I am your assistant, can I help you?"})
    url = f"/api/v1/chats/{chat['id']}/sessions"
    res = client.post(url, json={"name": "new session"}).json()
    assert res["code"] == 0
    s = res["data"]
    assert s["chat_id"] == chat["id"] and s["name"] == "new session"
    assert s["messages"] == [{"role": "assistant", "content": "Hi! I am your assistant, can I help you?",
                              "id": s["messages"][0]["id"]}]
    assert client.post(url, json={"name": " "}).json() == {"code": 102, "message": "`name` can not be empty."}
    assert client.put(f"{url}/{s['id']}", json={"name": "renamed"}).json() == {"code": 0}
    listed = client.get(url, params={"id": s["id"]}).json()["data"]
    assert [x["name"] for x in listed] == ["renamed"]
    assert client.get(url, params={"id": "nope"}).json() == {"code": 0, "data": []}  # no match: an empty list
    assert other_client.get(url).json()["code"] == 102
    second = client.post(url, json={}).json()["data"]
    assert second["name"] == "New session" and len(client.get(url).json()["data"]) == 2
    assert client.request("DELETE", url, json={"ids": ["nope"]}).json() == {
        "code": 102, "message": "The chat doesn't own the session nope"}
    partly = client.request("DELETE", url, json={"ids": [s["id"], "nope"]}).json()
    assert partly == {"code": 0, "message": "Partially deleted 1 sessions with 1 errors",
                      "data": {"success_count": 1, "errors": ["The chat doesn't own the session nope"]}}
    assert [x["id"] for x in client.get(url).json()["data"]] == [second["id"]]
    assert client.request("DELETE", url, json={"ids": []}).json() == {"code": 0}  # empty: all
    assert client.get(url).json()["data"] == []


def test_streaming_completion_is_cumulative_with_references_last(client, dataset, mock_model):
    chat = create_chat(client, dataset)
    sid = client.post(f"/api/v1/chats/{chat['id']}/sessions", json={"name": "s"}).json()["data"]["id"]
    res = client.post(f"/api/v1/chats/{chat['id']}/completions",
                      json={"question": "Who approves hotel costs?", "stream": True, "session_id": sid})
    assert res.headers["content-type"].startswith("text/event-stream")
    got = frames(res)
    assert got[-1] == {"code": 0, "message": "", "data": True}
    answers = [f["data"]["answer"] for f in got[:-1]]
    assert len(answers) >= 2 and all(b.startswith(a) for a, b in itertools.pairwise(answers))
    final = got[-2]["data"]
    assert final["session_id"] == sid and final["answer"].startswith("Mock answer about")
    ref = final["reference"]
    assert ref["total"] >= 1 and "Hotel" in ref["chunks"][0]["content"] and ref["doc_aggs"][0]["doc_name"] == "policy.txt"
    history = client.get(f"/api/v1/chats/{chat['id']}/sessions", params={"id": sid}).json()["data"][0]["messages"]
    assert [m["role"] for m in history] == ["assistant", "user", "assistant"]
    assert history[-1]["content"] == final["answer"]


def test_non_streaming_completion_and_new_session(client, dataset, mock_model):
    chat = create_chat(client, dataset)
    url = f"/api/v1/chats/{chat['id']}/completions"
    res = client.post(url, json={"question": "How long are lunch receipts kept?", "stream": False}).json()
    assert res["code"] == 0 and res["data"]["answer"].startswith("Mock answer about")
    assert res["data"]["reference"]["chunks"]
    sid = res["data"]["session_id"]  # created because none was given
    assert [s["id"] for s in client.get(f"/api/v1/chats/{chat['id']}/sessions").json()["data"]] == [sid]
    opener = frames(client.post(url, json={}))  # no question, no session: a new session and its opener
    assert opener[0]["data"]["answer"] == chat["prompt"]["opener"] and opener[-1]["data"] is True
    assert client.post(url, json={"session_id": sid}).json() == {"code": 102, "message": "Please input your question."}
    assert client.post(url, json={"question": "x", "session_id": "nope"}).json()["code"] == 102


def test_completion_without_llm_quotes_passages(client, dataset):
    chat = create_chat(client, dataset)
    res = client.post(f"/api/v1/chats/{chat['id']}/completions",
                      json={"question": "hotel approval", "stream": False}).json()
    assert res["code"] == 0 and "Hotel" in res["data"]["answer"]  # retrieval-only mode


def test_sharing_on_the_public_page_is_set_and_shown_over_the_api(client, svc, dataset, other_client):
    chat = create_chat(client, dataset)
    assert (chat["shared"], chat["access_token"]) == (False, "")  # private until shared
    with pytest.raises(NotFound):
        svc.assistants.get_public(chat["id"])
    assert client.put(f"/api/v1/chats/{chat['id']}", json={"shared": True, "require_token": True}).json()["code"] == 0
    (shown,) = client.get("/api/v1/chats", params={"id": chat["id"]}).json()["data"]
    assert shown["shared"] is True and len(shown["access_token"]) >= 20
    with pytest.raises(Forbidden):
        svc.assistants.get_public(chat["id"])
    assert svc.assistants.get_public(chat["id"], shown["access_token"]).id == chat["id"]
    opened = create_chat(client, dataset, name="open", shared=True)
    assert (opened["shared"], opened["access_token"]) == (True, "")
    assert svc.assistants.get_public(opened["id"]).id == opened["id"]
    assert other_client.put(f"/api/v1/chats/{chat['id']}", json={"shared": False}).json()["code"] != 0
    assert client.put(f"/api/v1/chats/{chat['id']}", json={"shared": "maybe"}).json()["code"] != 0
    assert svc.assistants.get(DEFAULT_TENANT_ID, chat["id"]).shared is True  # neither changed it
