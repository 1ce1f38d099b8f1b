"""Errors of the REST dialects: core errors -> each dialect's envelope and HTTP status.

FastAPI's exception handlers are app-wide, but every dialect has its own envelope, so each
dialect's router uses a route class (`envelope_route`) that catches errors of its own
routes only — request validation (422), auth, core errors and the unexpected — and renders
them with that dialect's renderer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from core.errors import AlmanacError, Conflict, Forbidden, InvalidInput, NotFound, TooLarge

log = logging.getLogger("almanac.api")


class Unauthenticated(AlmanacError):
    """No API key, a malformed Authorization header, or a key no tenant owns."""

    status = 401


class DialectError(AlmanacError):
    """An error a router raises in its dialect's own terms: a dialect code and message."""

    def __init__(self, code: int, message: str, status: int = 200):
        super().__init__(message)
        self.code, self.status = code, status


def validation_text(exc: RequestValidationError) -> str:
    """FastAPI's validation errors as one line: `Field: <name> - Message: <problem>` (RAGFlow's wording)."""
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            parts.append(f"Invalid JSON body: {err.get('ctx', {}).get('error', 'cannot be decoded')}")
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"Field: <{'.'.join(loc) or 'body'}> - Message: <{msg}>")
    return "; ".join(parts) or "Invalid request"


Renderer = Callable[[Exception], Response]


def envelope_route(render: Renderer) -> type[APIRoute]:
    """A route class whose errors (including 422 validation and failed auth) go through `render`."""

    class EnvelopeRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except (AlmanacError, RequestValidationError, HTTPException) as exc:
                    return render(exc)
                except Exception as exc:
                    log.exception("%s %s failed", request.method, request.url.path)
                    return render(exc)

            return guarded

    return EnvelopeRoute


# ------------------------------------------------------------------ RAGFlow
# RAGFlow's RetCode values; RAGFlow answers HTTP 200 and puts the code in the body.
RAGFLOW_EXCEPTION, RAGFLOW_ARGUMENT, RAGFLOW_DATA = 100, 101, 102
RAGFLOW_PERMISSION, RAGFLOW_AUTH = 108, 109


def ragflow_code(exc: Exception) -> int:
    if isinstance(exc, DialectError):
        return exc.code
    if isinstance(exc, Unauthenticated):
        return RAGFLOW_AUTH
    if isinstance(exc, (RequestValidationError, InvalidInput)):
        return RAGFLOW_ARGUMENT
    if isinstance(exc, (NotFound, Conflict, TooLarge)):
        return RAGFLOW_DATA
    if isinstance(exc, Forbidden):
        return RAGFLOW_PERMISSION
    if isinstance(exc, HTTPException):
        return RAGFLOW_ARGUMENT if exc.status_code < 500 else RAGFLOW_EXCEPTION
    return RAGFLOW_EXCEPTION  # ProviderError and anything unexpected


def ragflow_message(exc: Exception) -> str:
    if isinstance(exc, RequestValidationError):
        return validation_text(exc)
    if isinstance(exc, AlmanacError):
        return exc.message
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    return f"Internal error ({type(exc).__name__}); see the server log."


def ragflow_error(exc: Exception) -> JSONResponse:
    """`{"code": <RAGFlow code>, "message": ...}` with HTTP 200, as RAGFlow answers (its SDK reads only the body)."""
    return JSONResponse({"code": ragflow_code(exc), "message": ragflow_message(exc)}, status_code=200)


RagflowRoute = envelope_route(ragflow_error)

__all__ = ["DialectError", "RagflowRoute", "Unauthenticated", "envelope_route", "ragflow_error"]
