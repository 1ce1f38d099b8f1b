"""RAGFlow dialect: agents (list with dsl), agent sessions and completions; ragflow-sdk against a live server."""

from __future__ import annotations

import itertools
import json

import pytest
from ragflow_sdk import RAGFlow

from core.calibration import DEFAULT_THRESHOLD
from core.config import Settings
from core.container import build_services
from core.tenants import DEFAULT_TENANT_ID as T
from tests.conftest import ingest
from tests.helpers import free_port, start_server, stop_process
from tests.mock_llm import MockOpenAIServer, Reply

DOCS = [("cats.txt", b"Cats purr when they are content and sleep sixteen hours a day."),
        ("dogs.txt", b"Dogs bark at strangers and love long walks in the park.")]



@pytest.fixture
def kb(svc):
    # The mock embedder's hashed bags of words are a weak semantic signal: kb_search leans on keywords here.
    kb = svc.knowledge.create(T, "Pets", retrieval_config={"vector_weight": 0.3})
    ingest(svc, T, kb.id, DOCS)
    return kb



@pytest.fixture
def agent(svc, kb, llm):
    a = svc.assistants.create(T, "Pet helper", kind="agent", kb_ids=[kb.id], tools=["calculator"],
                              prompt={"system": "You help with pets.", "opener": "Woof! Ask me about pets."})
    return svc.assistants.publish(T, a.id)


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def frames(res) -> list:
    return [json.loads(line[len("data:"):]) for line in res.text.splitlines() if line.startswith("data:")]


# ------------------------------------------------------------------ list with dsl
def test_list_agents_describes_the_published_configuration(client, svc, agent, kb):
    svc.assistants.create(T, "A chat", kind="chat")  # chat assistants are not agents
    res = client.get("/api/v1/agents").json()
    assert res["code"] == 0 and [a["id"] for a in res["data"]] == [agent.id]
    view = res["data"][0]
    assert view["title"] == "Pet helper" and view["create_date"].endswith("GMT") and view["user_id"] == T
    comps = view["dsl"]["components"]
    assert comps["begin"]["obj"] == {"component_name": "Begin", "params": {
        "prologue": "Woof! Ask me about pets.", "mode": "conversational", "inputs": {}}}
    assert comps["begin"]["downstream"] == ["Agent:Main"] and comps["Answer:Main"]["upstream"] == ["Agent:Main"]
    params = comps["Agent:Main"]["obj"]["params"]
    assert params["llm_id"] == "mock" and params["sys_prompt"] == "You help with pets."
    assert params["temperature"] == 0.1 and params["max_rounds"] == 6 and params["cite"] is True
    retrieval, calculator = params["tools"]
    assert retrieval["component_name"] == "Retrieval" and retrieval["params"]["kb_ids"] == [kb.id]
    assert retrieval["params"]["similarity_threshold"] == DEFAULT_THRESHOLD
    assert (calculator["component_name"], calculator["type"]) == ("calculator", "builtin")
    graph = view["dsl"]["graph"]
    assert [n["id"] for n in graph["nodes"]] == ["begin", "Agent:Main", "Answer:Main"]
    assert [(e["source"], e["target"]) for e in graph["edges"]] == [("begin", "Agent:Main"),
                                                                    ("Agent:Main", "Answer:Main")]
    # A draft edit is not what sessions run: the dsl changes when it is published.
    svc.assistants.update(T, agent.id, prompt={"system": "You are a vet."}, tools=[])
    params = client.get("/api/v1/agents").json()["data"][0]["dsl"]["components"]["Agent:Main"]["obj"]["params"]
    assert params["sys_prompt"] == "You help with pets." and len(params["tools"]) == 2
    svc.assistants.publish(T, agent.id)
    params = client.get("/api/v1/agents").json()["data"][0]["dsl"]["components"]["Agent:Main"]["obj"]["params"]
    assert params["sys_prompt"] == "You are a vet." and [t["component_name"] for t in params["tools"]] == ["Retrieval"]


