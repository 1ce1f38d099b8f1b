"""OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}` with the real HTTP status."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.common.errors import Unauthenticated, envelope_route, error_message, http_status, validation_problems
from core.errors import AlmanacError

ERROR_TYPES = {401: "invalid_request_error", 403: "permission_error"}


class OpenAIError(AlmanacError):
    """An error in OpenAI's own terms: an HTTP status, a machine-readable code and the parameter at fault."""

    def __init__(self, message: str, status: int, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.code, self.param = status, code, param


def render_error(exc: Exception) -> JSONResponse:
    status, message, code, param = http_status(exc), error_message(exc), None, None
    if isinstance(exc, OpenAIError):
        code, param = exc.code, exc.param
    elif isinstance(exc, Unauthenticated):
        code = "invalid_api_key"
    elif isinstance(exc, RequestValidationError):  # OpenAI answers 400 and names the first parameter at fault
        field, problem = validation_problems(exc)[0]
        status, param, message = 400, field or None, f"{field or 'body'}: {problem}"
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}},
                        status_code=status)


OpenAIRoute = envelope_route(render_error)
