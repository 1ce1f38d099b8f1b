"""Two users cannot see or touch each other's agents, knowledge, tools or dialogs: through AgentChat's API, and
through RAGFlow's API with their own tokens."""

from __future__ import annotations

import pytest

from tests.conftest import ingest
from tests.helpers import agentchat_data as data


def own_things(client, svc, name: str) -> dict:
    kb = data(client.post("/api/v1/knowledge/create", json={"knowledge_name": f"{name}_kb"}))
    ingest(svc, client.workspace, kb["id"], [(f"{name}.txt", f"{name} keeps the secret plan number 4711.".encode())])
    tool = data(client.post("/api/v1/tool/create", json={"zh_name": "工具", "en_name": f"{name}_tool"}))
    agent = data(client.post("/api/v1/agent", json={"name": f"{name}_agent", "description": "", "system_prompt": "",
                                                    "logo_url": "", "knowledge_ids": [kb["id"]],
                                                    "tool_ids": [tool["tool_id"]]}))
    dialog = data(client.post("/api/v1/dialog", json={"agent_id": agent["id"], "name": "d"}))
    return {"kb": kb["id"], "tool": tool["tool_id"], "agent": agent["id"], "dialog": dialog["dialog_id"]}


@pytest.fixture
def pair(sign_up, svc):
    alice, bob = sign_up("alice"), sign_up("bob")
    return alice, bob, own_things(alice, svc, "alice"), own_things(bob, svc, "bob")


def test_lists_show_only_your_own(pair):
    alice, bob, a, b = pair
    assert [k["id"] for k in data(bob.get("/api/v1/knowledge/select"))] == [b["kb"]]
    assert [x["id"] for x in data(bob.get("/api/v1/agent"))] == [b["agent"]]
    assert [t["tool_id"] for t in data(bob.post("/api/v1/tool/own"))] == [b["tool"]]
    assert a["tool"] not in {t["tool_id"] for t in data(bob.get("/api/v1/tool/all"))}
    assert a["tool"] not in {t["tool_id"] for t in data(bob.post("/api/v1/tool/visible"))}
    assert [d["dialog_id"] for d in data(bob.get("/api/v1/dialog/list"))] == [b["dialog"]]
    assert data(bob.post("/api/v1/agent/search", json={"name": "agent"}))[0]["id"] == b["agent"]
    assert len(data(bob.post("/api/v1/agent/search", json={"name": "agent"}))) == 1


def test_anothers_ids_are_not_found_and_nothing_changes(pair, svc):
    alice, bob, a, _ = pair
    delete = bob.request
    assert data(bob.put("/api/v1/agent", json={"agent_id": a["agent"], "name": "mine"}), 404)
    assert data(delete("DELETE", "/api/v1/agent", json={"agent_id": a["agent"]}), 404)
    assert data(bob.put("/api/v1/knowledge/update", json={"knowledge_id": a["kb"], "knowledge_name": "x"}), 404)
    assert data(delete("DELETE", "/api/v1/knowledge/delete", json={"knowledge_id": a["kb"]}), 404)
    assert data(bob.post("/api/v1/knowledge/retrieval", json={"query": "secret plan", "knowledge_id": a["kb"]}), 404)
    assert data(bob.put("/api/v1/tool/update", json={"tool_id": a["tool"], "zh_name": "x"}), 404)
    assert data(delete("DELETE", "/api/v1/tool/delete", json={"tool_id": a["tool"]}), 404)
    assert data(bob.post("/api/v1/dialog", json={"agent_id": a["agent"]}), 404)
    assert data(bob.get("/api/v1/history", params={"dialog_id": a["dialog"]}), 404)
    assert data(bob.post("/api/v1/chat", json={"user_input": "What is the plan?", "dialog_id": a["dialog"]}), 404)
    assert data(delete("DELETE", "/api/v1/dialog", json={"dialog_id": a["dialog"]}), 404)
    # Nor can Bob give his agent Alice's knowledge or tools.
    assert data(bob.post("/api/v1/agent", json={"name": "thief", "knowledge_ids": [a["kb"]]}), 404)
    assert data(bob.post("/api/v1/agent", json={"name": "thief", "tool_ids": [a["tool"]]}), 400)
    # Alice's things are as she left them.
    assert [x["name"] for x in data(alice.get("/api/v1/agent"))] == ["alice_agent"]
    assert [k["name"] for k in data(alice.get("/api/v1/knowledge/select"))] == ["alice_kb"]
    assert [t["en_name"] for t in data(alice.post("/api/v1/tool/own"))] == ["alice_tool"]
    assert [d["dialog_id"] for d in data(alice.get("/api/v1/dialog/list"))] == [a["dialog"]]


def test_ragflows_api_with_a_users_token_stays_in_their_workspace(pair):
    alice, bob, a, b = pair
    datasets = bob.get("/api/v1/datasets").json()
    assert datasets["code"] == 0 and [d["id"] for d in datasets["data"]] == [b["kb"]]
    assert bob.get("/api/v1/datasets", params={"id": a["kb"]}).json()["code"] != 0
    assert bob.get(f"/api/v1/datasets/{a['kb']}/documents").json()["code"] != 0
    hits = bob.post("/api/v1/retrieval", json={"question": "secret plan", "dataset_ids": [a["kb"]]}).json()
    assert hits["code"] != 0
    agents = bob.get("/api/v1/agents").json()
    assert agents["code"] == 0 and [x["id"] for x in agents["data"]] == [b["agent"]]
    assert bob.post(f"/api/v1/agents/{a['agent']}/sessions", json={}).json()["code"] != 0
    assert alice.get("/api/v1/datasets").json()["data"][0]["id"] == a["kb"]
