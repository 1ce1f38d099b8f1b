"""Talking to an app while building it (1.3-1.7): its debug conversation runs the draft; long-term memory
of that conversation (at /apps/... and /api/apps/..., as the spec writes both); the debug messages (question
and answer pairs, newest first) and their soft deletion.

`debug` answers with one JSON object as the spec shows; with `"stream": true` (or `Accept: text/event-stream`)
it streams Server-Sent Events as LLMOps' front end reads them: `event: <name>` + `data: {...}` with
dataset_retrieval, agent_action (tool calls and results), agent_message (each piece of the answer),
agent_end, or error.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from api.common.auth import PrincipalDep, ServicesDep
from api.common.sse import sse_frame, sse_response
from api.llmops.errors import FAIL, DialectError, LlmopsRoute, ok
from api.llmops.params import CurrentPage
from api.llmops.views import paged, ts
from core.chat import MAX_QUESTION_CHARS, ChatEvent, final_answer
from core.container import Services
from core.conversations import MAX_SUMMARY_CHARS, ConversationInfo, Exchange
from core.errors import NotFound

router = APIRouter(tags=["LLMOps: app debugging"], route_class=LlmopsRoute)
MAX_MESSAGES_PAGE = 20  # the spec: at most 20 rounds per call


class DebugBody(BaseModel):
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]
    stream: bool = False


class MemoryBody(BaseModel):
    summary: str = Field(max_length=MAX_SUMMARY_CHARS)


def memory_session(svc: Services, tenant_id: str, app_id: str) -> ConversationInfo:
    """The debug conversation, when the app's draft keeps long-term memory (else LLMOps' error)."""
    app = svc.assistants.get(tenant_id, app_id, kind="agent")
    if app.strategy.memory_mode != "long_term_memory":
        raise DialectError(FAIL, "This app does not keep long-term memory: set memory_mode to long_term_memory "
                                 "(or long_term_memory.enable) in its config first")
    return svc.chat.debug_session(tenant_id, app_id)


def message_view(x: Exchange) -> dict[str, Any]:
    return {"id": x.id, "conversation_id": x.conversation_id, "query": x.question, "answer": x.answer,
            "answer_tokens": x.completion_tokens, "response_latency": x.latency_ms, "error": x.error,
            "created_at": ts(x.created_at), "updated_at": ts(x.updated_at)}


@router.get("/apps/{app_id}/long-term-memory", summary="The debug conversation's long-term memory")
@router.get("/api/apps/{app_id}/long-term-memory", summary="The debug conversation's long-term memory")
def get_memory(svc: ServicesDep, who: PrincipalDep, app_id: str) -> dict:
    session = memory_session(svc, who.tenant_id, app_id)
    return ok({"summary": session.summary, "conversation_id": session.id, "updated_at": ts(session.updated_at)})


@router.post("/apps/{app_id}/long-term-memory", summary="Replace the debug conversation's long-term memory")
@router.post("/api/apps/{app_id}/long-term-memory", summary="Replace the debug conversation's long-term memory")
def update_memory(svc: ServicesDep, who: PrincipalDep, app_id: str, body: MemoryBody) -> dict:
    session = memory_session(svc, who.tenant_id, app_id)
    svc.chat.set_memory(who.tenant_id, session.id, body.summary)
    return ok(message="更新AI应用长记忆成功")


@router.post("/apps/{app_id}/debug", summary="Ask the app's draft, in its debug conversation")
def debug(request: Request, svc: ServicesDep, who: PrincipalDep, app_id: str, body: DebugBody) -> Any:
    svc.assistants.get(who.tenant_id, app_id, kind="agent")
    session = svc.chat.debug_session(who.tenant_id, app_id)
    events = svc.chat.answer(who.tenant_id, session.id, body.query)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return sse_response(debug_stream(events, session.id))
    done = final_answer(events)
    return ok(message_view(svc.chat.get_exchange(who.tenant_id, session.id, done["message_id"])))


STREAM_EVENTS = {"references": "dataset_retrieval", "tool_call": "agent_action", "tool_result": "agent_action",
                 "delta": "agent_message", "done": "agent_end", "error": "error"}


def debug_stream(events: Iterator[ChatEvent], conversation_id: str) -> Iterator[str]:
    started = time.perf_counter()
    for ev in events:
        name = STREAM_EVENTS.get(ev.type)
        if name is None:
            continue
        d = ev.data
        frame = {"id": str(uuid.uuid4()), "conversation_id": conversation_id, "message_id": d.get("message_id", ""),
                 "task_id": d.get("message_id", ""), "event": name, "thought": "", "observation": "", "tool": "",
                 "tool_input": {}, "answer": "", "latency": round(time.perf_counter() - started, 3),
                 "created_at": int(time.time())}
        if ev.type == "references":
            frame["observation"] = [{"index": r.get("index"), "document_name": r.get("document_name", ""),
                                     "content": r.get("content", "")} for r in d.get("references", [])]
        elif ev.type == "tool_call":
            frame.update(tool=d.get("name", ""), tool_input=d.get("arguments", {}))
        elif ev.type == "tool_result":
            frame.update(tool=d.get("name", ""), observation=d.get("content", ""))
        elif ev.type == "delta":
            frame.update(thought=d.get("content", ""), answer=d.get("content", ""))
        elif ev.type == "done":
            frame.update(answer=d.get("content", ""), answer_tokens=d.get("completion_tokens", 0),
                         response_latency=d.get("latency_ms", 0.0))
        else:
            frame["observation"] = d.get("message", "The answer failed")
        yield sse_frame(frame, event=name)


@router.get("/apps/{app_id}/messages", summary="The debug conversation's messages, newest first (paged)")
def list_messages(svc: ServicesDep, who: PrincipalDep, app_id: str, current_page: CurrentPage = 1,
                  page_size: Annotated[int, Query(ge=1, le=MAX_MESSAGES_PAGE)] = MAX_MESSAGES_PAGE) -> dict:
    svc.assistants.get(who.tenant_id, app_id, kind="agent")
    session = svc.chat.find_debug_session(who.tenant_id, app_id)
    if session is None:
        return ok({"list": [], "paginator": {"current_page": current_page, "page_size": page_size,
                                             "total_page": 0, "total_record": 0}})
    page = svc.chat.list_exchanges(who.tenant_id, session.id, page=current_page, page_size=page_size)
    return ok(paged([message_view(x) for x in page.items], page))


@router.post("/apps/{app_id}/messages/{message_id}/delete", summary="Delete one debug message (soft)")
def delete_message(svc: ServicesDep, who: PrincipalDep, app_id: str, message_id: str) -> dict:
    svc.assistants.get(who.tenant_id, app_id, kind="agent")
    session = svc.chat.find_debug_session(who.tenant_id, app_id)
    if session is None:
        raise NotFound(f"Message '{message_id}' not found", kind="message", ident=message_id)
    svc.chat.delete_exchange(who.tenant_id, session.id, message_id)
    return ok(message="删除AI应用调试消息成功")