def test_update_an_agent_and_its_sharing(client, svc, agent, other_client):
    (listed,) = client.get("/api/v1/agents").json()["data"]
    assert (listed["shared"], listed["access_token"]) == (False, "")  # private until shared
    res = client.put(f"/api/v1/agents/{agent.id}", json={"title": "Pet expert", "shared": True,
                                                          "require_token": True}).json()
    assert res["code"] == 0 and res["data"]["title"] == "Pet expert" and res["data"]["shared"] is True
    token = res["data"]["access_token"]
    assert token and svc.assistants.get_public(agent.id, token).name == "Pet expert"
    res = client.put(f"/api/v1/agents/{agent.id}", json={"require_token": False}).json()
    assert (res["data"]["shared"], res["data"]["access_token"]) == (True, "")
    for body, who in (({"dsl": {}}, client), ({"title": " "}, client), ({"shared": False}, other_client)):
        assert who.put(f"/api/v1/agents/{agent.id}", json=body).json()["code"] != 0
    assert svc.assistants.get(T, agent.id).shared is True  # none of those changed it


def test_list_agents_filters_paging_and_errors(client, svc, agent, other_client):
    second = svc.assistants.create(T, "Second", kind="agent")  # never published: listed, its draft described
    assert [a["id"] for a in client.get("/api/v1/agents", params={"desc": "false"}).json()["data"]] == [
        agent.id, second.id]
    assert [a["id"] for a in client.get("/api/v1/agents", params={"page": 2, "page_size": 1}).json()["data"]] == [
        agent.id]
    assert [a["id"] for a in client.get("/api/v1/agents", params={"title": "pet HELPER"}).json()["data"]] == [agent.id]
    assert [a["id"] for a in client.get("/api/v1/agents", params={"name": "second"}).json()["data"]] == [second.id]
    assert [a["id"] for a in client.get("/api/v1/agents", params={"id": second.id}).json()["data"]] == [second.id]
    assert client.get("/api/v1/agents", params={"id": "nope"}).json() == {"code": 102,
                                                                         "message": "The agent doesn't exist."}
    assert client.get("/api/v1/agents", params={"orderby": "name"}).json()["code"] == 101
    assert other_client.get("/api/v1/agents").json() == {"code": 0, "data": []}
    assert other_client.get("/api/v1/agents", params={"id": agent.id}).json()["code"] == 102
    assert client.get("/api/v1/agents", headers={"Authorization": "Bearer wrong"}).json()["code"] == 109


# ------------------------------------------------------------------ sessions
def test_agent_sessions(client, svc, agent, other_client):
    url = f"/api/v1/agents/{agent.id}/sessions"
    res = client.post(url, json={}).json()
    assert res["code"] == 0
    s = res["data"]
    assert s["agent_id"] == agent.id and s["source"] == "agent" and "Agent:Main" in s["dsl"]["components"]
    assert [(m["role"], m["content"]) for m in s["message"]] == [("assistant", "Woof! Ask me about pets.")]
    assert svc.chat.get_session(T, s["id"]).assistant_id == agent.id
    second = client.post(url).json()["data"]
    listed = client.get(url).json()["data"]
    assert {x["id"] for x in listed} == {s["id"], second["id"]}
    assert [x["id"] for x in client.get(url, params={"id": s["id"]}).json()["data"]] == [s["id"]]
    assert len(client.get(url, params={"page_size": 1}).json()["data"]) == 1
    assert client.get(url, params={"id": "nope"}).json()["code"] == 102
    assert client.get(url, params={"orderby": "title"}).json()["code"] == 101
    svc.chat.debug_session(T, agent.id)  # the draft's debug chat is not an API session
    assert len(client.get(url).json()["data"]) == 2
    assert other_client.post(url, json={}).json() == {"code": 102, "message": "Agent not found."}
    assert other_client.get(url).json() == {"code": 102, "message": f"You don't own the agent {agent.id}."}
    assert svc.chat.list_sessions(T, assistant_id=agent.id).total == 3


