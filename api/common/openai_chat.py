"""OpenAI's chat-completions protocol over the core chat, shared by two dialects: the standard
/v1/chat/completions (api/openai) and RAGFlow's /api/v1/chats_openai/{chat_id}/chat/completions (api/ragflow).

Each request is a fresh conversation with the assistant: the earlier messages are stored as its history, the
last (a user message) is answered with the assistant's own settings (knowledge, prompt, tools, model; the
request's sampling parameters are ignored). System messages are dropped: the assistant's prompt governs.
The conversation is kept like any other session, so it can be reviewed. Each dialect renders the passages
an answer used (`reference: true`) its own way, or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.common.sse import sse_frame, sse_response
from core.chat import MAX_QUESTION_CHARS, ChatEvent, final_answer
from core.container import Services
from core.errors import InvalidInput

ReferenceView = Callable[[dict[str, Any]], dict[str, Any]]

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


def completion_stream(events: Iterator[ChatEvent], model: str, reference: ReferenceView | None) -> Iterator[str]:
    """OpenAI chunks: the role, each new piece of text, then finish_reason stop with the usage; `[DONE]`."""
    cid, created = "chatcmpl-", int(time.time())
    for ev in events:
        if cid == "chatcmpl-" and ev.data.get("message_id"):
            cid += ev.data["message_id"]
        if ev.type == "delta" and ev.data.get("content"):
            yield sse_frame(chunk(cid, created, model, {"role": "assistant", "content": ev.data["content"]}))
        elif ev.type == "done":
            delta: dict[str, Any] = {"role": "assistant", "content": None}
            if reference:
                delta["reference"] = [reference(r) for r in ev.data.get("references", [])]
            yield sse_frame(chunk(cid, created, model, delta, "stop", usage_of(ev.data)))
        elif ev.type == "error":  # the openai client raises APIError on an `error` chunk
            yield sse_frame({"error": {"message": ev.data.get("message", "The answer failed"), "type": "api_error",
                                      "param": None, "code": None}})
    yield sse_frame("[DONE]")


def completion_object(events: Iterator[ChatEvent], model: str, reference: ReferenceView | None) -> dict[str, Any]:
    done = final_answer(events)
    message: dict[str, Any] = {"role": "assistant", "content": done.get("content", "")}
    if reference:
        message["reference"] = [reference(r) for r in done.get("references", [])]
    return {"id": f"chatcmpl-{done.get('message_id', '')}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "", "usage": usage_of(done),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def respond(events: Iterator[ChatEvent], body: CompletionRequest,
            reference: ReferenceView | None = None) -> StreamingResponse | dict[str, Any]:
    """The answer as OpenAI chunks (SSE) or one completion object; with `reference` and `body.reference`,
    the passages used, each rendered by `reference`."""
    reference = reference if body.reference else None
    if body.stream:
        return sse_response(completion_stream(events, body.model, reference))
    return completion_object(events, body.model, reference)
