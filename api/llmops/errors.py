"""LLMOps' envelope: `{"code", "message", "data"}` with the codes success, fail, not_found, unauthorized,
forbidden and validate_error — always with HTTP 200, as LLMOps itself answers (its front end reads `code`).

Request validation names the field: `message` is "<field>: <problem>" and `data` maps each field to its
problems, as LLMOps' form validation does. A missing or foreign object is worded by what the core could not find.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.common.errors import DialectError, Unauthenticated, envelope_route, error_message, validation_problems
from core.errors import Forbidden, InvalidInput, NotFound, TooLarge

SUCCESS, FAIL, NOT_FOUND = "success", "fail", "not_found"
UNAUTHORIZED, FORBIDDEN, VALIDATE_ERROR = "unauthorized", "forbidden", "validate_error"

NOT_FOUND_WORDING = {
    "knowledge_base": "Dataset '{id}' not found",
    "document": "Document '{id}' not found in this dataset",
    "chunk": "Segment '{id}' not found in this document",
    "agent": "App '{id}' not found",
    "assistant": "App '{id}' not found",
    "upload_file": "Upload file '{id}' not found",
    "tool_provider": "API tool provider '{id}' not found",
    "message": "Message '{id}' not found in this app's debug conversation",
    "batch": "Batch '{id}' not found in this dataset",
}
AUTH_WORDING = {"missing": "Authorization is required: send `Authorization: Bearer <access token>`",
                "malformed": "Authorization must be `Bearer <access token>`",
                "invalid": "The access token is invalid"}


def ok(data: Any = None, message: str = "") -> dict[str, Any]:
    return {"code": SUCCESS, "message": message, "data": {} if data is None else data}


def validate_error(field: str, problem: str) -> DialectError:
    """A bad value the router found: validate_error naming the field."""
    return DialectError(VALIDATE_ERROR, f"{field}: {problem}")


def llmops_code(exc: Exception) -> str:
    if isinstance(exc, DialectError):
        return exc.code
    if isinstance(exc, Unauthenticated):
        return UNAUTHORIZED
    if isinstance(exc, (RequestValidationError, InvalidInput, TooLarge)):
        return VALIDATE_ERROR
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Forbidden):
        return FORBIDDEN
    if isinstance(exc, HTTPException):
        return NOT_FOUND if exc.status_code == 404 else FAIL
    return FAIL  # Conflict, ProviderError and the unexpected


def render_error(exc: Exception) -> JSONResponse:
    data: dict[str, Any] = {}
    if isinstance(exc, RequestValidationError):
        problems = validation_problems(exc)
        for field, problem in problems:
            data.setdefault(field or "body", []).append(problem)
        message = "; ".join(f"{field}: {problem}" if field else problem for field, problem in problems)
    elif isinstance(exc, Unauthenticated):
        message = AUTH_WORDING[exc.reason]
    elif isinstance(exc, NotFound) and exc.kind in NOT_FOUND_WORDING:
        message = NOT_FOUND_WORDING[exc.kind].format(id=exc.ident)
    else:
        message = error_message(exc)
    status = exc.status if isinstance(exc, DialectError) else 200  # a route may need a real status (an image)
    return JSONResponse({"code": llmops_code(exc), "message": message, "data": data}, status_code=status)


LlmopsRoute = envelope_route(render_error)