def test_an_unpublished_agent_has_no_sessions(client, svc, llm):
    draft = svc.assistants.create(T, "Draft", kind="agent")
    res = client.post(f"/api/v1/agents/{draft.id}/sessions", json={}).json()
    assert res["code"] == 102 and "not published" in res["message"]
    res = client.post(f"/api/v1/agents/{draft.id}/completions", json={"question": "hi"}).json()
    assert res["code"] == 102 and "not published" in res["message"]
    assert svc.chat.list_sessions(T, assistant_id=draft.id).total == 0


# ------------------------------------------------------------------ completions
def test_streaming_completion_runs_the_tools(client, svc, agent, llm):
    sid = client.post(f"/api/v1/agents/{agent.id}/sessions", json={}).json()["data"]["id"]
    llm.script([Reply(text="", tool_calls=[call("kb_search", query="how long do cats sleep")]),
                Reply(text="", tool_calls=[call("calculator", expression="16 * 7")]),
                Reply(text="Cats sleep sixteen hours a day [1], so 112 hours a week.")])
    res = client.post(f"/api/v1/agents/{agent.id}/completions",
                      json={"question": "How long do cats sleep a week?", "stream": True, "session_id": sid})
    assert res.headers["content-type"].startswith("text/event-stream")
    got = frames(res)
    assert got[-1] == {"code": 0, "message": "", "data": True}
    messages = [f for f in got if f.get("event") == "message"]
    answers = [f["data"]["answer"] for f in messages]
    assert len(answers) >= 2 and all(b.startswith(a) for a, b in itertools.pairwise(answers))
    assert "".join(f["data"]["content"] for f in messages) == answers[-1]  # the sdk's deltas add up
    end = got[-2]
    assert end["event"] == "message_end" and end["data"]["session_id"] == sid
    assert end["data"]["answer"] == "Cats sleep sixteen hours a day [1], so 112 hours a week."
    ref = end["data"]["reference"]
    assert ref["chunks"][0]["document_name"] == "cats.txt" and ref["doc_aggs"][0]["doc_name"] == "cats.txt"
    assert "node_finished" not in {f.get("event") for f in got}
    history = client.get(f"/api/v1/agents/{agent.id}/sessions", params={"id": sid}).json()["data"][0]["message"]
    assert [m["role"] for m in history] == ["assistant", "user", "assistant"]
    assert history[-1]["content"] == end["data"]["answer"] and history[-1]["reference"][0]["document_id"]
    assert svc.chat.get_message(T, end["data"]["id"]).trace[2]["name"] == "calculator"


def test_return_trace_streams_the_tool_steps(client, agent, llm):
    llm.script([Reply(text="", tool_calls=[call("calculator", expression="6*7")]), Reply(text="It is 42.")])
    got = frames(client.post(f"/api/v1/agents/{agent.id}/completions",
                             json={"question": "6 times 7?", "return_trace": True}))
    (step,) = [f for f in got if f.get("event") == "node_finished"]
    assert step["data"]["trace"][0]["name"] == "calculator" and "42" in step["data"]["trace"][0]["content"]
    end = next(f for f in got if f.get("event") == "message_end")
    assert [t["type"] for t in end["data"]["trace"]] == ["tool_call", "tool_result"]


def test_non_streaming_completion_opens_a_session(client, svc, agent, llm):
    url = f"/api/v1/agents/{agent.id}/completions"
    llm.script([Reply(text="", tool_calls=[call("kb_search", query="dogs")]), Reply(text="Dogs bark [1].")])
    res = client.post(url, json={"question": "What do dogs do?", "stream": False}).json()
    assert res["code"] == 0
    data = res["data"]
    assert data["answer"] == "Dogs bark [1]." and data["data"]["content"] == "Dogs bark [1]."  # both shapes
    assert data["reference"]["chunks"][0]["document_name"] == "dogs.txt"
    assert [s.id for s in svc.chat.list_sessions(T, assistant_id=agent.id).items] == [data["session_id"]]
    opener = frames(client.post(url, json={}))  # no question, no session: a new session and its opener
    assert opener[0]["data"]["answer"] == "Woof! Ask me about pets." and opener[-1]["data"] is True
    assert client.post(url, json={"session_id": data["session_id"]}).json() == {
        "code": 102, "message": "`question` is required."}
    assert client.post(url, json={"question": "x", "session_id": "nope"}).json()["code"] == 102


