"""OpenAI-compatible chat: RAGFlow's /api/v1/chats_openai/{chat_id}/chat/completions and the standard
/v1/chat/completions + /v1/models, where `model` is an assistant id (chat assistants and published agents).

Each request is a fresh conversation with the assistant: the earlier messages are stored as its history, the
last (a user message) is answered with the assistant's own settings (knowledge, prompt, tools, model; the
request's sampling parameters are ignored). System messages are dropped: the assistant's prompt governs.
The conversation is kept like any other session, so it can be reviewed. Errors: RAGFlow's envelope on its
route, OpenAI's `{"error": {message, type, param, code}}` with the HTTP status on /v1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from api.deps import BearerDep, ServicesDep
from api.errors import RagflowRoute, Unauthenticated, envelope_route
from api.ragflow import data_error
from api.ragflow_chats import own_chat
from api.ragflow_sessions import reference_chunk
from core.assistants import AssistantInfo
from core.chat import MAX_QUESTION_CHARS, ChatEvent
from core.container import Services
from core.errors import AlmanacError, InvalidInput, ProviderError

MAX_MESSAGES = 1000
IGNORED_ROLES = ("system", "developer")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls...
    role: str
    content: str | list[dict[str, Any]] | None = None


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens... (the assistant's settings apply)
    model: str = Field(min_length=1)
    messages: list[ChatMessage]
    stream: bool = False
    reference: bool = False  # RAGFlow's extra_body: also return the passages the answer used


class RagflowCompletionRequest(CompletionRequest):
    model: str = "model"  # RAGFlow ignores it: the chat is in the URL
    stream: bool = True  # RAGFlow streams unless told otherwise


# ------------------------------------------------------------------ history
def text_of(m: ChatMessage) -> str:
    if m.content is None or isinstance(m.content, str):
        return m.content or ""
    parts = []
    for part in m.content:
        if part.get("type") != "text":
            raise InvalidInput(f"Only text content is supported (got a '{part.get('type')}' part)")
        parts.append(str(part.get("text", "")))
    return "\n".join(parts)


def conversation_turns(messages: list[ChatMessage]) -> list[dict[str, str]]:
    """user/assistant turns of the request (system messages dropped); InvalidInput for other roles."""
    if len(messages) > MAX_MESSAGES:
        raise InvalidInput(f"At most {MAX_MESSAGES} messages are accepted")
    turns = []
    for m in messages:
        if m.role in IGNORED_ROLES:
            continue
        if m.role not in ("user", "assistant"):
            raise InvalidInput(f"Messages with role '{m.role}' are not supported (use user and assistant)")
        turns.append({"role": m.role, "content": text_of(m).replace("\x00", "")})
    if turns and len(turns[-1]["content"]) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"The question is longer than {MAX_QUESTION_CHARS} characters")
    return turns


def start_answer(svc: Services, tenant_id: str, assistant_id: str, turns: list[dict[str, str]]) -> Iterator[ChatEvent]:
    """A new session holding the earlier turns, and the event stream answering the last one (a user turn)."""
    session_id = svc.chat.create_session(tenant_id, assistant_id=assistant_id).id
    try:
        svc.chat.add_turns(tenant_id, session_id, turns[:-1])
        return svc.chat.answer(tenant_id, session_id, turns[-1]["content"])
    except Exception:
        svc.chat.delete_session(tenant_id, session_id)  # a refused request leaves nothing behind
        raise


# ------------------------------------------------------------------ OpenAI shapes
def usage_of(done: dict[str, Any]) -> dict[str, int]:
    prompt, completion = int(done.get("prompt_tokens") or 0), int(done.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None,
          usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "", "usage": usage,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}


def sse_data(payload: dict[str, Any] | str) -> str:
    return "data: " + (payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)) + "\n\n"


def completion_stream(events: Iterator[ChatEvent], model: str, with_reference: bool) -> Iterator[str]:
    """OpenAI chunks: the role, each new piece of text, then finish_reason stop with the usage; `[DONE]`."""
    cid, created = "chatcmpl-", int(time.time())
    for ev in events:
        if cid == "chatcmpl-" and ev.data.get("message_id"):
            cid += ev.data["message_id"]
        if ev.type == "delta" and ev.data.get("content"):
            yield sse_data(chunk(cid, created, model, {"role": "assistant", "content": ev.data["content"]}))
        elif ev.type == "done":
            delta: dict[str, Any] = {"role": "assistant", "content": None}
            if with_reference:
                delta["reference"] = [reference_chunk(r) for r in ev.data.get("references", [])]
            yield sse_data(chunk(cid, created, model, delta, "stop", usage_of(ev.data)))
        elif ev.type == "error":  # the openai client raises APIError on an `error` chunk
            yield sse_data({"error": {"message": ev.data.get("message", "The answer failed"), "type": "api_error",
                                      "param": None, "code": None}})
    yield sse_data("[DONE]")


def completion_object(events: Iterator[ChatEvent], model: str, with_reference: bool) -> dict[str, Any]:
    done: dict[str, Any] | None = None
    for ev in events:
        if ev.type == "error":
            raise ProviderError(ev.data.get("message", "The answer failed"))
        if ev.type == "done":
            done = ev.data
    if done is None:
        raise ProviderError("The answer ended without a result")
    message: dict[str, Any] = {"role": "assistant", "content": done.get("content", "")}
    if with_reference:
        message["reference"] = [reference_chunk(r) for r in done.get("references", [])]
    return {"id": f"chatcmpl-{done.get('message_id', '')}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "", "usage": usage_of(done),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def respond(events: Iterator[ChatEvent], body: CompletionRequest) -> StreamingResponse | dict[str, Any]:
    if body.stream:
        return StreamingResponse(completion_stream(events, body.model, body.reference), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return completion_object(events, body.model, body.reference)


# ------------------------------------------------------------------ RAGFlow's route
ragflow_router = APIRouter(tags=["RAGFlow: OpenAI-compatible"], route_class=RagflowRoute)


@ragflow_router.post("/chats_openai/{chat_id}/chat/completions", response_model=None,
                     summary="OpenAI-compatible chat completion with a chat assistant")
def ragflow_chat_completion(svc: ServicesDep, who: BearerDep, chat_id: str,
                            body: RagflowCompletionRequest) -> StreamingResponse | dict:
    own_chat(svc, who.tenant_id, chat_id)
    turns = conversation_turns(body.messages)
    if not turns:
        raise data_error("You have to provide messages.")
    if turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise data_error("The last content of this conversation is not from user.")
    return respond(start_answer(svc, who.tenant_id, chat_id, turns), body)


# ------------------------------------------------------------------ /v1 (OpenAI's own errors)
class OpenAIError(AlmanacError):
    def __init__(self, message: str, status: int, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.code, self.param = status, code, param


ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
               404: "invalid_request_error", 409: "invalid_request_error", 413: "invalid_request_error"}


def openai_error(exc: Exception) -> JSONResponse:
    code = param = None
    if isinstance(exc, OpenAIError):
        status, message, code, param = exc.status, exc.message, exc.code, exc.param
    elif isinstance(exc, Unauthenticated):
        status, message, code = 401, exc.message, "invalid_api_key"
    elif isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        status, param = 400, ".".join(loc) or None
        message = f"{param or 'body'}: {str(first.get('msg', 'invalid')).removeprefix('Value error, ')}"
    elif isinstance(exc, AlmanacError):
        status, message = exc.status, exc.message
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
    else:
        status, message = 500, f"Internal error ({type(exc).__name__}); see the server log."
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}},
                        status_code=status)


router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], route_class=envelope_route(openai_error))


def runnable(a: AssistantInfo) -> bool:
    return a.kind == "chat" or a.published is not None


def assistant_model(svc: Services, tenant_id: str, model: str) -> AssistantInfo:
    """The assistant a `model` names (its id, or its name); 404 unless it can answer through the API."""
    found = svc.assistants.find(tenant_id, model.strip())
    if found is None or not runnable(found):
        raise OpenAIError(f"The model `{model}` does not exist or you do not have access to it.", 404,
                          "model_not_found", "model")
    return found


def model_view(a: AssistantInfo) -> dict[str, Any]:
    return {"id": a.id, "object": "model", "created": int(a.created_at.timestamp()), "owned_by": a.tenant_id,
            "name": a.name, "kind": a.kind}


@router.get("/models", summary="The assistants (chat assistants and published agents) usable as models")
def list_models(svc: ServicesDep, who: BearerDep) -> dict:
    found = svc.assistants.list(who.tenant_id, page_size=100_000, desc=False)
    return {"object": "list", "data": [model_view(a) for a in found.items if runnable(a)]}


@router.get("/models/{model}", summary="One assistant as a model")
def get_model(svc: ServicesDep, who: BearerDep, model: str) -> dict:
    return model_view(assistant_model(svc, who.tenant_id, model))


@router.post("/chat/completions", response_model=None, summary="Chat with an assistant; `model` is its id")
def chat_completion(svc: ServicesDep, who: BearerDep, body: CompletionRequest) -> StreamingResponse | dict:
    a = assistant_model(svc, who.tenant_id, body.model)
    turns = conversation_turns(body.messages)
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise OpenAIError("The last message must be a non-empty message from the user.", 400, None, "messages")
    return respond(start_answer(svc, who.tenant_id, a.id, turns), body)


__all__ = ["ragflow_router", "router"]
