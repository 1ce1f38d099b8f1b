"""Agents through the core: scripted tool calls from a real OpenAI-protocol server, drafts and publishing,
memory, ReAct fallback, tool errors and limits."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from core.agents import LAST_STEP
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.prompting import NO_MODEL_NOTE, NOTES
from storage.orm import Message
from tests.conftest import ingest
from tests.mock_llm import Reply

DOCS = [("cats.txt", b"Cats purr when they are content and sleep sixteen hours a day."),
        ("dogs.txt", b"Dogs bark at strangers and love long walks in the park.")]



@pytest.fixture
def kb(svc, tenant):
    # The mock embedder's hashed bags of words are a weak semantic signal: kb_search leans on keywords here.
    kb = svc.knowledge.create(tenant, "Pets", retrieval_config={"vector_weight": 0.3})
    ingest(svc, tenant, kb.id, DOCS)
    return kb



def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def published_session(svc, tenant, agent_id: str) -> str:
    return svc.chat.create_session(tenant, assistant_id=agent_id).id


class Weather(BaseHTTPRequestHandler):
    """The API behind an OpenAPI tool: records what it was sent."""

    seen: list[dict] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Weather.seen.append({"path": self.path, "key": self.headers.get("X-Key")})
        body = json.dumps({"city": self.path.split("city=")[-1], "temperature_c": 21}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def weather_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Weather)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Weather.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def weather_schema(server: str) -> str:
    return json.dumps({"description": "Weather", "server": server, "paths": {"/weather": {"get": {
        "description": "Current weather of a city", "operationId": "GetWeather",
        "parameters": [{"name": "city", "in": "query", "description": "City name", "required": True,
                        "type": "str"}]}}}})


# ------------------------------------------------------------------------------ the loop
def test_agent_searches_the_kb_calculates_and_cites(svc, tenant, kb, llm):
    agent = svc.assistants.create(tenant, "Pet helper", kind="agent", kb_ids=[kb.id], tools=["calculator"])
    svc.assistants.publish(tenant, agent.id)
    llm.script([Reply(text="", tool_calls=[call("kb_search", query="how long do cats sleep")]),
                Reply(text="", tool_calls=[call("calculator", expression="16 * 7")]),
                Reply(text="Cats sleep sixteen hours a day [1], so 112 hours a week.")])
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "How long do cats sleep a week?"))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["tool_call", "tool_result", "references", "tool_call"] and kinds[-1] == "done"
    assert events[0].data["name"] == "kb_search" and events[0].data["arguments"] == {"query": "how long do cats sleep"}
    refs = events[1].data["references"]
    assert refs[0]["index"] == 1 and refs[0]["document_name"] == "cats.txt"
    calc = next(e for e in events if e.type == "tool_result" and e.data["name"] == "calculator")
    assert "112" in calc.data["content"] and not calc.data["is_error"]
    done = events[-1].data
    assert done["cited"] == [1] and done["mode"] == "agent" and "112 hours" in done["content"]
    assert [t["type"] for t in done["trace"]] == ["tool_call", "tool_result", "tool_call", "tool_result"]
    # The model saw the tools, the numbered passage, and the calculator's answer.
    first, second, third = llm.chat_requests
    assert {t["function"]["name"] for t in first["body"]["tools"]} == {"kb_search", "calculator"}
    assert "cite its number" in first["body"]["messages"][0]["content"]
    tool_msgs = [m for m in third["body"]["messages"] if m["role"] == "tool"]
    assert tool_msgs[0]["content"].startswith("[1] cats.txt") and "112" in tool_msgs[1]["content"]
    saved = svc.chat.get_message(tenant, done["message_id"])
    assert saved.trace == done["trace"] and saved.references[0]["chunk_id"] == refs[0]["chunk_id"]


def test_an_openapi_tool_reaches_its_server_with_the_provider_headers(svc, tenant, llm, weather_api):
    svc.settings.allow_private_urls = True  # the test API listens on 127.0.0.1
    provider = svc.tools.create_api_provider(tenant, "Weather", "", weather_schema(weather_api),
                                             [{"key": "X-Key", "value": "secret-123"}])
    agent = svc.assistants.create(tenant, "Forecaster", kind="agent",
                                  tools=[{"type": "api", "provider": provider.id, "tool": "GetWeather"}])
    svc.assistants.publish(tenant, agent.id)
    llm.script([Reply(text="", tool_calls=[call("GetWeather", city="Lyon")]), Reply(text="It is 21 °C in Lyon.")])
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "Weather in Lyon?"))
    assert Weather.seen == [{"path": "/weather?city=Lyon", "key": "secret-123"}]
    result = next(e for e in events if e.type == "tool_result")
    assert '"temperature_c": 21' in result.data["content"].replace("'", '"')
    assert events[-1].data["content"] == "It is 21 °C in Lyon."


def test_tool_errors_are_fed_back_to_the_model(svc, tenant, llm):
    agent = svc.assistants.create(tenant, "Calc", kind="agent", tools=["calculator"])
    svc.assistants.publish(tenant, agent.id)
    llm.script([Reply(text="", tool_calls=[call("calculator", expression="1/0"), call("teleport", to="Mars"),
                                           {"name": "calculator", "arguments": "{not json"}]),
                Reply(text="I cannot divide by zero.")])
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "1/0?"))
    results = [e.data for e in events if e.type == "tool_result"]
    assert [r["is_error"] for r in results] == [True, True, True]
    assert "zero" in results[0]["content"] and "no tool named 'teleport'" in results[1]["content"]
    assert "not valid JSON" in results[2]["content"]
    fed = [m["content"] for m in llm.chat_requests[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(fed) == 3 and all(c.startswith("Error:") for c in fed)
    assert events[-1].type == "done"


def test_max_steps_forces_an_answer_without_tools(svc, tenant, llm):
    agent = svc.assistants.create(tenant, "Loopy", kind="agent", tools=["calculator"], strategy={"max_steps": 2})
    svc.assistants.publish(tenant, agent.id)
    llm.script([Reply(text="", tool_calls=[call("calculator", expression="1+1")])] * 2 + [Reply(text="Two.")])
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "1+1, twice"))
    requests = llm.chat_requests
    assert len(requests) == 3 and "tools" not in requests[2]["body"]
    assert requests[2]["body"]["messages"][-1]["content"] == LAST_STEP
    assert events[-1].data["content"] == "Two."


def test_react_fallback_when_the_server_refuses_tools(svc, tenant, llm):
    agent = svc.assistants.create(tenant, "Old model", kind="agent", tools=["calculator"])
    svc.assistants.publish(tenant, agent.id)
    llm.script([Reply(status=400, error_message="This model does not support tools"),
                Reply(text='Thought: I should compute.\nAction: calculator\nAction Input: {"expression": "6*7"}'),
                Reply(text="Thought: I can answer now\nFinal Answer: The answer is 42.")])
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "What is 6 times 7?"))
    result = next(e for e in events if e.type == "tool_result")
    assert "42" in result.data["content"]
    assert events[-1].type == "done" and events[-1].data["content"] == "The answer is 42."
    react = llm.chat_requests[1]["body"]
    assert "tools" not in react and "Action Input:" in react["messages"][0]["content"]


def test_without_an_llm_the_agent_quotes_its_knowledge_bases(svc, tenant, kb):
    """A visitor gets what an assistant without a model gives (the passages), never instructions for the admin."""
    agent = svc.assistants.create(tenant, "Idle", kind="agent", kb_ids=[kb.id])
    svc.assistants.publish(tenant, agent.id)
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "How long do cats sleep?"))
    done = events[-1].data
    assert events[-1].type == "done" and done["mode"] == "retrieval_only"
    assert done["content"].startswith(NO_MODEL_NOTE) and "[1] cats.txt: Cats purr" in done["content"]
    assert done["references"][0]["document_name"] == "cats.txt"
    assert "Models page" not in done["content"] and "OPENAI_API_KEY" not in done["content"]
    bare = svc.assistants.create(tenant, "Bare", kind="agent")
    svc.assistants.publish(tenant, bare.id)
    done = list(svc.chat.answer(tenant, published_session(svc, tenant, bare.id), "你好？"))[-1].data
    assert done["content"] == NOTES["zh"]["nothing_to_quote"]  # in the visitor's language


def test_an_unreachable_model_falls_back_to_the_passages(svc, tenant, kb):
    model = svc.models.create(tenant, type="llm", provider="openai", name="Down", model="m", is_default=True,
                              base_url="http://127.0.0.1:1/v1", params={"timeout": 2, "max_retries": 0})
    agent = svc.assistants.create(tenant, "Pets", kind="agent", kb_ids=[kb.id])
    svc.assistants.publish(tenant, agent.id)
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id), "How long do cats sleep?"))
    assert [e.type for e in events][-2:] == ["delta", "done"]  # no error event: the visitor got an answer
    done = events[-1].data
    assert done["mode"] == "fallback" and done["content"].startswith(NOTES["en"]["model_failed"])
    assert "[1] cats.txt" in done["content"] and done["references"][0]["document_name"] == "cats.txt"
    message = svc.chat.get_message(tenant, done["message_id"])
    assert message.completed and "connect" in message.error.lower()  # the error, for the admin
    assert svc.models.get(tenant, model.id).status == "error"


# ------------------------------------------------------------------------------ drafts and publishing
def test_drafts_change_nothing_until_published(svc, tenant, llm):
    agent = svc.assistants.create(tenant, "Pirate", kind="agent", prompt={"system": "You are polite."})
    assert agent.published is None and agent.draft_changed
    with pytest.raises(Conflict, match="not published"):
        svc.chat.create_session(tenant, assistant_id=agent.id)
    svc.assistants.set_access(tenant, agent.id, shared=True)
    with pytest.raises(NotFound):
        svc.assistants.get_public(agent.id)
    svc.assistants.publish(tenant, agent.id)
    live = published_session(svc, tenant, agent.id)
    edited = svc.assistants.update(tenant, agent.id, prompt={"system": "You talk like a pirate."})
    assert edited.draft_changed and edited.published["prompt"]["system"] == "You are polite."

    def system_prompt_of(conversation_id: str) -> str:
        list(svc.chat.answer(tenant, conversation_id, "Hi"))
        return llm.chat_requests[-1]["body"]["messages"][0]["content"]

    assert "polite" in system_prompt_of(live)  # the published session ignores the draft
    assert "pirate" in system_prompt_of(svc.chat.debug_session(tenant, agent.id).id)  # debug runs the draft
    assert not svc.assistants.publish(tenant, agent.id).draft_changed
    assert "pirate" in system_prompt_of(live)
    assert svc.assistants.get_public(agent.id).published["prompt"]["system"] == "You talk like a pirate."


def test_chat_assistants_are_live_and_tools_are_checked(svc, tenant):
    chat = svc.assistants.create(tenant, "Plain")
    assert chat.published is not None and not chat.draft_changed
    svc.assistants.set_access(tenant, chat.id, shared=True)
    assert svc.assistants.get_public(chat.id).id == chat.id
    with pytest.raises(InvalidInput, match="nope"):
        svc.assistants.create(tenant, "Bad tools", kind="agent", tools=["nope"])
    with pytest.raises(InvalidInput):
        svc.assistants.create(tenant, "Bad tools", kind="agent", tools="calculator")
    with pytest.raises(NotFound):
        svc.assistants.get_public("0" * 32)
    opened = svc.assistants.set_access(tenant, chat.id, require_token=True)
    assert len(opened.access_token) >= 20
    assert svc.assistants.set_access(tenant, chat.id, require_token=False).access_token == ""


def test_assistants_and_agents_are_private_until_shared(svc, tenant):
    chat = svc.assistants.create(tenant, "Helper")
    agent = svc.assistants.publish(tenant, svc.assistants.create(tenant, "Planner", kind="agent").id)
    for a in (chat, agent):
        assert not a.shared and not svc.assistants.get(tenant, a.id).shared
        with pytest.raises(NotFound):
            svc.assistants.get_public(a.id)
        shared = svc.assistants.set_access(tenant, a.id, shared=True)
        assert shared.shared and shared.access_token == ""  # the token switch is separate
        assert svc.assistants.get_public(a.id).id == a.id
    locked = svc.assistants.set_access(tenant, chat.id, require_token=True)
    assert locked.shared  # None keeps the other setting
    assert svc.assistants.get_public(chat.id, locked.access_token).id == chat.id
    for token in ("", "wrong", locked.access_token.upper()):
        with pytest.raises(Forbidden):
            svc.assistants.get_public(chat.id, token)
    private = svc.assistants.set_access(tenant, chat.id, shared=False)
    assert not private.shared and private.access_token == locked.access_token  # kept for when it is shared again
    with pytest.raises(NotFound):
        svc.assistants.get_public(chat.id, locked.access_token)
    other = svc.tenants.create_tenant("other")
    with pytest.raises(NotFound):
        svc.assistants.set_access(other, agent.id, shared=False)
    assert svc.assistants.get(tenant, agent.id).shared


def test_debug_messages_are_soft_deleted_and_memory_is_kept(svc, tenant, llm):
    agent = svc.assistants.create(tenant, "Memo", kind="agent", strategy={"memory_mode": "long_term_memory"})
    debug = svc.chat.debug_session(tenant, agent.id)
    assert debug.channel == "debug" and svc.chat.debug_session(tenant, agent.id).id == debug.id
    llm.script([Reply(text="Nice to meet you, Ada."), Reply(text="- The user's name is Ada.")])
    list(svc.chat.answer(tenant, debug.id, "My name is Ada."))
    assert svc.chat.get_session(tenant, debug.id).summary == "- The user's name is Ada."
    list(svc.chat.answer(tenant, debug.id, "What is my name?"))
    assert "The user's name is Ada." in llm.chat_requests[2]["body"]["messages"][0]["content"]
    assert svc.chat.set_memory(tenant, debug.id, "Prefers French.").summary == "Prefers French."
    answer = svc.chat.list_messages(tenant, debug.id)[-1]
    svc.chat.delete_message(tenant, answer.id)
    assert answer.id not in [m.id for m in svc.chat.list_messages(tenant, debug.id)]
    with pytest.raises(NotFound):
        svc.chat.delete_message(tenant, answer.id)
    with svc.db.session() as s:  # kept for the record
        assert s.scalar(select(Message.deleted_at).where(Message.id == answer.id)) is not None
    fresh = svc.chat.debug_session(tenant, agent.id, new=True)
    assert fresh.id != debug.id and fresh.summary == ""


def test_the_offline_mock_model_decides_to_search_and_calculate(svc, tenant, kb):
    """The built-in mock provider (no server, no key) drives an agent: search and calculator, then a cited answer."""
    svc.models.create(tenant, type="llm", provider="mock", name="offline", model="mock", is_default=True)
    agent = svc.assistants.create(tenant, "Offline", kind="agent", kb_ids=[kb.id], tools=["calculator"])
    svc.assistants.publish(tenant, agent.id)
    events = list(svc.chat.answer(tenant, published_session(svc, tenant, agent.id),
                                  "Cats sleep sixteen hours a day; what is 16 * 7?"))
    assert [e.data["name"] for e in events if e.type == "tool_call"] == ["kb_search", "calculator"]
    done = events[-1].data
    assert done["cited"] == [1] and "112" in done["content"]
