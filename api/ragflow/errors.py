"""RAGFlow's error envelope: `{"code": <RetCode>, "message": ...}` with HTTP 200, as RAGFlow answers
(its SDK reads only the body). Core errors map onto RetCodes; a missing or foreign object is worded
the way RAGFlow words it at that route (RAGFlow's handlers word it differently from route to route),
else by the kind of object the core could not find.

RagflowRoute also reads JSON bodies the way RAGFlow does before FastAPI validates them: a body that is
not JSON, not an object, or sent as another content type is refused with RAGFlow's wording, and
validation problems are worded `Field: <name> - Message: <problem> - Value: <input>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.common.auth import require_principal
from api.common.errors import DialectError, Unauthenticated, envelope_route, error_message
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
# Where a route words it otherwise: (method, path) -> {kind: message}.
ROUTE_WORDING: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/datasets/{dataset_id}/documents"): {"knowledge_base": "You don't own the dataset {id}. "},
    ("DELETE", "/api/v1/datasets/{dataset_id}/documents"): {"knowledge_base": "You don't own the dataset {id}. "},
    ("PUT", "/api/v1/datasets/{dataset_id}/documents/{document_id}"): {
        "knowledge_base": "You don't own the dataset.", "document": "The dataset doesn't own the document."},
    ("GET", "/api/v1/datasets/{dataset_id}/documents/{document_id}"): {
        "knowledge_base": "You do not own the dataset {id}.", "document": "The dataset not own the document {id}."},
    ("GET", "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks"): {
        "document": "You don't own the document {id}."},
    ("POST", "/api/v1/chats/{chat_id}/sessions"): {"chat": "You do not own the assistant."},
    ("GET", "/api/v1/chats/{chat_id}/sessions"): {"chat": "You don't own the assistant {id}.",
                                                  "assistant": "You don't own the assistant {id}."},
    ("DELETE", "/api/v1/chats/{chat_id}/sessions"): {"chat": "You don't own the chat"},
    ("PUT", "/api/v1/chats/{chat_id}/sessions/{session_id}"): {"conversation": "Session does not exist"},
    ("DELETE", "/api/v1/chats"): {"chat": "Assistant({id}) not found."},
    ("GET", "/api/v1/chats"): {"chat": "The chat doesn't exist"},
}
AUTH_WORDING = {"missing": "`Authorization` can't be empty", "malformed": "Please check your authorization format.",
                "invalid": "Authentication error: API key is invalid!"}
# RAGFlow answers an unknown path or method with its web framework's exception, as code 100.
HTTP_WORDING = {404: "<NotFound '404: Not Found'>", 405: "<MethodNotAllowed '405: Method Not Allowed'>"}
# Routes that refuse a missing body, as RAGFlow's dataset routes do (others read it as `{}`).
BODY_REQUIRED = {("POST", "/api/v1/datasets"), ("PUT", "/api/v1/datasets/{dataset_id}"),
                 ("DELETE", "/api/v1/datasets")}
MALFORMED_JSON = "Malformed JSON syntax: Missing commas/brackets or invalid encoding"
VALUE_CHARS = 128

current_route: ContextVar[tuple[str, str]] = ContextVar("ragflow_route", default=("", ""))


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
        return EXCEPTION if exc.status_code in HTTP_WORDING or exc.status_code >= 500 else ARGUMENT
    return EXCEPTION  # ProviderError and anything unexpected


def shown_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."


def validation_message(exc: RequestValidationError) -> str:
    """RAGFlow's wording of pydantic's problems, one line each."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        problem, value = err.get("msg", "invalid"), shown_value(err.get("input"))
        lines.append(f"Field: <{loc}> - Message: <{problem}> - Value: <{value}>")
    return "\n".join(lines) or "Invalid arguments"


def ragflow_message(exc: Exception) -> str:
    if isinstance(exc, RequestValidationError):
        return validation_message(exc)
    if isinstance(exc, Unauthenticated):
        return AUTH_WORDING[exc.reason]
    if isinstance(exc, NotFound):
        wording = ROUTE_WORDING.get(current_route.get(), {}).get(exc.kind) or NOT_FOUND_WORDING.get(exc.kind)
        if wording:
            return wording.format(id=exc.ident)
    if isinstance(exc, HTTPException) and exc.status_code in HTTP_WORDING:
        return HTTP_WORDING[exc.status_code]
    return error_message(exc)


def render_error(exc: Exception) -> JSONResponse:
    return JSONResponse({"code": ragflow_code(exc), "message": ragflow_message(exc)}, status_code=200)


async def check_json_body(request: Request, required: bool) -> None:
    """RAGFlow's checks of a JSON body, in its order: content type, syntax, an object."""
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type.split(";")[0].lower():
        raise argument_error(f"Unsupported content type: Expected application/json, got {content_type}")
    raw = await request.body()
    if not raw.strip():
        if required:
            raise argument_error(MALFORMED_JSON)
        return
    try:
        payload = json.loads(raw)
    except ValueError:
        raise argument_error(MALFORMED_JSON) from None
    if not isinstance(payload, dict) and payload is not None:
        raise argument_error(f"Invalid request payload: expected object, got {type(payload).__name__}")


class RagflowRoute(envelope_route(render_error)):
    """Errors in RAGFlow's envelope, worded for this route; JSON bodies checked as RAGFlow checks them."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not isinstance(self.body_field.field_info, Form)

        async def handle(request: Request) -> Response:
            key = (request.method, self.path)
            current_route.set(key)
            if takes_json:
                try:
                    await check_json_body(request, required=key in BODY_REQUIRED)
                except DialectError as exc:
                    try:
                        require_principal(request)  # RAGFlow checks the key before the body
                    except Unauthenticated as denied:
                        return render_error(denied)
                    return render_error(exc)
            return await handler(request)

        return handle
