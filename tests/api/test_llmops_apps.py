"""LLMOps apps (1.1-1.7, plus create/list/publish): the draft config round-trips every field and maps onto the
agent, debug answers with the draft in the debug conversation, messages are paged newest first and deleted
softly, long-term memory at both paths, and a published app answers over /v1/chat/completions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.assistants import DEFAULT_AGENT_SYSTEM
from storage.orm import Message
from tests.helpers import llmops_data, llmops_dataset, llmops_error

POLICY = b"# Leave\n\nEvery employee receives twenty-seven days of paid vacation per year.\n"
SCHEMA = json.dumps({"description": "Dictionary", "server": "https://dict.example.com", "paths": {"/suggest": {"get": {
    "description": "Look a word up", "operationId": "YoudaoSuggest", "parameters": [
        {"name": "q", "in": "query", "description": "the word", "required": True, "type": "str"}]}}}})
APP = {"id", "name", "icon", "description", "published_app_config_id", "drafted_app_config_id",
       "debug_conversation_id", "published_app_config", "drafted_app_config", "updated_at", "created_at"}
CONFIG = {"id", "model_config", "memory_mode", "status", "created_at", "updated_at"}
MESSAGE = {"id", "conversation_id", "query", "answer", "answer_tokens", "response_latency", "created_at",
           "updated_at"}


def new_app(client, name: str = "Shop helper") -> str:
    resp = client.post("/apps", json={"name": name, "icon": "https://e.com/app.png", "description": "Helps"})
    return llmops_data(resp)["id"]


def draft(client, app: str) -> dict:
    return llmops_data(client.get(f"/apps/{app}"))["drafted_app_config"]


@pytest.fixture
def dataset(client, svc) -> str:
    return llmops_dataset(client, svc, [("leave.md", POLICY)])[0]


@pytest.fixture
def api_tool(client) -> str:
    return llmops_data(client.post("/api-tools", json={"name": "Dictionary", "icon": "https://e.com/d.png",
                                                       "openapi_schema": SCHEMA, "headers": []}))["id"]


def full_config(dataset: str, api_tool: str) -> dict:
    return {
        "model_config": {"provider": "openai", "model": "mock-model", "dialog_round": 3,
                         "parameters": {"temperature": 0.5, "top_p": 0.9, "presence_penalty": 0.0,
                                        "frequency_penalty": 0.1, "max_tokens": 800}},
        "memory_mode": "long_term_memory", "long_term_memory": {"enable": True},
        "preset_prompt": "You are the shop's assistant. Answer briefly.",
        "tools": [{"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator", "params": {}},
                  {"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time",
                   "params": {"timezone": "Europe/Paris"}},
                  {"type": "api_tool", "provider_id": api_tool, "tool_id": "YoudaoSuggest", "params": {}}],
        "datasets": [dataset], "retrieval_config": {"retrieval_strategy": "semantic", "k": 4, "score": 0.3},
        "opening_statement": "Hello! Ask me about leave.", "opening_questions": ["How many vacation days?"],
        "suggested_after_answer": {"enable": True}, "speech_to_text": {"enable": False},
        "text_to_speech": {"enable": True, "voice": "echo", "auto_play": False},
        "review_config": {"enable": True, "keywords": ["secret"], "inputs_config": {"enable": True,
                          "preset_response": "Not here."}, "outputs_config": {"enable": False}},
        "workflows": [], "a_future_field": {"kept": True},
    }


def test_an_app_is_an_agent_with_a_draft(client, svc):
    app = new_app(client)
    agent = svc.assistants.get("default", app, kind="agent")
    assert (agent.name, agent.avatar, agent.description) == ("Shop helper", "https://e.com/app.png", "Helps")
    got = llmops_data(client.get(f"/apps/{app}"))
    assert APP <= set(got) and got["status"] == "draft"
    assert got["published_app_config_id"] is None and got["published_app_config"] is None
    assert got["debug_conversation_id"] is None
    assert CONFIG <= set(got["drafted_app_config"]) and got["drafted_app_config"]["status"] == "drafted"
    assert got["drafted_app_config"]["id"] == got["drafted_app_config_id"]
    listed = llmops_data(client.get("/apps", params={"search_word": "shop"}))
    assert [a["id"] for a in listed["list"]] == [app] and listed["paginator"]["total_record"] == 1
    assert "already exists" in llmops_error(client.post("/apps", json={"name": "SHOP HELPER"}), "validate_error")


def test_the_spec_example_updates_the_draft(client, svc):
    app = new_app(client)
    resp = client.put(f"/apps/{app}/config", json={"model_config": {"dialog_round": 3},
                                                   "memory_mode": "long_term_memory"})
    assert resp.json() == {"code": "success", "data": {}, "message": "更新AI应用配置成功"}
    config = draft(client, app)
    assert config["model_config"]["dialog_round"] == 3 and config["memory_mode"] == "long_term_memory"
    strategy = svc.assistants.get("default", app).strategy
    assert (strategy.max_rounds, strategy.memory_mode) == (3, "long_term_memory")


def test_every_field_of_the_draft_round_trips_and_maps_onto_the_agent(client, svc, llm, dataset, api_tool):
    app = new_app(client)
    sent = full_config(dataset, api_tool)
    llmops_data(client.put(f"/apps/{app}/config", json=sent))
    got = draft(client, app)
    model = got["model_config"]
    assert (model["provider"], model["model"], model["dialog_round"]) == ("openai", "mock-model", 3)
    assert model["parameters"] == sent["model_config"]["parameters"] and got["dialog_round"] == 3
    for field in ("memory_mode", "long_term_memory", "preset_prompt", "retrieval_config", "opening_statement",
                  "opening_questions", "suggested_after_answer", "speech_to_text", "text_to_speech", "review_config",
                  "workflows", "a_future_field"):
        assert got[field] == sent[field], field
    assert [(t["type"], t["provider_id"], t["tool_id"], t["params"]) for t in got["tools"]] == \
        [(t["type"], t["provider_id"], t["tool_id"], t["params"]) for t in sent["tools"]]
    assert got["tools"][2]["provider"]["name"] == "Dictionary" and got["tools"][0]["tool"]["label"] == "Calculator"
    assert [(d["id"], d["name"]) for d in got["datasets"]] == [(dataset, "handbook")]

    agent = svc.assistants.get("default", app)
    assert agent.kb_ids == [dataset] and agent.llm.model_id == svc.models.list("default", "llm")[0].id
    assert (agent.llm.temperature, agent.llm.top_p, agent.llm.max_tokens) == (0.5, 0.9, 800)
    assert (agent.strategy.max_rounds, agent.strategy.memory_mode) == (3, "long_term_memory")
    assert (agent.prompt.system, agent.prompt.opener) == (sent["preset_prompt"], sent["opening_statement"])
    assert (agent.prompt.search_mode, agent.prompt.top_n, agent.prompt.similarity_threshold) == ("semantic", 4, 0.3)
    assert [(t["type"], t["provider"], t["tool"]) for t in agent.tools] == \
        [("builtin", "calculator", "calculator"), ("builtin", "time", "current_time"),
         ("api", api_tool, "YoudaoSuggest")]
    assert llmops_data(client.get(f"/datasets/{dataset}"))["related_app_count"] == 1

    # GET's output sent back changes nothing; a partial update keeps the rest; an edit in the UI shows here.
    llmops_data(client.put(f"/apps/{app}/config", json=got))
    again = draft(client, app)
    assert not {"id", "status", "created_at", "updated_at"} & set(svc.assistants.get("default", app).extra["llmops"])
    assert {k: v for k, v in again.items() if k != "updated_at"} == {k: v for k, v in got.items() if k != "updated_at"}
    llmops_data(client.put(f"/apps/{app}/config", json={"dialog_round": 7, "preset_prompt": ""}))
    partial = draft(client, app)
    assert partial["dialog_round"] == 7 and partial["preset_prompt"] == "" and partial["opening_questions"] == \
        sent["opening_questions"] and len(partial["tools"]) == 3
    assert svc.assistants.get("default", app).prompt.system == DEFAULT_AGENT_SYSTEM  # blank = the default prompt
    svc.assistants.update("default", app, prompt={"opener": "Hi from the Agents page"})
    assert draft(client, app)["opening_statement"] == "Hi from the Agents page"


def test_bad_config_is_refused_naming_the_field_and_changes_nothing(client, other_client, svc, dataset, api_tool):
    app = new_app(client)
    before = draft(client, app)
    foreign = llmops_dataset(other_client, svc, [("x.md", POLICY)], name="theirs")[0]
    cases = [({"model_config": {"model": "gpt-9"}}, "model_config.model"),
             ({"model_config": {"dialog_round": -1}}, "model_config.dialog_round"),
             ({"dialog_round": 101}, "dialog_round"), ({"memory_mode": "forever"}, "memory_mode"),
             ({"memory_mode": "none", "long_term_memory": {"enable": True}}, "long_term_memory.enable"),
             ({"model_config": {"parameters": {"temperature": 3}}}, "model_config.parameters.temperature"),
             ({"datasets": ["nope"]}, "datasets"), ({"datasets": [foreign]}, "datasets"),
             ({"tools": [{"type": "builtin_tool", "provider_id": "calculator", "tool_id": "abacus"}]}, "tools"),
             ({"tools": [{"type": "robot", "provider_id": "calculator", "tool_id": "calculator"}]}, "tools.0.type"),
             ({"tools": [{"type": "api_tool", "provider_id": api_tool, "tool_id": "Missing"}]}, "tools"),
             ({"tools": [{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time",
                          "params": {"colour": "red"}}]}, "tools"),
             ({"retrieval_config": {"retrieval_strategy": "fuzzy"}}, "retrieval_config.retrieval_strategy"),
             ({"opening_questions": "why?"}, "opening_questions")]
    for body, field in cases:
        assert llmops_error(client.put(f"/apps/{app}/config", json=body), "validate_error").startswith(field), body
    assert {k: v for k, v in draft(client, app).items() if k != "updated_at"} == \
        {k: v for k, v in before.items() if k != "updated_at"}


def test_apps_of_another_tenant_and_chat_assistants_are_not_found(client, other_client, svc):
    app = new_app(client)
    chat = svc.assistants.create("default", "A chat assistant")
    for c, app_id in ((other_client, app), (client, chat.id), (client, "nope")):
        for resp in (c.get(f"/apps/{app_id}"), c.put(f"/apps/{app_id}/config", json={"dialog_round": 1}),
                     c.post(f"/apps/{app_id}/debug", json={"query": "hi"}), c.get(f"/apps/{app_id}/messages"),
                     c.get(f"/apps/{app_id}/long-term-memory"), c.post(f"/api/apps/{app_id}/long-term-memory",
                                                                       json={"summary": "x"}),
                     c.post(f"/apps/{app_id}/publish"), c.post(f"/apps/{app_id}/messages/m/delete")):
            assert llmops_error(resp, "not_found") == f"App '{app_id}' not found"
    assert svc.assistants.get("default", app).strategy.max_rounds == 5


def test_debug_answers_with_the_draft_and_keeps_the_messages(client, svc, llm, dataset):
    app = new_app(client)
    llmops_data(client.put(f"/apps/{app}/config", json={
        "datasets": [dataset], "memory_mode": "long_term_memory",
        "retrieval_config": {"retrieval_strategy": "hybrid", "k": 3, "score": 0.05},
        "tools": [{"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator", "params": {}}]}))
    resp = client.post(f"/apps/{app}/debug", json={"query": "Paid vacation days per year: what is 27 * 3?"})
    first = llmops_data(resp)
    assert set(first) >= MESSAGE and first["query"] == "Paid vacation days per year: what is 27 * 3?"
    assert "Tool result: 81" in first["answer"] and "[1]" in first["answer"]  # searched the dataset, calculated
    assert first["answer_tokens"] > 0 and first["response_latency"] > 0
    assert llmops_data(client.get(f"/apps/{app}"))["debug_conversation_id"] == first["conversation_id"]
    for q in ("second question", "third question"):
        llmops_data(client.post(f"/apps/{app}/debug", json={"query": q}))

    page = llmops_data(client.get(f"/apps/{app}/messages", params={"page_size": 2}))
    assert [m["query"] for m in page["list"]] == ["third question", "second question"]  # newest first
    assert page["paginator"] == {"current_page": 1, "page_size": 2, "total_page": 2, "total_record": 3}
    assert set(page["list"][0]) >= MESSAGE
    second = page["list"][1]
    resp = client.post(f"/apps/{app}/messages/{second['id']}/delete")
    assert resp.json() == {"code": "success", "data": {}, "message": "删除AI应用调试消息成功"}
    assert [m["query"] for m in llmops_data(client.get(f"/apps/{app}/messages"))["list"]] == \
        ["third question", "Paid vacation days per year: what is 27 * 3?"]
    with svc.db.session() as s:  # soft: the rows stay, marked deleted
        row = s.scalar(select(Message).where(Message.id == second["id"]))
        assert row is not None and row.deleted_at is not None
    assert llmops_error(client.post(f"/apps/{app}/messages/{second['id']}/delete"), "not_found")
    other = new_app(client, "Other")
    llmops_data(client.post(f"/apps/{other}/debug", json={"query": "hi"}))
    assert llmops_error(client.post(f"/apps/{other}/messages/{first['id']}/delete"), "not_found")  # not its message
    assert llmops_error(client.get(f"/apps/{app}/messages", params={"page_size": 21}), "validate_error")
    assert llmops_error(client.post(f"/apps/{app}/debug", json={"query": " "}), "validate_error").startswith("query")


def test_debug_streams_the_steps_when_asked(client, llm, dataset):
    app = new_app(client)
    llmops_data(client.put(f"/apps/{app}/config", json={"datasets": [dataset], "tools": [
        {"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator", "params": {}}]}))
    resp = client.post(f"/apps/{app}/debug", json={"query": "What is 6 * 7?", "stream": True})
    assert resp.headers["content-type"].startswith("text/event-stream")
    frames = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in resp.text.strip().split("\n\n")]
    names = [name for name, _ in frames]
    assert "agent_action" in names and "agent_message" in names and names[-1] == "agent_end"
    calc = next(d for n, d in frames if n == "agent_action" and d["tool"] == "calculator" and d["tool_input"])
    assert calc["tool_input"] == {"expression": "6 * 7"}
    end = frames[-1][1]
    assert "Tool result: 42" in end["answer"] and end["conversation_id"] and end["message_id"]
    assert "".join(d["answer"] for n, d in frames if n == "agent_message") == end["answer"]
    assert llmops_data(client.get(f"/apps/{app}/messages"))["list"][0]["id"] == end["message_id"]


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_long_term_memory_of_the_debug_conversation(client, llm, prefix):
    app = new_app(client)
    url = f"{prefix}/apps/{app}/long-term-memory"
    assert "long-term memory" in llmops_error(client.get(url), "fail")  # not enabled: LLMOps' error
    assert llmops_error(client.post(url, json={"summary": "x"}), "fail")
    llmops_data(client.put(f"/apps/{app}/config", json={"long_term_memory": {"enable": True}}))
    assert llmops_data(client.get(url))["summary"] == ""
    llmops_data(client.post(f"/apps/{app}/debug", json={"query": "My name is Ada."}))
    assert "Ada" in llmops_data(client.get(url))["summary"]  # the model folded the exchange into memory
    resp = client.post(url, json={"summary": "这是一个长记忆的总结信息"})
    assert resp.json() == {"code": "success", "data": {}, "message": "更新AI应用长记忆成功"}
    assert llmops_data(client.get(f"/apps/{app}/long-term-memory"))["summary"] == "这是一个长记忆的总结信息"
    assert llmops_data(client.get(f"/api/apps/{app}/long-term-memory"))["summary"] == "这是一个长记忆的总结信息"
    assert llmops_error(client.post(url, json={}), "validate_error").startswith("summary")


def test_publishing_freezes_the_draft_and_the_app_answers_over_openai(client, svc, llm, dataset):
    app = new_app(client)
    llmops_data(client.put(f"/apps/{app}/config", json={"datasets": [dataset], "preset_prompt": "Version one",
                                                        "opening_questions": ["q1"]}))
    completion = {"model": app, "messages": [{"role": "user", "content": "How many vacation days?"}]}
    assert client.post("/v1/chat/completions", json=completion).status_code >= 400  # not published yet
    resp = client.post(f"/apps/{app}/publish")
    assert resp.json()["code"] == "success"
    llmops_data(client.put(f"/apps/{app}/config", json={"preset_prompt": "Version two", "opening_questions": []}))
    got = llmops_data(client.get(f"/apps/{app}"))
    assert got["status"] == "published" and got["published_app_config"]["status"] == "published"
    assert got["published_app_config"]["preset_prompt"] == "Version one"
    assert got["published_app_config"]["opening_questions"] == ["q1"]
    assert got["drafted_app_config"]["preset_prompt"] == "Version two"
    assert got["published_app_config_id"] == got["published_app_config"]["id"] != got["drafted_app_config_id"]

    answer = client.post("/v1/chat/completions", json=completion).json()
    assert answer["choices"][0]["message"]["content"].startswith("Mock answer about: How many vacation days?")
    assert svc.chat.list_sessions("default", assistant_id=app, channel="published").total == 1
    llmops_data(client.post(f"/apps/{app}/cancel-publish"))
    assert llmops_data(client.get(f"/apps/{app}"))["published_app_config"] is None
    assert client.post("/v1/chat/completions", json=completion).status_code >= 400
