"""AgentChat's dialogs and chat: SSE frames as AgentChat streams them, tool steps as events, the dialog's history,
memory, history and like / dislike; errors before and during the stream."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ingest
from tests.helpers import agentchat_data as data
from tests.mock_llm import Reply

DOCS = [("dogs.txt", b"Dogs bark at strangers and love long walks in the park.")]
MINUTES = b"Meeting minutes: the zorblax budget was approved by the steering board on Tuesday."


def frames(res) -> list[dict]:
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream"), res.text
    return [json.loads(line[len("data: "):]) for line in res.text.splitlines() if line.startswith("data: ")]


def answer_of(stream: list[dict]) -> str:
    chunks = [f for f in stream if f["type"] == "response_chunk"]
    assert chunks and chunks[-1]["data"]["accumulated"] == "".join(f["data"]["chunk"] for f in chunks)
    return chunks[-1]["data"]["accumulated"]


@pytest.fixture
def alice(sign_up, svc, mock_llm):
    client = sign_up("alice")
    svc.models.create(client.workspace, type="llm", provider="openai", name="mock", model="mock-model",
                      base_url=mock_llm.base_url, params={"timeout": 5, "max_retries": 0}, is_default=True)
    return client


@pytest.fixture
def dialog(alice, svc):
    kb = data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "Pets"}))
    ingest(svc, alice.workspace, kb["id"], DOCS)
    agent = data(alice.post("/api/v1/agent", json={
        "name": "Pet helper", "description": "Knows pets", "tool_ids": ["calculator"], "knowledge_ids": [kb["id"]],
        "enable_memory": True, "system_prompt": "You help with pets.", "logo_url": "https://x/p.png"}))
    return data(alice.post("/api/v1/dialog", json={"name": "Pet helper", "agent_id": agent["id"]}))


def test_dialogs_create_list_delete(alice, dialog):
    assert dialog["name"] == "Pet helper" and dialog["agent_type"] == "Agent" and dialog["logo_url"] == "https://x/p.png"
    (listed,) = data(alice.get("/api/v1/dialog/list"))
    assert listed["dialog_id"] == dialog["dialog_id"] and listed["agent_id"] == dialog["agent_id"]
    assert data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]})) == []  # no greeting
    assert "only 'Agent'" in data(alice.post("/api/v1/dialog", json={"agent_id": dialog["agent_id"],
                                                                      "agent_type": "MCPAgent"}), 400)
    assert "Agent 'nope' not found" in data(alice.post("/api/v1/dialog", json={"agent_id": "nope"}), 404)
    assert data(alice.request("DELETE", "/api/v1/dialog", json={"dialog_id": dialog["dialog_id"]})) is None
    assert data(alice.get("/api/v1/dialog/list")) == []


def test_chat_streams_chunks_and_tool_events_then_keeps_the_history(alice, dialog, mock_llm, svc):
    stream = frames(alice.post("/api/v1/chat", json={"user_input": "Why do dogs bark? And what is 6*7?",
                                                     "dialog_id": dialog["dialog_id"]}))
    events = [f["data"] for f in stream if f["type"] == "event"]
    steps = [("START", "kb_search"), ("END", "kb_search"), ("START", "calculator"), ("END", "calculator")]
    assert [(e["status"], e["title"]) for e in events] == [(status, f"执行可用工具: {t}") for status, t in steps]
    assert events[0]["message"] == "正在调用插件工具 kb_search..." and events[1]["message"].startswith("[1] dogs.txt")
    assert events[3]["message"] == "42"
    answer = answer_of(stream)
    assert answer.startswith("Mock answer about: Why do dogs bark?") and "Tool result" in answer
    assert all(isinstance(f["timestamp"], float) for f in stream)

    question, reply = data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]}))
    assert (question["role"], question["content"], question["events"]) == ("user", "Why do dogs bark? And what is 6*7?",
                                                                           [])
    assert reply["role"] == "assistant" and reply["content"] == answer
    assert [e["data"] for e in reply["events"]] == events  # the tool steps, as they streamed

    answer_of(frames(alice.post("/api/v1/chat", json={"user_input": "And cats?", "dialog_id": dialog["dialog_id"]})))
    sent = next(r["body"]["messages"] for r in reversed(mock_llm.chat_requests)
                if r["body"]["messages"][-1]["content"] == "And cats?")
    contents = [m.get("content") or "" for m in sent if m["role"] in ("user", "assistant")]
    assert "Why do dogs bark? And what is 6*7?" in contents and answer in contents and contents[-1] == "And cats?"
    assert svc.chat.get_session(alice.workspace, dialog["dialog_id"]).summary  # enable_memory: the agent remembers


def test_like_and_dislike_an_answer_by_its_text(alice, dialog, svc):
    answer = answer_of(frames(alice.post("/api/v1/chat", json={"user_input": "Hello", "dialog_id": dialog["dialog_id"]})))
    assert data(alice.post("/api/v1/message/like", json={"user_input": "Hello", "agent_output": answer})) is None
    (_, reply) = data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]}))
    assert reply["like"] == 1
    data(alice.post("/api/v1/message/down", json={"user_input": "Hello", "agent_output": answer}))
    assert data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]}))[1]["like"] == -1
    assert "No answer with this text" in data(alice.post("/api/v1/message/like", json={"agent_output": "nope"}), 404)


def test_a_question_that_cannot_be_asked_is_refused_before_the_stream(alice, dialog):
    assert data(alice.post("/api/v1/chat", json={"user_input": "Hi", "dialog_id": "dialog-123"}), 404) == \
        "Dialog 'dialog-123' not found"
    assert "must not be empty" in data(alice.post("/api/v1/chat", json={"user_input": " ",
                                                                        "dialog_id": dialog["dialog_id"]}), 400)
    assert "dialog_id: Field required" in data(alice.post("/api/v1/chat", json={"user_input": "Hi"}), 400)
    assert data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]})) == []


def test_a_model_failing_before_it_answers_gives_a_notice_not_an_error(alice, dialog, mock_llm):
    mock_llm.script([Reply(status=500, error_message="the model is down")] * 4)
    stream = frames(alice.post("/api/v1/chat", json={"user_input": "Why do dogs bark?",
                                                     "dialog_id": dialog["dialog_id"]}))
    assert not [f for f in stream if f["type"] == "event" and f["data"]["status"] == "ERROR"]
    answer = answer_of(stream)  # the visitor reads a notice; the error is the admin's (Models page)
    assert "could not be reached" in answer and "the model is down" not in answer


def test_without_a_language_model_the_agent_says_it_needs_one(sign_up):
    bob = sign_up("bob")
    agent = data(bob.post("/api/v1/agent", json={"name": "Lonely", "description": "", "system_prompt": "",
                                                 "logo_url": ""}))
    dialog = data(bob.post("/api/v1/dialog", json={"agent_id": agent["id"], "name": "x"}))
    answer = answer_of(frames(bob.post("/api/v1/chat", json={"user_input": "Hi", "dialog_id": dialog["dialog_id"]})))
    assert "no language model" in answer


def test_upload_answers_a_signed_url_and_chat_reads_the_file_with_the_question(alice, dialog, mock_llm, sign_up):
    url = data(alice.post("/api/v1/upload", files={"file": ("minutes.txt", MINUTES, "text/plain")}))
    assert "/files/" in url and "exp=" in url and "sig=" in url
    assert alice.get(url).content == MINUTES  # the signed URL serves the file
    stream = frames(alice.post("/api/v1/chat", json={"user_input": "What was approved?", "file_url": url,
                                                     "dialog_id": dialog["dialog_id"]}))
    assert answer_of(stream).startswith("Mock answer about: What was approved?")
    sent = next(r["body"]["messages"] for r in mock_llm.chat_requests
                if "[Attached file: minutes.txt]" in (r["body"]["messages"][-1].get("content") or ""))
    assert "zorblax budget was approved" in sent[-1]["content"]
    question = data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]}))[0]
    assert question["content"] == "What was approved?" and question["files"][0]["name"] == "minutes.txt"

    mallory = sign_up("mallory")  # another user's file is not found, even with its signed URL
    agent = data(mallory.post("/api/v1/agent", json={"name": "m", "description": "", "system_prompt": "",
                                                     "logo_url": ""}))
    own = data(mallory.post("/api/v1/dialog", json={"agent_id": agent["id"]}))["dialog_id"]
    assert "not found" in data(mallory.post("/api/v1/chat", json={"user_input": "x", "file_url": url,
                                                                  "dialog_id": own}), 404)


@pytest.mark.parametrize(("file_url", "status", "problem"), [
    ("https://oss.example.com/bucket/report.pdf", 400, "not a file URL of this server"),
    ("/files/0123456789abcdef0123456789abcdef?exp=1&sig=x", 404, "not found"),
])
def test_file_urls_that_cannot_be_read_are_refused_before_the_stream(alice, dialog, file_url, status, problem):
    assert problem in data(alice.post("/api/v1/chat", json={"user_input": "Summarise", "file_url": file_url,
                                                            "dialog_id": dialog["dialog_id"]}), status)
    assert data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]})) == []


def test_upload_refuses_what_the_file_storage_does_not_take(alice, svc, monkeypatch):
    assert "file: Field required" in data(alice.post("/api/v1/upload"), 400)
    assert "not accepted" in data(alice.post("/api/v1/upload", files={"file": ("run.exe", b"MZ", "x")}), 400)
    monkeypatch.setattr(svc.settings, "file_max_mb", 1)
    big = b"x" * (2**20 + 10)
    assert "the limit is 1 MB" in data(alice.post("/api/v1/upload", files={"file": ("big.txt", big, "text/plain")}),
                                       400)
