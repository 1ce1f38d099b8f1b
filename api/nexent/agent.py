"""Nexent's workspace agent (/api/agent): run (SSE) and reload_config.

The stream is Nexent's MessageObserver output: `data: {"type", "content"}` frames — `agent_new_run`, then per step
`step_count`, a tool call as `parse`, its result as `execution_logs`, the passages found as `search_content` (a JSON
list), the answer as `final_answer` pieces, `token_count` at the end, `error` on failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.sse import sse_frame, sse_response
from api.nexent.conversations import Turn, workspace_conversation
from api.nexent.errors import NexentRoute
from api.nexent.views import duration_text, frame_data, search_item, step_title, tool_call_text, tool_result_text
from core.chat import ChatEvent

router = APIRouter(prefix="/api/agent", tags=["Nexent: agent"], route_class=NexentRoute)


class AgentBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str
    conversation_id: int | None = None  # none: a new conversation (its number in the X-Conversation-Id header)
    is_set: bool | None = False
    history: list[Turn] | None = Field(None, max_length=1000)
    minio_files: list[dict[str, Any]] | None = Field(None, max_length=100)


def attachment(item: dict[str, Any]) -> dict[str, Any]:
    """A minio_files entry: a file of the file storage (`object_name`), or only the client's description of one."""
    return {"file_id": str(item.get("object_name") or ""), "name": str(item.get("name") or ""),
            "description": str(item.get("description") or "")}


def frames(events: Iterator[ChatEvent], agent: str) -> Iterator[str]:
    yield sse_frame(frame_data("agent_new_run", agent))
    yield sse_frame(frame_data("step_count", step_title(1)))
    step, after_tools, cited = 1, False, set()
    for ev in events:
        if ev.type == "tool_call":
            after_tools = False
            yield sse_frame(frame_data("parse", tool_call_text(ev.data["name"], ev.data.get("arguments"))))
            continue
        if ev.type == "tool_result":
            after_tools = True
            yield sse_frame(frame_data("execution_logs", tool_result_text(ev.data.get("content", ""))))
            continue
        if ev.type == "references":  # the passages a search found (each sent once)
            fresh = [r for r in ev.data.get("references", []) if r.get("chunk_id") not in cited]
            cited |= {r.get("chunk_id") for r in fresh}
            if fresh:
                yield sse_frame(frame_data("search_content", [search_item(r) for r in fresh]))
        elif ev.type == "delta" and ev.data.get("content"):
            if after_tools:  # the model's next turn, after the tools answered
                step, after_tools = step + 1, False
                yield sse_frame(frame_data("step_count", step_title(step)))
            yield sse_frame(frame_data("final_answer", ev.data["content"]))
        elif ev.type == "done":
            yield sse_frame(frame_data("token_count", duration_text(ev.data)))
        elif ev.type == "error":
            yield sse_frame(frame_data("error", ev.data.get("message", "The answer failed")))


@router.post("/run", summary="Run the workspace agent on a question (Server-Sent Events)")
def run_agent(svc: ServicesDep, who: PrincipalDep, body: AgentBody):  # noqa: ANN201 - an SSE response
    conversation = workspace_conversation(svc, who, body.conversation_id) if body.conversation_id is not None \
        else None
    agent = svc.workspace.default_agent(who.tenant_id)
    c, events = svc.workspace.start(who.tenant_id, conversation, body.query,
                                    history=[t.model_dump() for t in body.history or []],
                                    attachments=[attachment(f) for f in body.minio_files or []])
    response = sse_response(frames(events, agent.name if agent else "Knowledge agent"))
    response.headers["X-Conversation-Id"] = str(c.number)
    return response


@router.post("/reload_config", summary="Re-read the workspace configuration and apply it")
def reload_config(svc: ServicesDep, who: PrincipalDep) -> dict:
    svc.workspace.reload(who.tenant_id)
    return {"status": "success", "message": "Configuration reloaded"}
