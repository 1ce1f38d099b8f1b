"""RAGFlow chat sessions = Almanac conversations, and completions (SSE `data:{json}` lines or one answer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_PAGE_SIZE
from api.ragflow.bulk import BulkIds, Outcome, RagflowPage, RagflowPageSize, page_window
from api.ragflow.errors import RagflowRoute, data_error
from api.ragflow.views import frames_response, http_date, messages_view, ms, ok, reference_view
from core.chat import ChatEvent, ConversationInfo
from core.container import Services
from core.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: chat sessions"], route_class=RagflowRoute)


class SessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    user_id: str | None = None


class CompletionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # RAGFlow passes extra keyword arguments through
    question: str | None = None
    stream: bool = True
    session_id: str | None = None
    user_id: str | None = None


def session_view(svc: Services, c: ConversationInfo) -> dict[str, Any]:
    return {"id": c.id, "chat_id": c.assistant_id, "chat": c.assistant_id, "name": c.title,
            "messages": messages_view(svc, c.tenant_id, c.id),
            "create_time": ms(c.created_at), "create_date": http_date(c.created_at),
            "update_time": ms(c.updated_at), "update_date": http_date(c.updated_at)}


@router.post("/chats/{chat_id}/sessions", summary="Create a session (its first message is the opener)")
def create_session(svc: ServicesDep, who: PrincipalDep, chat_id: str, body: SessionBody | None = None) -> dict:
    svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    name = body.name if body and body.name is not None else "New session"
    if not name.strip():
        raise data_error("`name` can not be empty.")
    c = svc.chat.create_session(who.tenant_id, assistant_id=chat_id, title=name)
    return ok(session_view(svc, c))


@router.put("/chats/{chat_id}/sessions/{session_id}", summary="Rename a session")
def update_session(svc: ServicesDep, who: PrincipalDep, chat_id: str, session_id: str,
                   body: SessionBody | None = None) -> dict:
    try:
        svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    except NotFound:
        raise data_error("You do not own the session") from None
    svc.chat.get_session(who.tenant_id, session_id, assistant_id=chat_id)
    if body is None or body.name is None:
        return ok()
    if not body.name.strip():
        raise data_error("`name` can not be empty.")
    svc.chat.rename_session(who.tenant_id, session_id, body.name)
    return ok()


SESSION_ORDER = {"create_time": "created_at", "update_time": "updated_at", "name": "title"}


@router.get("/chats/{chat_id}/sessions", summary="List sessions (a filter that matches nothing: an empty list)")
def list_sessions(svc: ServicesDep, who: PrincipalDep, chat_id: str, page: RagflowPage = 1,
                  page_size: RagflowPageSize = 30, orderby: str = "create_time", desc: bool = True,
                  name: str | None = None, id: str | None = None, user_id: str | None = None) -> dict:
    if orderby not in SESSION_ORDER:
        raise data_error("orderby should be create_time, update_time or name")
    found = svc.chat.list_sessions(who.tenant_id, assistant_id=chat_id, title=name or "", conversation_id=id or "",
                                   channel="published", page_size=MAX_PAGE_SIZE)
    ordered = sorted(found.items, key=lambda c: getattr(c, SESSION_ORDER[orderby]), reverse=desc)
    start, stop = page_window(page, page_size)
    return ok([session_view(svc, c) for c in ordered[start:stop]])


@router.delete("/chats/{chat_id}/sessions", summary="Delete sessions (all of the chat's when `ids` is empty)")
def delete_sessions(svc: ServicesDep, who: PrincipalDep, chat_id: str, body: BulkIds | None = None) -> dict:
    svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    mine = {c.id: c for c in svc.chat.list_sessions(who.tenant_id, assistant_id=chat_id,
                                                     page_size=MAX_PAGE_SIZE).items}
    outcome = Outcome.of(body.ids if body and body.ids else list(mine), mine, "session")
    for sid in outcome.found:
        svc.chat.delete_session(who.tenant_id, sid)
    if outcome.missing:
        return outcome.answer("Partially deleted {n} sessions with {e} errors",
                              [f"The chat doesn't own the session {i}" for i in outcome.missing], joiner="; ")
    return outcome.answer("Partially deleted {n} sessions with {e} errors")


# ------------------------------------------------------------------ completions
def answer_frames(events: Iterator[ChatEvent], session_id: str) -> Iterator[dict[str, Any]]:
    """Core chat events as RAGFlow's frames: the cumulative answer, then the references with the last one."""
    answer, message_id = "", None
    for ev in events:
        message_id = ev.data.get("message_id", message_id)
        if ev.type == "delta":
            answer += ev.data.get("content", "")
            yield {"code": 0, "message": "", "data": {"answer": answer, "reference": {}, "audio_binary": None,
                                                      "id": message_id, "session_id": session_id}}
        elif ev.type == "done":
            yield {"code": 0, "message": "", "data": {
                "answer": ev.data.get("content", answer), "reference": reference_view(ev.data.get("references", [])),
                "audio_binary": None, "id": message_id, "session_id": session_id}}
        elif ev.type == "error":
            yield {"code": 500, "message": ev.data.get("message", ""), "data": {
                "answer": f"**ERROR**: {ev.data.get('message', '')}", "reference": {}, "id": message_id,
                "session_id": session_id}}


def opener_frames(svc: Services, tenant_id: str, session_id: str) -> Iterator[dict[str, Any]]:
    msgs = svc.chat.list_messages(tenant_id, session_id, limit=1)
    yield {"code": 0, "message": "", "data": {"answer": msgs[0].content if msgs else "", "reference": {},
                                              "audio_binary": None, "id": None, "session_id": session_id}}


@router.post("/chats/{chat_id}/completions", summary="Ask a chat assistant (SSE when stream is true)",
             response_model=None)
def chat_completion(svc: ServicesDep, who: PrincipalDep, chat_id: str,
                    body: CompletionBody | None = None) -> StreamingResponse | dict:
    body = body or CompletionBody()
    svc.assistants.get(who.tenant_id, chat_id, kind="chat")
    question = (body.question or "").strip()
    if body.session_id:
        session_id = svc.chat.get_session(who.tenant_id, body.session_id, assistant_id=chat_id).id
        if not question:
            raise data_error("Please input your question.")
    else:
        session_id = svc.chat.create_session(who.tenant_id, assistant_id=chat_id,
                                             title=question[:255] or "New session").id
    # answer() checks and saves the question before returning its stream: errors surface here, as an envelope.
    frames = (answer_frames(svc.chat.answer(who.tenant_id, session_id, question), session_id) if question
              else opener_frames(svc, who.tenant_id, session_id))
    return frames_response(frames, body.stream)
