"""Nexent's workspace agent: POST /api/agent/run streams Nexent's observer frames (steps, tool calls, sources, the
final answer) parsed by an SSE client; the default agent from the Agents page, the retrieval agent without one;
history; config save / load / reload; bad input."""

from __future__ import annotations

import json

import pytest

from tests.helpers import sse_events


@pytest.fixture
def handbook(svc, tenant):
    kb = svc.knowledge.create(tenant, "Handbook")
    svc.documents.upload(tenant, kb.id, [("refunds.md", b"The refund window is thirty days after purchase.")])
    other = svc.knowledge.create(tenant, "Pets")
    svc.documents.upload(tenant, other.id, [("dog.md", b"Biscuit the office dog likes the refund desk.")])
    svc.workers.drain()
    return kb


def run(client, **body) -> tuple[list[dict], dict]:
    res = client.post("/api/agent/run", json={"history": [], **body})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/event-stream")
    frames = [frame for name, frame in sse_events(res.text)]
    assert all(set(f) == {"type", "content"} and isinstance(f["content"], str) for f in frames), frames
    return frames, res.headers


def of(frames: list[dict], kind: str) -> list[str]:
    return [f["content"] for f in frames if f["type"] == kind]


def test_without_a_model_the_workspace_answers_by_quoting_its_knowledge(client, handbook, svc, tenant):
    frames, headers = run(client, query="How long is the refund window?")
    assert [f["type"] for f in frames[:2]] == ["agent_new_run", "step_count"]
    [sources] = of(frames, "search_content")
    assert {s["title"] for s in json.loads(sources)} >= {"refunds.md"}
    assert "thirty days" in "".join(of(frames, "final_answer")) and of(frames, "token_count")
    cid = int(headers["x-conversation-id"])  # a new conversation: its number in the header
    listed = client.get("/api/conversation/list").json()["data"]
    assert [c["conversation_id"] for c in listed] == [cid] and listed[0]["conversation_title"]


def test_with_a_model_steps_show_the_tool_calls_and_their_results(client, handbook, llm):
    cid = client.put("/api/conversation/create", json={}).json()["data"]["conversation_id"]
    frames, _ = run(client, query="How long is the refund window?", conversation_id=cid)
    kinds = [f["type"] for f in frames]
    assert kinds.index("parse") < kinds.index("execution_logs") < kinds.index("search_content") < \
        kinds.index("final_answer")
    assert "kb_search" in of(frames, "parse")[0] and "thirty days" in of(frames, "execution_logs")[0]
    assert of(frames, "step_count") == ["\n**Step 1** \n", "\n**Step 2** \n"]
    assert "".join(of(frames, "final_answer")).startswith("Mock answer about")
    [_, answer] = client.get(f"/api/conversation/{cid}").json()["data"]["message"]
    units = [u["type"] for u in answer["message"]]
    assert units == ["step_count", "parse", "execution_logs", "final_answer"] and answer["search"]
    tools = llm.chat_requests[0]["body"]["tools"]
    assert [t["function"]["name"] for t in tools] == ["kb_search"]


def test_the_default_agent_from_the_agents_page_answers(client, handbook, llm, svc, tenant):
    agent = svc.assistants.create(tenant, "Calculator", kind="agent", kb_ids=[],
                                  tools=[{"type": "builtin", "provider": "calculator", "tool": "calculator"}])
    with pytest.raises(Exception, match="not published"):
        svc.workspace.set_default_agent(tenant, agent.id)
    svc.assistants.publish(tenant, agent.id)
    svc.workspace.set_default_agent(tenant, agent.id)
    frames, _ = run(client, query="What is 6 * 7?")
    assert of(frames, "agent_new_run") == ["Calculator"] and "calculator" in of(frames, "parse")[0]
    assert "42" in of(frames, "execution_logs")[0] and not of(frames, "search_content")

    svc.assistants.unpublish(tenant, agent.id)
    refused = client.post("/api/agent/run", json={"query": "What is 6 * 7?"})
    assert refused.status_code == 409 and "not published" in refused.json()["message"]
    svc.workspace.set_default_agent(tenant, None)
    frames, _ = run(client, query="What is 6 * 7?")
    assert of(frames, "agent_new_run") == ["Knowledge agent"]


