"""RAGFlow's error envelope: `{"code": <RetCode>, "message": ...}` with HTTP 200, as RAGFlow answers
(its SDK reads only the body). Core errors map onto RetCodes; a missing or foreign object is worded
the way RAGFlow words it, by the kind of object the core could not find."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.common.errors import DialectError, Unauthenticated, envelope_route, error_message, validation_problems
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge

# RAGFlow's RetCode values.
EXCEPTION, ARGUMENT, DATA, PERMISSION, AUTH = 100, 101, 102, 108, 109

NOT_FOUND_WORDING = {
    "knowledge_base": "You don't own the dataset {id}.",
    "document": "You don't own the document {id}.",
    "chunk": "Can't find this chunk {id}",
    "chat": "You don't own the chat {id}",
    "agent": "You don't own the agent {id}.",
    "conversation": "The chat doesn't own the session {id}",
}
AUTH_WORDING = {"missing": "`Authorization` can't be empty", "malformed": "Please check your authorization format.",
                "invalid": "Authentication error: API key is invalid!"}


def data_error(message: str) -> DialectError:
    return DialectError(DATA, message)


def argument_error(message: str) -> DialectError:
    return DialectError(ARGUMENT, message)


def ragflow_code(exc: Exception) -> int:
    if isinstance(exc, DialectError):
        return exc.code
    if isinstance(exc, Unauthenticated):
        return AUTH
    if isinstance(exc, (RequestValidationError, InvalidInput)):
        return ARGUMENT
    if isinstance(exc, (NotFound, Conflict, TooLarge)):
        return DATA
    if isinstance(exc, Forbidden):
        return PERMISSION
    if isinstance(exc, HTTPException):
        return ARGUMENT if exc.status_code < 500 else EXCEPTION
    return EXCEPTION  # ProviderError and anything unexpected


def ragflow_message(exc: Exception) -> str:
    if isinstance(exc, RequestValidationError):  # RAGFlow's wording: `Field: <name> - Message: <problem>`
        return "; ".join(problem if not field else f"Field: <{field}> - Message: <{problem}>"
                         for field, problem in validation_problems(exc))
    if isinstance(exc, Unauthenticated):
        return AUTH_WORDING[exc.reason]
    if isinstance(exc, NotFound) and exc.kind in NOT_FOUND_WORDING:
        return NOT_FOUND_WORDING[exc.kind].format(id=exc.ident)
    return error_message(exc)


def render_error(exc: Exception) -> JSONResponse:
    return JSONResponse({"code": ragflow_code(exc), "message": ragflow_message(exc)}, status_code=200)


RagflowRoute = envelope_route(render_error)
