"""WeKnora knowledge chat (SSE) and knowledge search.

The stream is `event:message` frames whose data is WeKnora's StreamResponse: first the references
(`response_type: references`, `knowledge_references`), then the answer in fragments (`response_type: answer`,
`content` = the new text), then `done: true` with empty content. A failed answer ends with
`response_type: error`. The frame id is the answer's message id (messages/load, continue-stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import ServicesDep
from api.common.paging import MAX_IDS
from api.common.sse import sse_frame, sse_response
from api.weknora.errors import WeknoraRoute, bad_request
from api.weknora.views import CallerDep, ok, reference_view, rfc3339, search_result
from core.chat import ChatEvent

router = APIRouter(prefix="/api/v1", tags=["WeKnora: chat"], route_class=WeknoraRoute)


class QuestionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str = ""


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str = ""
    knowledge_base_id: str = ""
    knowledge_base_ids: list[str] = Field(default_factory=list, max_length=MAX_IDS)


def frame(data: dict[str, Any]) -> str:
    return sse_frame(data, event="message", space=False)  # as Gin writes it: `event:message` / `data:{...}`


def answer_stream(events: Iterator[ChatEvent], *, resumed: str = "") -> StreamingResponse:
    """Core chat events as WeKnora's frames; `resumed` is the text an answer being continued already had."""
    created = rfc3339(datetime.now(UTC).replace(tzinfo=None))

    def frames() -> Iterator[str]:
        sent_resumed = not resumed
        for ev in events:
            mid = ev.data.get("message_id", "")
            if ev.type == "references":
                yield frame({"id": mid, "response_type": "references", "content": "", "done": False,
                             "knowledge_references": [reference_view(r) for r in ev.data.get("references", [])]})
            if not sent_resumed and ev.type in ("references", "delta", "done"):
                sent_resumed = True
                yield frame({"id": mid, "response_type": "answer", "content": resumed, "created_at": created,
                             "done": False})
            if ev.type == "delta" and ev.data.get("content"):
                yield frame({"id": mid, "response_type": "answer", "content": ev.data["content"],
                             "created_at": created, "done": False})
            elif ev.type == "done":
                yield frame({"id": mid, "response_type": "answer", "content": "", "created_at": created,
                             "done": True})
            elif ev.type == "error":
                yield frame({"id": mid, "response_type": "error", "content": ev.data.get("message", "failed"),
                             "created_at": created, "done": True})

    return sse_response(frames())


@router.post("/knowledge-chat/{session_id}", summary="Ask in a session: an SSE stream of references, answer "
                                                    "fragments and done",
             response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
def knowledge_chat(svc: ServicesDep, who: CallerDep, session_id: str, body: QuestionBody) -> StreamingResponse:
    if not body.query.strip():
        raise bad_request("Query content cannot be empty")
    return answer_stream(svc.chat.answer(who.tenant_id, session_id, body.query))


@router.post("/knowledge-search", summary="Search knowledge bases (hybrid) without answering")
def knowledge_search(svc: ServicesDep, who: CallerDep, body: SearchBody) -> dict:
    kb_ids = [k for k in (body.knowledge_base_id, *body.knowledge_base_ids) if k]
    if not body.query.strip():
        raise bad_request("Query content cannot be empty")
    if not kb_ids:
        raise bad_request("Knowledge base ID cannot be empty")
    hits = svc.retrieval.search(who.tenant_id, kb_ids, body.query, mode="hybrid")
    return ok([search_result(h) for h in hits])
