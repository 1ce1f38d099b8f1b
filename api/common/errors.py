"""Errors of the REST dialects: the route class that renders each dialect's errors its own way.

FastAPI's exception handlers are app-wide, but every dialect has its own envelope, so each
dialect's routers use a route class (`envelope_route`) that catches errors of its own routes
only — request validation (422), auth, core errors and the unexpected — and renders them with
that dialect's renderer (`api/<dialect>/errors.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from core.errors import AlmanacError

log = logging.getLogger("almanac.api")


class Unauthenticated(AlmanacError):
    """No credential (`missing`), a malformed Authorization header (`malformed`), or one nobody owns (`invalid`)."""

    status = 401

    def __init__(self, message: str, reason: Literal["missing", "malformed", "invalid"] = "invalid"):
        super().__init__(message)
        self.reason = reason


class DialectError(AlmanacError):
    """An error a router raises in its dialect's own terms: a dialect code, a message and an HTTP status."""

    def __init__(self, code: Any, message: str, status: int = 200):
        super().__init__(message)
        self.code, self.status = code, status


def validation_problems(exc: RequestValidationError) -> list[tuple[str, str]]:
    """FastAPI's validation errors as (field, problem) pairs; field is "" for a body that is not valid JSON."""
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            problems.append(("", f"Invalid JSON body: {err.get('ctx', {}).get('error', 'cannot be decoded')}"))
            continue
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]  # where it came from, not a field (a field may well be called `query`)
        problems.append((".".join(loc) or "body", str(err.get("msg", "invalid")).removeprefix("Value error, ")))
    return problems or [("body", "Invalid request")]


def http_status(exc: Exception) -> int:
    """The HTTP status an error stands for (500 for the unexpected)."""
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, AlmanacError):
        return exc.status
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 500


def error_message(exc: Exception) -> str:
    """A message safe to show the caller; the unexpected is logged, never described."""
    if isinstance(exc, RequestValidationError):
        return "; ".join(f"{field}: {problem}" if field else problem for field, problem in validation_problems(exc))
    if isinstance(exc, AlmanacError):
        return exc.message
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    return f"Internal error ({type(exc).__name__}); see the server log."


Renderer = Callable[[Exception], Response]


def envelope_route(render: Renderer) -> type[APIRoute]:
    """A route class whose errors (including 422 validation and failed auth) go through `render`."""

    class EnvelopeRoute(APIRoute):
        renderer = staticmethod(render)

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
