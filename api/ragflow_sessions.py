"""RAGFlow chat sessions = Almanac conversations, and completions (SSE `data:{json}` lines or one answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from api.deps import BearerDep, ServicesDep
from api.errors import RagflowRoute
from api.ragflow import data_error, http_date, ms, ok
from api.ragflow_chats import own_chat
from api.ragflow_datasets import Ids, unique_ids
from core.chat import ChatEvent, ConversationInfo
from core.container import Services
from core.errors import NotFound

router = APIRouter(tags=["RAGFlow: chat sessions"], route_class=RagflowRoute)


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


def messages_view(svc: Services, tenant_id: str, session_id: str) -> list[dict[str, Any]]:
    out = []
    for m in svc.chat.list_messages(tenant_id, session_id, limit=1000):
        item: dict[str, Any] = {"role": m.role, "content": m.content, "id": m.id}
        if m.role == "assistant" and m.references:
            item["reference"] = [reference_chunk(r) for r in m.references]
        out.append(item)
    return out


def session_view(svc: Services, c: ConversationInfo) -> dict[str, Any]:
    return {"id": c.id, "chat_id": c.assistant_id, "chat": c.assistant_id, "name": c.title,
            "messages": messages_view(svc, c.tenant_id, c.id),
            "create_time": ms(c.created_at), "create_date": http_date(c.created_at),
            "update_time": ms(c.updated_at), "update_date": http_date(c.updated_at)}


def own_session(svc: Services, tenant_id: str, chat_id: str, session_id: str) -> ConversationInfo:
    try:
        c = svc.chat.get_session(tenant_id, session_id)
    except NotFound:
        c = None
    if c is None or c.assistant_id != chat_id:
        raise data_error(f"The chat doesn't own the session {session_id}")
    return c


@router.post("/chats/{chat_id}/sessions", summary="Create a session (its first message is the opener)")
def create_session(svc: ServicesDep, who: BearerDep, chat_id: str, body: SessionBody | None = None) -> dict:
    own_chat(svc, who.tenant_id, chat_id)
    name = body.name if body and body.name is not None else "New session"
    if not name.strip():
        raise data_error("Name cannot be empty.")
    c = svc.chat.create_session(who.tenant_id, assistant_id=chat_id, title=name)
    return ok(session_view(svc, c))


@router.put("/chats/{chat_id}/sessions/{session_id}", summary="Rename a session")
def update_session(svc: ServicesDep, who: BearerDep, chat_id: str, session_id: str,
                   body: SessionBody | None = None) -> dict:
    own_chat(svc, who.tenant_id, chat_id)
    own_session(svc, who.tenant_id, chat_id, session_id)
    if body is None or not (body.name or "").strip():
        raise data_error("Name cannot be empty.")
    svc.chat.rename_session(who.tenant_id, session_id, body.name)
    return ok()


@router.get("/chats/{chat_id}/sessions", summary="List sessions")
def list_sessions(svc: ServicesDep, who: BearerDep, chat_id: str, page: int = Query(1, ge=1),
                  page_size: int = Query(30, ge=1), orderby: str = "create_time", desc: bool = True,
                  name: str | None = None, id: str | None = None, user_id: str | None = None) -> dict:
    own_chat(svc, who.tenant_id, chat_id)
    if orderby not in ("create_time", "update_time"):
        raise data_error("orderby must be create_time or update_time")
    found = svc.chat.list_sessions(who.tenant_id, assistant_id=chat_id, title=name or "", conversation_id=id or "",
                                   channel="published", page=page, page_size=page_size, desc=desc)
    if id and not found.total:
        raise data_error("The session doesn't exist")
    return ok([session_view(svc, c) for c in found.items])


@router.delete("/chats/{chat_id}/sessions", summary="Delete sessions (all of the chat's when `ids` is not given)")
def delete_sessions(svc: ServicesDep, who: BearerDep, chat_id: str, body: Ids | None = None) -> dict:
    own_chat(svc, who.tenant_id, chat_id)
    ids = body.ids if body else None
    if ids is None:
        ids = [c.id for c in svc.chat.list_sessions(who.tenant_id, assistant_id=chat_id, page_size=100_000).items]
    for sid in unique_ids(ids):  # all checked first: an error deletes nothing
        own_session(svc, who.tenant_id, chat_id, sid)
    for sid in ids:
        svc.chat.delete_session(who.tenant_id, sid)
    return ok()


# ------------------------------------------------------------------ completions
def reference_chunk(ref: dict[str, Any]) -> dict[str, Any]:
    return {"id": ref.get("chunk_id", ""), "content": ref.get("content", ""), "document_id": ref.get("doc_id", ""),
            "document_name": ref.get("document_name", ""), "dataset_id": ref.get("kb_id", ""), "image_id": "",
            "similarity": ref.get("score", 0.0), "positions": []}


def reference_view(refs: list[dict[str, Any]]) -> dict[str, Any]:
    if not refs:
        return {}
    aggs: dict[str, dict[str, Any]] = {}
    for r in refs:
        agg = aggs.setdefault(r.get("doc_id", ""), {"doc_name": r.get("document_name", ""),
                                                    "doc_id": r.get("doc_id", ""), "count": 0})
        agg["count"] += 1
    return {"total": len(refs), "chunks": [reference_chunk(r) for r in refs], "doc_aggs": list(aggs.values())}


def sse(payload: dict[str, Any]) -> str:
    return "data:" + json.dumps(payload, ensure_ascii=False) + "\n\n"


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
def chat_completion(svc: ServicesDep, who: BearerDep, chat_id: str,
                    body: CompletionBody | None = None) -> StreamingResponse | dict:
    body = body or CompletionBody()
    own_chat(svc, who.tenant_id, chat_id)
    question = (body.question or "").strip()
    if body.session_id:
        session_id = own_session(svc, who.tenant_id, chat_id, body.session_id).id
        if not question:
            raise data_error("Please input your question.")
    else:
        session_id = svc.chat.create_session(who.tenant_id, assistant_id=chat_id,
                                             title=question[:255] or "New session").id
    # answer() checks and saves the question before returning its stream: errors surface here, as an envelope.
    frames = (answer_frames(svc.chat.answer(who.tenant_id, session_id, question), session_id) if question
              else opener_frames(svc, who.tenant_id, session_id))
    if body.stream:
        def stream() -> Iterator[str]:
            for frame in frames:
                yield sse(frame)
            yield sse({"code": 0, "message": "", "data": True})

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    last: dict[str, Any] = {}
    for frame in frames:
        last = frame
    if last.get("code", 0) != 0:
        return {"code": 102, "message": last.get("message", "The answer failed")}
    return last
