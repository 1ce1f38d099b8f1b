"""AgentChat's agent routes: create / list / update / delete / search; live agents (a save publishes); tools,
MCP servers, knowledge, memory and the LLM map onto the core agent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import agentchat_data as data

MCP_SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_server.py"
SPEC_AGENT = {"name": "我的助手", "description": "一个智能助手", "tool_ids": [], "llm_id": "", "knowledge_ids": [],
              "enable_memory": True, "system_prompt": "你是一个有用的助手", "logo_url": ""}  # the spec's curl, own LLM


@pytest.fixture
def alice(sign_up):
    return sign_up("alice")


def test_create_as_the_spec_shows_lists_and_is_published(alice, svc):
    created = data(alice.post("/api/v1/agent", json=SPEC_AGENT))
    assert created["agent_id"] == created["id"] and created["name"] == "我的助手"
    assert (created["system_prompt"], created["enable_memory"], created["tool_ids"]) == ("你是一个有用的助手", True, [])
    assert data(alice.get("/api/v1/agent")) == [created]
    core = svc.assistants.get(alice.workspace, created["id"], kind="agent")
    assert core.published is not None and not core.draft_changed  # live: published at once
    assert core.strategy.memory_mode == "long_term_memory" and core.prompt.opener == ""


def test_fields_round_trip_through_the_core(alice, svc):
    kb = data(alice.post("/api/v1/knowledge/create", json={"knowledge_name": "Handbook"}))
    own = data(alice.post("/api/v1/tool/create", json={"zh_name": "天气", "en_name": "weather",
                                                        "description": "Weather", "logo_url": ""}))
    llm = svc.models.create(alice.workspace, type="llm", provider="openai", name="mine", model="m",
                            base_url="http://127.0.0.1:9/v1")
    agent = data(alice.post("/api/v1/agent", json={
        **SPEC_AGENT, "name": "Planner", "tool_ids": ["calculator", own["tool_id"]], "knowledge_ids": [kb["id"]],
        "llm_id": llm.id, "enable_memory": False, "logo_url": "https://cdn.example/p.png"}))
    assert agent["tool_ids"] == ["calculator", own["tool_id"]] and agent["knowledge_ids"] == [kb["id"]]
    assert (agent["llm_id"], agent["enable_memory"], agent["logo_url"]) == (llm.id, False, "https://cdn.example/p.png")
    core = svc.assistants.get(alice.workspace, agent["id"])
    assert core.kb_ids == [kb["id"]] and core.llm.model_id == llm.id and core.strategy.memory_mode == "none"
    assert core.tools == [{"type": "builtin", "provider": "calculator", "tool": "calculator", "params": {}},
                          {"type": "api", "provider": own["tool_id"], "tool": "*", "params": {}}]


def test_update_changes_only_what_is_sent_and_republishes(alice, svc):
    agent = data(alice.post("/api/v1/agent", json={**SPEC_AGENT, "tool_ids": ["calculator"]}))
    updated = data(alice.put("/api/v1/agent", json={"agent_id": agent["id"], "name": "Renamed",
                                                     "use_embedding": False}))
    assert updated["name"] == "Renamed" and updated["enable_memory"] is False
    assert updated["tool_ids"] == ["calculator"] and updated["system_prompt"] == "你是一个有用的助手"
    updated = data(alice.put("/api/v1/agent", json={"agent_id": agent["id"], "tool_ids": ["current_time"],
                                                     "system_prompt": "Be brief."}))
    assert updated["tool_ids"] == ["current_time"] and updated["system_prompt"] == "Be brief."
    core = svc.assistants.get(alice.workspace, agent["id"])
    assert core.published["prompt"]["system"] == "Be brief." and not core.draft_changed


def test_mcp_servers_bind_by_id(alice, svc, monkeypatch):
    monkeypatch.setattr(svc.settings, "allow_mcp_stdio", True)
    server = svc.tools.create_mcp_server(alice.workspace, "Adder", transport="stdio", command=sys.executable,
                                         args=[str(MCP_SERVER), "stdio"])
    agent = data(alice.post("/api/v1/agent", json={**SPEC_AGENT, "mcp_ids": [server.id]}))
    assert agent["mcp_ids"] == [server.id] and agent["tool_ids"] == []
    assert "Unknown tool provider" in data(alice.put("/api/v1/agent", json={"agent_id": agent["id"],
                                                                              "tool_ids": [server.id]}), 400)


@pytest.mark.parametrize(("change", "status", "problem"), [
    ({"llm_id": "gpt-4"}, 404, "LLM 'gpt-4' not found"),
    ({"tool_ids": ["no-such-tool"]}, 400, "Unknown tool provider 'no-such-tool'"),
    ({"knowledge_ids": ["nope"]}, 404, "Knowledge base 'nope' not found"),
    ({"agent_skill_ids": ["s1"]}, 400, "agent skills are not supported"),
    ({"name": ""}, 400, "must not be empty"),
    ({"tool_ids": "calculator"}, 400, "tool_ids"),
])
def test_bad_agents_are_refused_and_change_nothing(alice, change, status, problem):
    assert problem in data(alice.post("/api/v1/agent", json={**SPEC_AGENT, **change}), status)
    assert data(alice.get("/api/v1/agent")) == []


def test_names_are_unique_and_search_matches_part_of_a_name(alice):
    data(alice.post("/api/v1/agent", json={**SPEC_AGENT, "name": "Travel planner"}))
    data(alice.post("/api/v1/agent", json={**SPEC_AGENT, "name": "Budget helper"}))
    assert "already exists" in data(alice.post("/api/v1/agent", json={**SPEC_AGENT, "name": "travel PLANNER"}), 400)
    assert [a["name"] for a in data(alice.post("/api/v1/agent/search", json={"name": "PLAN"}))] == ["Travel planner"]
    assert data(alice.post("/api/v1/agent/search", json={"name": "zzz"})) == []
    assert "give part of an agent's name" in data(alice.post("/api/v1/agent/search", json={"name": " "}), 400)


def test_delete_takes_the_dialogs_along(alice, svc):
    agent = data(alice.post("/api/v1/agent", json=SPEC_AGENT))
    dialog = data(alice.post("/api/v1/dialog", json={"agent_id": agent["id"], "name": "Chat"}))
    assert data(alice.request("DELETE", "/api/v1/agent", json={"agent_id": agent["id"]})) is None
    assert data(alice.get("/api/v1/agent")) == [] and data(alice.get("/api/v1/dialog/list")) == []
    assert "not found" in data(alice.get("/api/v1/history", params={"dialog_id": dialog["dialog_id"]}), 404)
    assert "not found" in data(alice.request("DELETE", "/api/v1/agent", json={"agent_id": agent["id"]}), 404)


def test_a_chat_assistant_is_not_an_agent_here(alice, svc):
    chat = svc.assistants.create(alice.workspace, "Plain chat")
    assert "Agent" in data(alice.request("DELETE", "/api/v1/agent", json={"agent_id": chat.id}), 404)
    assert "Agent" in data(alice.put("/api/v1/agent", json={"agent_id": chat.id, "name": "x"}), 404)
    assert svc.assistants.get(alice.workspace, chat.id).name == "Plain chat"
