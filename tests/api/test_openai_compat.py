"""OpenAI-compatible chat: RAGFlow's chats_openai route and /v1 (models, chat completions); the official
`openai` client against a live server, streaming and not."""

from __future__ import annotations

import json

import openai
import pytest

from core.config import Settings
from core.container import build_services
from core.tenants import DEFAULT_TENANT_ID as T
from tests.conftest import ingest
from tests.helpers import free_port, start_server, stop_process
from tests.mock_llm import MockOpenAIServer, Reply

POLICY = (b"Hotel costs above two hundred euros per night need approval from the budget office.\n\n"
          b"Lunch receipts are kept for seven years by the finance archive.\n")
DOCS = [("policy.txt", POLICY)]
HISTORY = [{"role": "system", "content": "Ignored: the assistant's prompt governs."},
           {"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hello Ada!"},
           {"role": "user", "content": "Who approves hotel costs?"}]


@pytest.fixture(autouse=True)
def no_env_model(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALMANAC_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def kb(svc):
    kb = svc.knowledge.create(T, "policies")
    ingest(svc, T, kb.id, DOCS)
    return kb



@pytest.fixture
def chat(svc, kb, llm):
    return svc.assistants.create(T, "Policy bot", kb_ids=[kb.id])


def events(res) -> list:
    return [line[len("data: "):] for line in res.text.splitlines() if line.startswith("data: ")]


def sessions(svc, assistant_id: str) -> int:
    return svc.chat.list_sessions(T, assistant_id=assistant_id).total


# ------------------------------------------------------------------ RAGFlow's chats_openai
def test_ragflow_non_streaming_answers_with_the_history(client, svc, chat, llm):
    url = f"/api/v1/chats_openai/{chat.id}/chat/completions"
    res = client.post(url, json={"model": "model", "messages": HISTORY, "stream": False}).json()
    assert res["object"] == "chat.completion" and res["model"] == "model" and res["id"].startswith("chatcmpl-")
    choice = res["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Mock answer about: Who approves hotel costs?. [1]"
    usage = res["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    sent = llm.chat_requests[-1]["body"]["messages"]  # the model saw the earlier turns, not the client's system
    assert [(m["role"], m["content"]) for m in sent[1:]] == [(m["role"], m["content"]) for m in HISTORY[1:]]
    assert "Ignored" not in sent[0]["content"] and "Hotel costs" in sent[0]["content"]
    (conv,) = svc.chat.list_sessions(T, assistant_id=chat.id).items  # kept as a session, in order
    kept = [(m.role, m.content) for m in svc.chat.list_messages(T, conv.id)]
    assert kept[1:] == [(m["role"], m["content"]) for m in HISTORY[1:]] + [("assistant", choice["message"]["content"])]


def test_ragflow_streaming_with_usage_and_reference(client, chat):
    res = client.post(f"/api/v1/chats_openai/{chat.id}/chat/completions",
                      json={"model": "model", "messages": HISTORY[-1:], "reference": True})  # streams by default
    assert res.headers["content-type"].startswith("text/event-stream")
    raw = events(res)
    assert raw[-1] == "[DONE]"
    chunks = [json.loads(e) for e in raw[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks)
    assert text == "Mock answer about: Who approves hotel costs?. [1]"
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop" and last["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])
    assert "Hotel" in last["choices"][0]["delta"]["reference"][0]["content"]


def test_ragflow_errors_change_nothing(client, svc, chat, other_client):
    url = f"/api/v1/chats_openai/{chat.id}/chat/completions"
    not_user = {"code": 102, "message": "The last content of this conversation is not from user."}
    assert client.post(url, json={"model": "m", "messages": HISTORY[:3]}).json() == not_user
    assert client.post(url, json={"model": "m", "messages": [{"role": "user", "content": " "}]}).json() == not_user
    assert client.post(url, json={"model": "m", "messages": HISTORY[:1]}).json()["code"] == 102
    assert client.post(url, json={"model": "m"}).json()["code"] == 101
    assert client.post(url, json={"messages": [{"role": "tool", "content": "x"}]}).json()["code"] == 101
    assert other_client.post(url, json={"messages": HISTORY}).json()["code"] == 102
    assert client.post(url, json={"messages": HISTORY}, headers={"Authorization": "Bearer nope"}).json()["code"] == 109
    assert sessions(svc, chat.id) == 0


# ------------------------------------------------------------------ /v1
def test_models_are_the_runnable_assistants(client, svc, chat, other_client):
    agent = svc.assistants.create(T, "Agent", kind="agent")
    draft = svc.assistants.create(T, "Draft", kind="agent")
    svc.assistants.publish(T, agent.id)
    res = client.get("/v1/models").json()
    assert res["object"] == "list" and [m["id"] for m in res["data"]] == [chat.id, agent.id]  # not the draft
    assert res["data"][0] == {"id": chat.id, "object": "model", "created": int(chat.created_at.timestamp()),
                              "owned_by": T, "name": "Policy bot", "kind": "chat"}
    assert client.get(f"/v1/models/{agent.id}").json()["kind"] == "agent"
    missing = client.get(f"/v1/models/{draft.id}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    assert other_client.get("/v1/models").json()["data"] == []
    bad = client.get("/v1/models", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.json() == {"error": {
        "message": "Invalid API key", "type": "invalid_request_error", "param": None,
        "code": "invalid_api_key"}}


def test_v1_completion_by_id_or_name(client, svc, chat):
    res = client.post("/v1/chat/completions", json={"model": chat.id, "messages": HISTORY})
    assert res.status_code == 200 and res.json()["model"] == chat.id
    assert res.json()["choices"][0]["message"]["content"].startswith("Mock answer about: Who approves")
    by_name = client.post("/v1/chat/completions", json={"model": "policy BOT", "messages": HISTORY[-1:],
                                                        "stream": True})
    assert events(by_name)[-1] == "[DONE]" and json.loads(events(by_name)[-2])["choices"][0]["finish_reason"] == "stop"
    assert sessions(svc, chat.id) == 2


def test_v1_agent_runs_its_tools(client, svc, llm):
    agent = svc.assistants.create(T, "Calc", kind="agent", tools=["calculator"])
    svc.assistants.publish(T, agent.id)
    llm.script([Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
                Reply(text="It is 42.")])
    res = client.post("/v1/chat/completions", json={"model": agent.id, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is 6 times 7?"}]}]}).json()
    assert res["choices"][0]["message"]["content"] == "It is 42."
    tool_msgs = [m for m in llm.chat_requests[-1]["body"]["messages"] if m["role"] == "tool"]
    assert "42" in tool_msgs[0]["content"]


def test_v1_errors(client, svc, chat, llm, other_client):
    def post(body, c=client):
        res = c.post("/v1/chat/completions", json=body)
        return res.status_code, res.json()["error"]

    status, err = post({"model": "nope", "messages": HISTORY})
    assert status == 404 and err["code"] == "model_not_found" and err["param"] == "model"
    assert post({"model": chat.id, "messages": HISTORY}, other_client)[0] == 404
    status, err = post({"model": chat.id, "messages": HISTORY[:3]})
    assert status == 400 and err["param"] == "messages" and err["type"] == "invalid_request_error"
    status, err = post({"model": chat.id})
    assert status == 400 and err["param"] == "messages"
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]
    assert post({"model": chat.id, "messages": image}) == (400, {
        "message": "Only text content is supported (got a 'image_url' part)", "type": "invalid_request_error",
        "param": None, "code": None})
    assert sessions(svc, chat.id) == 0
    # The model failing before its first word: the assistant still answers, quoting its passages (issue 14, point 2).
    llm.script([Reply(status=500, error_message="upstream down")])
    res = client.post("/v1/chat/completions", json={"model": chat.id, "messages": HISTORY})
    answer = res.json()["choices"][0]["message"]["content"]
    assert res.status_code == 200 and "could not be reached" in answer and "budget office" in answer
    llm.script([Reply(status=500, error_message="upstream down")])
    res = client.post("/v1/chat/completions", json={"model": chat.id, "messages": HISTORY, "stream": True})
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events(res)[:-1])
    assert "could not be reached" in text and events(res)[-1] == "[DONE]"


# ------------------------------------------------------------------ the openai client, live
KEY = "almanac-openai-test-key"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A server whose data dir holds a chat assistant and a published agent; their LLM is a mock server."""
    data = tmp_path_factory.mktemp("openai") / "data"
    with MockOpenAIServer() as mock, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_ADMIN_API_KEY", KEY)
        mp.setenv("ALMANAC_EMBEDDING_MODEL", "mock:words-64")
        setup = build_services(Settings(data_dir=data, ingest_workers=0))
        kb = setup.knowledge.create(T, "policies")
        ingest(setup, T, kb.id, DOCS)
        setup.models.create(T, type="llm", provider="openai", name="mock", model="mock-model",
                            base_url=mock.base_url, params={"timeout": 5, "max_retries": 0}, is_default=True)
        chat = setup.assistants.create(T, "Policy bot", kb_ids=[kb.id])
        agent = setup.assistants.create(T, "Calc", kind="agent", tools=["calculator"])
        setup.assistants.publish(T, agent.id)
        setup.close()
        port = free_port()
        proc = start_server(data, port)
        try:
            yield {"url": f"http://127.0.0.1:{port}", "mock": mock, "chat": chat.id, "agent": agent.id}
        finally:
            stop_process(proc)


def test_openai_client_on_ragflow_chats_openai(live):
    client = openai.OpenAI(api_key=KEY, base_url=f"{live['url']}/api/v1/chats_openai/{live['chat']}")
    whole = client.chat.completions.create(model="model", messages=HISTORY, stream=False)
    assert whole.choices[0].message.content == "Mock answer about: Who approves hotel costs?. [1]"
    assert whole.usage.total_tokens > 0
    stream = client.chat.completions.create(model="model", messages=HISTORY[-1:], stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage.completion_tokens > 0


def test_openai_client_on_v1(live):
    client = openai.OpenAI(api_key=KEY, base_url=f"{live['url']}/v1", max_retries=0)
    assert {m.id for m in client.models.list()} == {live["chat"], live["agent"]}
    whole = client.chat.completions.create(model=live["chat"], messages=HISTORY)
    assert whole.choices[0].message.content.startswith("Mock answer about: Who approves hotel costs?")
    live["mock"].script([Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
                         Reply(text="It is 42.")])
    stream = client.chat.completions.create(model=live["agent"], stream=True,
                                            messages=[{"role": "user", "content": "What is 6 times 7?"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "It is 42."
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="nope", messages=HISTORY)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=live["chat"], messages=HISTORY[:3])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="wrong", base_url=f"{live['url']}/v1").models.list()
    live["mock"].script([Reply(status=500, error_message="upstream down")])  # answered from the passages instead
    chunks = client.chat.completions.create(model=live["chat"], messages=HISTORY, stream=True)
    assert "could not be reached" in "".join(c.choices[0].delta.content or "" for c in chunks)


def test_openapi_lists_the_agent_and_openai_routes(live):
    import httpx

    paths = httpx.get(f"{live['url']}/openapi.json").json()["paths"]
    routes = [("post", "/api/v1/chats_openai/{chat_id}/chat/completions"), ("get", "/api/v1/agents"),
              ("post", "/api/v1/agents/{agent_id}/sessions"), ("get", "/api/v1/agents/{agent_id}/sessions"),
              ("post", "/api/v1/agents/{agent_id}/completions"), ("post", "/v1/chat/completions"),
              ("get", "/v1/models")]
    assert [(m, p) for m, p in routes if m not in paths.get(p, {})] == []