def test_completion_errors_and_isolation(client, svc, agent, llm, other_client):
    chat = svc.assistants.create(T, "Chat", kind="chat")
    chat_session = svc.chat.create_session(T, assistant_id=chat.id).id
    url = f"/api/v1/agents/{agent.id}/completions"
    assert client.post(url, json={"question": "x", "session_id": chat_session}).json()["code"] == 102
    assert client.post(f"/api/v1/agents/{chat.id}/completions", json={"question": "x"}).json()["code"] == 102
    assert other_client.post(url, json={"question": "x"}).json()["code"] == 102
    assert client.post(url, json={"question": "x", "stream": "maybe"}).json()["code"] == 101
    llm.script([Reply(status=500, error_message="upstream down")])  # the agent quotes its knowledge bases instead
    res = client.post(url, json={"question": "Do cats purr?", "stream": False}).json()
    assert res["code"] == 0 and res["data"]["answer"].startswith("The language model could not be reached")
    assert svc.chat.list_sessions(T, assistant_id=agent.id).total == 1  # the session asked in


# ------------------------------------------------------------------ ragflow-sdk, live
KEY = "almanac-agents-sdk-key"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A server whose data dir already holds a published agent over a knowledge base, its LLM a mock server."""
    data = tmp_path_factory.mktemp("agents") / "data"
    with MockOpenAIServer() as mock, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_ADMIN_API_KEY", KEY)
        mp.setenv("ALMANAC_EMBEDDING_MODEL", "mock:words-64")
        setup = build_services(Settings(data_dir=data, ingest_workers=0))
        kb = setup.knowledge.create(T, "Pets")
        ingest(setup, T, kb.id, DOCS)
        setup.models.create(T, type="llm", provider="openai", name="mock", model="mock-model",
                            base_url=mock.base_url, params={"timeout": 5, "max_retries": 0}, is_default=True)
        a = setup.assistants.create(T, "SDK agent", kind="agent", kb_ids=[kb.id], tools=["calculator"])
        setup.assistants.publish(T, a.id)
        setup.close()
        port = free_port()
        proc = start_server(data, port)
        try:
            yield f"http://127.0.0.1:{port}", mock
        finally:
            stop_process(proc)


def test_sdk_lists_agents_and_asks_a_session(live):
    server, mock = live
    rag = RAGFlow(api_key=KEY, base_url=server)
    (agent,) = rag.list_agents(title="SDK agent")
    assert agent.dsl.components.begin.obj.component_name == "Begin"
    session = agent.create_session()
    assert session.messages[0]["role"] == "assistant" and session.agent_id == agent.id
    mock.script([Reply(text="", tool_calls=[call("calculator", expression="16*7")]),
                 Reply(text="Cats sleep 112 hours a week.")])
    streamed = list(session.ask("How long do cats sleep a week?", stream=True))
    assert "".join(m.content for m in streamed) == "Cats sleep 112 hours a week."
    mock.script([Reply(text="", tool_calls=[call("kb_search", query="dogs")]), Reply(text="Dogs bark [1].")])
    (whole,) = list(session.ask("What do dogs do?", stream=False))
    assert whole.content == "Dogs bark [1]." and whole.reference[0]["document_name"] == "dogs.txt"
    (listed,) = agent.list_sessions(id=session.id)
    assert len(listed.messages) == 5
    with pytest.raises(Exception, match="doesn't exist"):
        rag.list_agents(title="nope")
