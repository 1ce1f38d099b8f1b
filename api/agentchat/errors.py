"""AgentChat's envelope, `{"status_code", "status_message", "data"}`, for answers and errors alike.

Success is `{"status_code": 200, "status_message": "SUCCESS", "data": ...}`. An error carries the codes of the
spec's table (401 authentication, 403 forbidden, 404 not found, 500 server error) plus 400 for input the
caller should fix (AgentChat answers those with 500 "BAD REQUEST") and 429 while sign-in is rate limited;
the HTTP status is the same number, so plain HTTP clients and AgentChat's front end (which signs out on an
HTTP 401) both see it. `status_message` says what is wrong; `data` is null.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.common.errors import DialectError, Unauthenticated, envelope_route, error_message
from core.errors import AuthenticationFailed, Conflict, Forbidden, InvalidInput, NotFound, RateLimited, TooLarge

NOT_FOUND_WORDING = {
    "conversation": "Dialog '{id}' not found",
    "knowledge_base": "Knowledge base '{id}' not found",
    "agent": "Agent '{id}' not found",
    "tool_provider": "Tool '{id}' not found",
    "model_config": "LLM '{id}' not found (llm_id must be the id of one of your language models)",
}


def ok(data: Any = None) -> dict:
    return {"status_code": 200, "status_message": "SUCCESS", "data": data}


def status_of(exc: Exception) -> int:
    if isinstance(exc, DialectError):
        return exc.code
    if isinstance(exc, (Unauthenticated, AuthenticationFailed)):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, (RequestValidationError, InvalidInput, Conflict, TooLarge)):
        return 400
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 500  # a model provider failing, or the unexpected (logged, never described)


def message_of(exc: Exception) -> str:
    if isinstance(exc, NotFound) and exc.kind in NOT_FOUND_WORDING and exc.ident:
        return NOT_FOUND_WORDING[exc.kind].format(id=exc.ident)
    return error_message(exc)


def render_error(exc: Exception) -> JSONResponse:
    status = status_of(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return JSONResponse({"status_code": status, "status_message": message_of(exc), "data": None},
                        status_code=status, headers=headers)


AgentchatRoute = envelope_route(render_error)
