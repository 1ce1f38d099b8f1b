"""WeKnora sessions = Almanac conversations over one knowledge base, each with its own strategy (max rounds,
rewrite, fallback, top k, thresholds, summary model and parameters): create, get, list, update, delete,
generate a title, continue an unfinished answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import ServicesDep
from api.common.paging import PageParam, PageSizeParam
from api.weknora.chat import answer_stream
from api.weknora.errors import WeknoraRoute, bad_request
from api.weknora.views import WEKNORA_SESSION, CallerDep, ok, session_settings, session_view, verbatim
from core.chat import ChatEvent

router = APIRouter(prefix="/api/v1", tags=["WeKnora: sessions"], route_class=WeknoraRoute)


class CreateSessionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    knowledge_base_id: str = ""
    session_strategy: dict[str, Any] | None = None


class UpdateSessionBody(BaseModel):
    """The spec sends the session's fields; WeKnora's Go client sends {knowledge_base_id, session_strategy}."""

    model_config = ConfigDict(extra="allow")
    title: str | None = None
    knowledge_base_id: str | None = None
    session_strategy: dict[str, Any] | None = None


class TitleMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str
    content: str = ""


class TitleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messages: list[TitleMessage] = Field(default_factory=list, max_length=1000)


def with_defaults(sections: dict[str, Any]) -> dict[str, Any]:
    return {**sections, "prompt": {**WEKNORA_SESSION["prompt"], **sections.get("prompt", {})}}


@router.post("/sessions", status_code=201, summary="Create a session over a knowledge base")
def create_session(svc: ServicesDep, who: CallerDep, body: CreateSessionBody) -> dict:
    if not body.knowledge_base_id:
        raise bad_request("Knowledge base cannot be empty")
    sections, kept = session_settings(body.session_strategy or {})
    c = svc.chat.create_session(who.tenant_id, kb_ids=[body.knowledge_base_id], settings=with_defaults(sections),
                                extra={"weknora": kept})
    return ok(session_view(c, who.number, svc.chat.effective_settings(who.tenant_id, c.id)))


@router.get("/sessions/continue-stream/{session_id}", summary="Continue an unfinished answer (SSE, as "
                                                              "knowledge-chat)",
            response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
def continue_stream(svc: ServicesDep, who: CallerDep, session_id: str,
                    message_id: str = Query("", description="An answer with is_completed false")) -> StreamingResponse:
    if not message_id:
        raise bad_request("Missing message ID")
    m = svc.chat.get_message(who.tenant_id, message_id, conversation_id=session_id)
    if m.role != "assistant":
        raise bad_request("Only an answer can be continued")
    if m.completed:  # nothing left to say: the answer as it stands
        done = {"message_id": m.id, "content": m.content, "references": m.references}
        events = iter([ChatEvent("references", done), ChatEvent("done", done)])
    else:
        events = svc.chat.continue_message(who.tenant_id, m.id)
    return answer_stream(events, resumed=m.content)


@router.get("/sessions/{id}", summary="A session with its strategy")
def get_session(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002 - WeKnora's name
    c = svc.chat.get_session(who.tenant_id, id)
    return ok(session_view(c, who.number, svc.chat.effective_settings(who.tenant_id, id)))


@router.get("/sessions", summary="The tenant's sessions, most recently active first")
def list_sessions(svc: ServicesDep, who: CallerDep, page: PageParam = 1, page_size: PageSizeParam = 20) -> dict:
    found = svc.chat.list_sessions(who.tenant_id, channel="published", page=page, page_size=page_size)
    return ok([session_view(c, who.number) for c in found.items], total=found.total, page=found.page,
              page_size=found.page_size)


@router.put("/sessions/{id}", summary="Rename a session or change its knowledge base or strategy")
def update_session(svc: ServicesDep, who: CallerDep, id: str, body: UpdateSessionBody) -> dict:  # noqa: A002
    current = svc.chat.get_session(who.tenant_id, id)
    sections, kept = session_settings({**(body.session_strategy or {}), **(body.model_extra or {})})
    kb_ids = [body.knowledge_base_id] if body.knowledge_base_id and body.knowledge_base_id not in current.kb_ids \
        else None
    c = svc.chat.update_session(who.tenant_id, id, title=body.title, kb_ids=kb_ids, settings=sections,
                                extra={"weknora": {**verbatim(current.extra), **kept}})
    return ok(session_view(c, who.number, svc.chat.effective_settings(who.tenant_id, id)))


@router.delete("/sessions/{id}", summary="Delete a session with its messages")
def delete_session(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002
    svc.chat.delete_session(who.tenant_id, id)
    return ok(message="Session deleted successfully")


@router.post("/sessions/{session_id}/generate_title", summary="Title a session from its first question and answer")
def generate_title(svc: ServicesDep, who: CallerDep, session_id: str, body: TitleBody) -> dict:
    turns = [{"role": m.role, "content": m.content} for m in body.messages if m.role in ("user", "assistant")]
    c = svc.chat.generate_title(who.tenant_id, session_id, turns or None)
    return ok(c.title)
