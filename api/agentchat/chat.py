"""AgentChat's chat: a question on a dialog, answered by the dialog's agent with the dialog's history, streamed
as AgentChat streams it (Server-Sent Events, one JSON object per `data:` line, no end marker):

    data: {"type": "response_chunk", "timestamp": 1.7e9, "data": {"chunk": "Hel", "accumulated": "Hel"}}
    data: {"type": "event", "timestamp": 1.7e9, "data": {"status": "START" | "END" | "ERROR",
                                                         "title": "执行可用工具: <tool>", "message": "..."}}

A failure while answering arrives as an ERROR event and as a chunk saying what went wrong; the answer so far is
kept in the dialog's history. A question that cannot be asked (unknown dialog, empty question, unreadable
file) is refused before the stream starts, in the JSON envelope.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.agentchat.errors import AgentchatRoute
from api.agentchat.views import tool_event
from api.common.auth import PrincipalDep, ServicesDep
from api.common.sse import sse_frame, sse_response
from api.common.uploads import file_id_of
from core.chat import Attachment, ChatEvent

router = APIRouter(prefix="/api/v1", tags=["AgentChat: chat"], route_class=AgentchatRoute)
SSE = {200: {"content": {"text/event-stream": {}}, "description": "The answer, streamed"}}


class ChatReq(BaseModel):
    user_input: str = Field(description="The question")
    dialog_id: str = Field(description="The dialog (POST /api/v1/dialog makes one)")
    file_url: str | None = Field(None, description="A file uploaded with POST /api/v1/upload, read with the question")


def chunk(text: str, accumulated: str) -> str:
    return sse_frame({"type": "response_chunk", "timestamp": time.time(),
                      "data": {"chunk": text, "accumulated": accumulated}})


def agentchat_frames(events: Iterator[ChatEvent]) -> Iterator[str]:
    accumulated = ""
    for event in events:
        data = event.data
        if event.type == "delta":
            accumulated += data["content"]
            yield chunk(data["content"], accumulated)
        elif event.type == "tool_call":
            yield sse_frame(tool_event("START", data["name"], f"正在调用插件工具 {data['name']}...", time.time()))
        elif event.type == "tool_result":
            status = "ERROR" if data.get("is_error") else "END"
            yield sse_frame(tool_event(status, data["name"], data.get("content", ""), time.time()))
        elif event.type == "error":
            yield sse_frame({"type": "event", "timestamp": time.time(),
                             "data": {"status": "ERROR", "title": "Answer failed", "message": data["message"]}})
            text = ("\n\n" if accumulated else "") + f"⚠️ {data['message']}"
            accumulated += text
            yield chunk(text, accumulated)


@router.post("/chat", summary="Ask a dialog's agent; the answer streams (SSE)", response_class=Response,
             responses=SSE)
def chat(req: ChatReq, principal: PrincipalDep, svc: ServicesDep) -> Response:
    attachments = []
    if req.file_url:
        stored, data = svc.files.read(principal.tenant_id, file_id_of(req.file_url))
        attachments.append(Attachment(stored.name, data, file_id=stored.id))
    events = svc.chat.answer(principal.tenant_id, req.dialog_id, req.user_input, attachments=attachments)
    return sse_response(agentchat_frames(events))
