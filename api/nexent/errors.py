"""Nexent's error bodies, with real HTTP statuses.

Nexent's main app turns every HTTPException into `{"message": detail}` (its base_app handler); its data-process
app (the task routes) keeps FastAPI's `{"detail": ...}`; its model routes answer a ModelResponse
`{"code", "message", "data"}`; its image proxy `{"success": false, "error"}`. Request validation is FastAPI's own
everywhere: 422 `{"detail": [{"loc", "msg", "type"}]}`. Where Nexent answers HTTP 200 with a failure code in the
body (model routes), the status here is that code too, so a client checking either one sees the failure.
"""

from __future__ import annotations

from typing import Literal

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.common.errors import Renderer, Unauthenticated, envelope_route, error_message, http_status
from core.errors import NotFound

Style = Literal["message", "detail", "code", "success"]

NOT_FOUND_WORDING = {
    "knowledge_base": "Index {ident} not found", "conversation": "Conversation {ident} does not exist or has been "
    "deleted", "message": "Message does not exist or has been deleted", "model_config": "Model not found: {ident}",
    "task": "Task with ID {ident} not found", "upload_file": "File does not exist or cannot be accessed: {ident}",
    "agent": "Agent not found: {ident}",
}
AUTH_WORDING = {"missing": "An API key is required: send `Authorization: Bearer <API key>` (or `X-API-Key`)",
                "malformed": "Please check your authorization format: `Authorization: Bearer <API key>`",
                "invalid": "Invalid API key"}


def message_of(exc: Exception) -> str:
    if isinstance(exc, Unauthenticated):
        return AUTH_WORDING[exc.reason]
    if isinstance(exc, NotFound) and exc.kind in NOT_FOUND_WORDING and exc.ident:
        return NOT_FOUND_WORDING[exc.kind].format(ident=exc.ident)
    return error_message(exc)


def renderer(style: Style) -> Renderer:
    def render(exc: Exception) -> JSONResponse:
        if isinstance(exc, RequestValidationError):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        status, message = http_status(exc), message_of(exc)
        body = {"message": {"message": message}, "detail": {"detail": message},
                "code": {"code": status, "message": message, "data": None},
                "success": {"success": False, "error": message}}[style]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    return render


render_error = renderer("message")
NexentRoute = envelope_route(render_error)
TaskRoute = envelope_route(renderer("detail"))
ModelRoute = envelope_route(renderer("code"))
ProxyRoute = envelope_route(renderer("success"))