def test_history_is_stored_for_a_new_conversation(client, svc, tenant, llm):
    history = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hello Ada."}]
    _, headers = run(client, query="What is my name?", history=history)
    messages = client.get(f"/api/conversation/{headers['x-conversation-id']}").json()["data"]["message"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    sent = llm.chat_requests[-1]["body"]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"][:2] == ["My name is Ada.", "What is my name?"]


def test_description_only_files_reach_the_model(client, llm):
    files = [{"object_name": "", "name": "notes.txt", "description": "File notes.txt content: the code is 4711"}]
    _, headers = run(client, query="What is the code?", minio_files=files)
    question = llm.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert "the code is 4711" in question and question.startswith("What is the code?")
    [saved, _] = client.get(f"/api/conversation/{headers['x-conversation-id']}").json()["data"]["message"]
    assert saved["message"] == "What is the code?" and saved["minio_files"][0]["name"] == "notes.txt"


def test_bad_requests_change_nothing(client):
    cases = [({"query": "hi", "conversation_id": 999999}, 404), ({"history": []}, 422),
             ({"query": "hi", "history": [{"role": "robot", "content": "x"}]}, 422),
             ({"query": "hi", "conversation_id": "abc"}, 422), ({"query": "   "}, 400),
             ({"query": "hi", "minio_files": "x"}, 422)]
    for body, status in cases:
        res = client.post("/api/agent/run", json=body)
        assert res.status_code == status, (body, res.text)
    assert client.get("/api/conversation/list").json()["data"] == []


def test_config_save_load_and_reload_apply_the_models(client, svc, tenant, mock_llm, handbook):
    main = svc.models.create(tenant, type="llm", provider="openai", name="Main", model="mock-model",
                             base_url=mock_llm.base_url, api_key="sk-secret-123456789")
    spare = svc.models.create(tenant, type="llm", provider="openai", name="Spare", model="spare-model",
                              base_url=mock_llm.base_url)
    svc.models.set_default(tenant, spare.id)
    saved = client.post("/api/config/save_config", json={
        "app": {"name": "Help desk", "description": "Answers", "icon": {"type": "custom", "customUrl": "/i.png"}},
        "models": {"llm": {"name": "mock-model", "displayName": "Main"}, "llmSecondary": {"modelName": "Spare"}},
        "data": {"selectedKbNames": ["Handbook"], "selectedKbModels": ["m"], "selectedKbSources": ["elasticsearch"]}})
    assert saved.json() == {"message": "Configuration saved successfully", "status": "saved"}
    assert svc.models.default(tenant, "llm").id == main.id  # applied
    config = client.get("/api/config/load_config").json()["config"]
    assert config["app"] == {"name": "Help desk", "description": "Answers",
                             "icon": {"type": "custom", "avatarUri": "", "customUrl": "/i.png"}}
    assert config["models"]["llm"]["modelName"] == "mock-model" and config["models"]["llm"]["displayName"] == "Main"
    assert config["models"]["llm"]["apiConfig"] == {"apiKey": "sk-…6789", "modelUrl": mock_llm.base_url}
    assert config["models"]["llmSecondary"]["name"] == config["models"]["secondaryLlm"]["name"] == "spare-model"
    assert config["data"] == {"selectedKbNames": ["Handbook"], "selectedKbModels": ["m"],
                              "selectedKbSources": ["elasticsearch"]}

    # The front end's spellings; the selected knowledge base limits what the retrieval agent searches.
    client.post("/api/config/save_config", json={"app": {"appName": "Desk", "iconType": "preset"}})
    assert client.get("/api/config/load_config").json()["config"]["app"]["name"] == "Desk"
    frames, _ = run(client, query="refund")
    assert "dog.md" not in "".join(of(frames, "execution_logs"))

    svc.models.set_default(tenant, spare.id)
    assert client.post("/api/agent/reload_config").json() == {"status": "success",
                                                              "message": "Configuration reloaded"}
    assert svc.models.default(tenant, "llm").id == main.id

    for body, status in (({"models": {"llm": {"name": "no-such-model"}}}, 404),
                         ({"models": {"painter": {"name": "Main"}}}, 400),
                         ({"models": {"embedding": {"name": "Main"}}}, 404),
                         ({"data": {"selectedKbNames": ["Nope"]}}, 404), ({"app": "x"}, 422)):
        res = client.post("/api/config/save_config", json=body)
        assert res.status_code == status, (body, res.text)
    assert client.get("/api/config/load_config").json()["config"]["app"]["name"] == "Desk"  # unchanged
