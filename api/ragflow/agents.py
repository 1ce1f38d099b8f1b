"""RAGFlow agents = Almanac agents (assistants of kind agent): list with a `dsl`, update (title, description,
sharing on the public chat page), sessions and completions. Agents are built and published on the Agents page.

The `dsl` is RAGFlow's canvas shape filled from the configuration API sessions run (the published snapshot;
the draft for an agent never published, which cannot run yet):
  begin (Begin: prologue = opener)
    -> Agent:Main (Agent: llm_id = model name, sys_prompt, sampling settings, max_rounds = max_steps,
                   message_history_window_size = 2 x max_rounds, tool_mode, tool_timeout, memory_mode, cite,
                   tools = [Retrieval over kb_ids when the agent has knowledge bases, then every tool it was given])
    -> Answer:Main (Answer)
Streams carry both RAGFlow's documented frame (the cumulative `answer`) and the event frame ragflow-sdk 0.22
reads (`event` message / message_end, the new text in `data.content`), then `data:{"code":0,"data":true}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import PageParam, PageSizeParam
from api.ragflow.errors import RagflowRoute, data_error
from api.ragflow.views import frames_response, http_date, messages_view, ms, ok, order_field, reference_view
from core.agents import tool_refs
from core.assistants import AssistantInfo, ChatSettings
from core.chat import ChatEvent, ConversationInfo
from core.container import Services
from core.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: agents"], route_class=RagflowRoute)
AGENT_NODE, ANSWER_NODE = "Agent:Main", "Answer:Main"


class AgentCompletionBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # the Begin component's parameters; Almanac agents declare none
    question: str | None = None
    stream: bool = True
    session_id: str | None = None
    user_id: str | None = None
    return_trace: bool = False  # RAGFlow: also stream each tool step (`node_finished` events)


class AgentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # no `dsl`: an agent's configuration is edited on the Agents page
    title: str | None = None
    description: str | None = None
    avatar: str | None = None
    shared: bool | None = None  # Almanac's public chat page (/chat/<id>): off until shared
    require_token: bool | None = None  # on: a new random access token; off: none


# ------------------------------------------------------------------ views
def run_settings(a: AssistantInfo) -> tuple[ChatSettings, list[str]]:
    """What API sessions run: the published snapshot, else the draft (an unpublished agent)."""
    config = a.published or {"kb_ids": a.kb_ids, "llm": a.llm.model_dump(), "prompt": a.prompt.model_dump(),
                              "strategy": a.strategy.model_dump(), "tools": a.tools}
    return ChatSettings.model_validate({"kind": "agent", **{k: v for k, v in config.items() if k != "kb_ids"}}), \
        list(config.get("kb_ids") or [])


def llm_name(svc: Services, tenant_id: str, model_id: str) -> str | None:
    try:
        model = svc.models.get(tenant_id, model_id) if model_id else svc.models.default(tenant_id, "llm")
    except NotFound:
        return None
    return model.name if model else None


def tool_component(ref: Any, s: ChatSettings, kb_ids: list[str]) -> dict[str, Any]:
    if ref.provider == "knowledge" and ref.tool == "kb_search":
        p = s.prompt
        return {"component_name": "Retrieval", "name": "kb_search", "params": {
            "kb_ids": kb_ids, "similarity_threshold": p.similarity_threshold,
            "keywords_similarity_weight": p.keywords_similarity_weight, "top_n": p.top_n, "top_k": p.top_k,
            "rerank_id": p.rerank_model, "empty_response": p.empty_response}}
    return {"component_name": ref.tool, "name": ref.tool, "provider": ref.provider, "type": ref.type,
            "params": dict(ref.params)}


def node(node_id: str, label: str, x: int, kind: str, form: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"label": label, "name": node_id, "form": form}, "id": node_id, "height": 44, "width": 200,
            "position": {"x": x, "y": 200}, "sourcePosition": "left", "targetPosition": "right", "type": kind}


def agent_dsl(svc: Services, a: AssistantInfo) -> dict[str, Any]:
    s, kb_ids = run_settings(a)
    p, llm, strategy = s.prompt, s.llm, s.strategy
    begin = {"prologue": p.opener, "mode": "conversational", "inputs": {}}
    agent = {"llm_id": llm_name(svc, a.tenant_id, llm.model_id), "sys_prompt": p.system,
             "prompts": [{"role": "user", "content": "{sys.query}"}], "temperature": llm.temperature,
             "top_p": llm.top_p, "presence_penalty": llm.presence_penalty, "frequency_penalty": llm.frequency_penalty,
             "max_tokens": llm.max_tokens, "max_rounds": strategy.max_steps,
             "message_history_window_size": 2 * strategy.max_rounds, "tool_mode": strategy.tool_mode,
             "tool_timeout": strategy.tool_timeout, "memory_mode": strategy.memory_mode, "cite": p.show_quote,
             "tools": [tool_component(r, s, kb_ids) for r in tool_refs(s, kb_ids)]}
    answer: dict[str, Any] = {}
    components = {
        "begin": {"obj": {"component_name": "Begin", "params": begin}, "downstream": [AGENT_NODE], "upstream": []},
        AGENT_NODE: {"obj": {"component_name": "Agent", "params": agent}, "downstream": [ANSWER_NODE],
                     "upstream": ["begin"]},
        ANSWER_NODE: {"obj": {"component_name": "Answer", "params": answer}, "downstream": [],
                      "upstream": [AGENT_NODE]},
    }
    nodes = [node("begin", "Begin", 50, "beginNode", begin), node(AGENT_NODE, "Agent", 350, "agentNode", agent),
             node(ANSWER_NODE, "Answer", 650, "logicNode", answer)]
    edges = [{"id": f"{src}->{dst}", "source": src, "target": dst, "type": "buttonEdge"}
             for src, dst in (("begin", AGENT_NODE), (AGENT_NODE, ANSWER_NODE))]
    return {"answer": [], "components": components, "graph": {"nodes": nodes, "edges": edges}, "history": [],
            "messages": [], "path": [], "reference": [], "globals": {"sys.query": "", "sys.user_id": a.tenant_id}}


def agent_view(svc: Services, a: AssistantInfo) -> dict[str, Any]:
    return {"id": a.id, "title": a.name, "avatar": a.avatar or None, "description": a.description or None,
            "canvas_type": None, "dsl": agent_dsl(svc, a), "user_id": a.tenant_id,
            "shared": a.shared, "access_token": a.access_token,
            "create_time": ms(a.created_at), "create_date": http_date(a.created_at),
            "update_time": ms(a.updated_at), "update_date": http_date(a.updated_at)}


def agent_session_view(svc: Services, a: AssistantInfo, c: ConversationInfo) -> dict[str, Any]:
    messages = messages_view(svc, c.tenant_id, c.id)
    return {"id": c.id, "agent_id": a.id, "dsl": agent_dsl(svc, a), "message": messages, "messages": messages,
            "name": c.title, "source": "agent", "user_id": "",
            "create_time": ms(c.created_at), "create_date": http_date(c.created_at),
            "update_time": ms(c.updated_at), "update_date": http_date(c.updated_at)}


# ------------------------------------------------------------------ routes
@router.get("/agents", summary="List agents (each with a dsl describing its configuration)")
def list_agents(svc: ServicesDep, who: PrincipalDep, page: PageParam = 1, page_size: PageSizeParam = 30,
                orderby: str = "create_time", desc: bool = True, name: str | None = None,
                title: str | None = None, id: str | None = None) -> dict:
    name = name or title  # the spec says name; ragflow-sdk sends title
    found = svc.assistants.list(who.tenant_id, kind="agent", name=name or "", assistant_id=id or "", page=page,
                                page_size=page_size, order_by=order_field(orderby), desc=desc)
    if (id or name) and not found.total:
        raise data_error("The agent doesn't exist.")
    return ok([agent_view(svc, a) for a in found.items])


@router.put("/agents/{agent_id}", summary="Update an agent's title, description, avatar or sharing")
def update_agent(svc: ServicesDep, who: PrincipalDep, agent_id: str, body: AgentBody) -> dict:
    try:
        svc.assistants.get(who.tenant_id, agent_id, kind="agent")
    except NotFound:
        raise data_error("Agent not found.") from None
    if body.title is not None and not body.title.strip():
        raise data_error("`title` cannot be empty.")
    changes = {"name": body.title, "description": body.description, "avatar": body.avatar}
    try:
        svc.assistants.update(who.tenant_id, agent_id, **{k: v for k, v in changes.items() if v is not None})
    except Conflict:
        raise data_error("An agent with this title already exists.") from None
    if body.shared is not None or body.require_token is not None:
        svc.assistants.set_access(who.tenant_id, agent_id, shared=body.shared, require_token=body.require_token)
    return ok(agent_view(svc, svc.assistants.get(who.tenant_id, agent_id, kind="agent")))


@router.post("/agents/{agent_id}/sessions", summary="Create a session with a published agent (opener first)")
def create_agent_session(svc: ServicesDep, who: PrincipalDep, agent_id: str, user_id: str | None = None) -> dict:
    try:
        a = svc.assistants.get(who.tenant_id, agent_id, kind="agent")
    except NotFound:
        raise data_error("Agent not found.") from None
    c = svc.chat.create_session(who.tenant_id, assistant_id=a.id)  # Conflict (102) when not published
    return ok(agent_session_view(svc, a, c))


@router.get("/agents/{agent_id}/sessions", summary="List an agent's sessions")
def list_agent_sessions(svc: ServicesDep, who: PrincipalDep, agent_id: str, page: PageParam = 1,
                        page_size: PageSizeParam = 30, orderby: str = "create_time", desc: bool = True,
                        id: str | None = None, user_id: str | None = None) -> dict:
    a = svc.assistants.get(who.tenant_id, agent_id, kind="agent")
    order_field(orderby)  # validated; sessions are ordered by their last activity
    # Debug chats of the draft are not API sessions.
    sessions = svc.chat.list_sessions(who.tenant_id, assistant_id=a.id, conversation_id=id or "", channel="published",
                                      page=page, page_size=page_size, desc=desc).items
    if id and not sessions:
        raise data_error("The session doesn't exist")
    return ok([agent_session_view(svc, a, c) for c in sessions])


def frame(event: str, session_id: str, message_id: str | None, answer: str, content: str,
          reference: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": 0, "message": "", "event": event, "message_id": message_id, "session_id": session_id,
            "data": {"answer": answer, "content": content, "reference": reference or {}, "id": message_id,
                     "session_id": session_id, **extra}}


def agent_frames(events: Iterator[ChatEvent], session_id: str, trace: bool) -> Iterator[dict[str, Any]]:
    answer, message_id = "", None
    for ev in events:
        message_id = ev.data.get("message_id", message_id)
        if ev.type == "delta":
            answer += ev.data.get("content", "")
            yield frame("message", session_id, message_id, answer, ev.data.get("content", ""))
        elif ev.type == "tool_result" and trace:
            step = {k: ev.data.get(k) for k in ("name", "arguments", "content", "is_error")}
            yield {**frame("node_finished", session_id, message_id, answer, ""),
                   "data": {"component_id": AGENT_NODE, "component_name": "Agent", "trace": [step],
                            "answer": answer, "content": "", "session_id": session_id}}
        elif ev.type == "done":
            final = ev.data.get("content", answer)
            extra = {"trace": ev.data.get("trace", [])} if trace else {}
            yield frame("message_end", session_id, message_id, final, final,
                        reference_view(ev.data.get("references", [])), **extra)
        elif ev.type == "error":
            text = f"**ERROR**: {ev.data.get('message', '')}"
            yield {**frame("error", session_id, message_id, text, text), "code": 500,
                   "message": ev.data.get("message", "")}


def opener_frames(svc: Services, tenant_id: str, session_id: str) -> Iterator[dict[str, Any]]:
    msgs = svc.chat.list_messages(tenant_id, session_id, limit=1)
    opener = msgs[0].content if msgs else ""
    yield frame("message", session_id, None, opener, opener)
    yield frame("message_end", session_id, None, opener, opener)


@router.post("/agents/{agent_id}/completions", summary="Ask an agent (SSE when stream is true)", response_model=None)
def agent_completion(svc: ServicesDep, who: PrincipalDep, agent_id: str,
                     body: AgentCompletionBody | None = None) -> StreamingResponse | dict:
    body = body or AgentCompletionBody()
    a = svc.assistants.get(who.tenant_id, agent_id, kind="agent")
    question = (body.question or "").strip()
    if body.session_id:
        try:
            session_id = svc.chat.get_session(who.tenant_id, body.session_id, assistant_id=a.id,
                                              channel="published").id
        except NotFound:
            raise data_error(f"The agent doesn't own the session {body.session_id}") from None
        if not question:
            raise data_error("`question` is required.")
    else:
        session_id = svc.chat.create_session(who.tenant_id, assistant_id=a.id).id
    # answer() checks and saves the question before returning its stream: errors surface here, as an envelope.
    frames = (agent_frames(svc.chat.answer(who.tenant_id, session_id, question), session_id, body.return_trace)
              if question else opener_frames(svc, who.tenant_id, session_id))
    if body.stream:
        return frames_response(frames, stream=True)
    last = frames_response(frames, stream=False)
    if last.get("code", 0) != 0:
        return last
    return ok({**last["data"], "event": "message_end", "data": {"content": last["data"]["content"],
                                                                "reference": last["data"]["reference"]}})
