"""WeKnora messages of a session: load (the latest, or those before a time) and delete."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.common.auth import ServicesDep
from api.weknora.errors import WeknoraRoute
from api.weknora.views import CallerDep, message_views, ok, parse_time

router = APIRouter(prefix="/api/v1", tags=["WeKnora: messages"], route_class=WeknoraRoute)


@router.get("/messages/{session_id}/load", summary="The latest messages (before before_time), oldest first")
def load_messages(svc: ServicesDep, who: CallerDep, session_id: str,
                  before_time: str = Query("", description="RFC 3339, e.g. the created_at of the oldest message "
                                                           "already loaded"),
                  limit: int = Query(20, ge=1, le=1000)) -> dict:
    before = parse_time(before_time, "before_time") if before_time.strip() else None
    return ok(message_views(svc.chat.list_messages(who.tenant_id, session_id, before=before, limit=limit)))


@router.delete("/messages/{session_id}/{id}", summary="Delete a message")
def delete_message(svc: ServicesDep, who: CallerDep, session_id: str, id: str) -> dict:  # noqa: A002
    svc.chat.delete_message(who.tenant_id, id, conversation_id=session_id)
    return ok(message="Message deleted successfully")
