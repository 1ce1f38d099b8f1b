"""WeKnora's error envelope: `{"success": false, "error": {"code", "message", "details"}}` with a real HTTP status.

Codes are WeKnora's (internal/errors): 1000 bad request, 1001 unauthorized, 1002 forbidden, 1003 not found,
1004 method not allowed, 1005 conflict, 1007 internal, 1008 service unavailable, 1010 validation.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.common.errors import DialectError, Unauthenticated, envelope_route, error_message, http_status, \
    validation_problems
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, ProviderError, TooLarge

BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT = 1000, 1001, 1002, 1003, 1004, 1005
INTERNAL, UNAVAILABLE, VALIDATION = 1007, 1008, 1010

NOT_FOUND_WORDING = {
    "knowledge_base": "Knowledge base not found", "document": "Knowledge not found", "chunk": "Chunk not found",
    "conversation": "Session not found", "message": "Message not found", "model_config": "Model not found",
    "tenant": "Tenant not found", "chat": "Chat assistant not found", "agent": "Agent not found",
    "assistant": "Assistant not found",
}
AUTH_WORDING = {"missing": "Unauthorized: send your API key as `X-API-Key: <key>`",
                "malformed": "Unauthorized: invalid API key format", "invalid": "Unauthorized: invalid API key"}


def bad_request(message: str, details: str | None = None) -> DialectError:
    return DialectError(BAD_REQUEST, message if details is None else f"{message}: {details}", 400)


def weknora_code(exc: Exception) -> int:
    if isinstance(exc, DialectError):
        return exc.code
    if isinstance(exc, Unauthenticated):
        return UNAUTHORIZED
    if isinstance(exc, RequestValidationError):
        return VALIDATION
    if isinstance(exc, (InvalidInput, TooLarge)):
        return BAD_REQUEST
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Forbidden):
        return FORBIDDEN
    if isinstance(exc, Conflict):
        return CONFLICT
    if isinstance(exc, ProviderError):
        return UNAVAILABLE
    if isinstance(exc, HTTPException):
        return {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(exc.status_code, BAD_REQUEST if exc.status_code < 500
                                                             else INTERNAL)
    return INTERNAL


def message_and_details(exc: Exception) -> tuple[str, str | None]:
    if isinstance(exc, RequestValidationError):
        return "Invalid request parameters", "; ".join(f"{field}: {problem}" if field else problem
                                                       for field, problem in validation_problems(exc))
    if isinstance(exc, Unauthenticated):
        return AUTH_WORDING[exc.reason], None
    if isinstance(exc, NotFound) and exc.kind in NOT_FOUND_WORDING:
        return NOT_FOUND_WORDING[exc.kind], exc.message
    return error_message(exc), None


def render_error(exc: Exception) -> JSONResponse:
    status = 400 if isinstance(exc, RequestValidationError) else http_status(exc)  # WeKnora: a bad body is a 400
    message, details = message_and_details(exc)
    return JSONResponse({"success": False, "error": {"code": weknora_code(exc), "message": message,
                                                     "details": details}}, status_code=status)


WeknoraRoute = envelope_route(render_error)
