"""What AgentChat's front end needs beyond the spec: dialogs (conversations with an agent), their history, and
liking or disliking an answer."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.agentchat.errors import AgentchatRoute, ok
from api.agentchat.views import dialog_view, history_view
from api.common.auth import PrincipalDep, ServicesDep
from core.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["AgentChat: dialogs"], route_class=AgentchatRoute)
ALL = 10_000
HISTORY_LIMIT = 1000


class CreateDialogReq(BaseModel):
    agent_id: str
    name: str = ""  # AgentChat sends the agent's name; empty = the agent's name
    agent_type: str = "Agent"


class DialogIdReq(BaseModel):
    dialog_id: str


class RateReq(BaseModel):
    user_input: str = ""
    agent_output: str


@router.post("/dialog", summary="Start a dialog with an agent")
def create_dialog(req: CreateDialogReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    if req.agent_type != "Agent":
        raise InvalidInput(f"agent_type: only 'Agent' dialogs are supported (not '{req.agent_type}')")
    agent = svc.assistants.get(principal.tenant_id, req.agent_id, kind="agent")
    dialog = svc.chat.create_session(principal.tenant_id, assistant_id=agent.id, title=req.name or agent.name)
    return ok(dialog_view(dialog, agent))


@router.get("/dialog/list", summary="Your dialogs with agents, most recent first")
def list_dialogs(principal: PrincipalDep, svc: ServicesDep) -> dict:
    agents = {a.id: a for a in svc.assistants.list(principal.tenant_id, kind="agent", page_size=ALL).items}
    sessions = svc.chat.list_sessions(principal.tenant_id, channel="published", page_size=ALL).items
    return ok([dialog_view(c, agents[c.assistant_id]) for c in sessions if c.assistant_id in agents])


@router.delete("/dialog", summary="Delete a dialog and its history")
def delete_dialog(req: DialogIdReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    svc.chat.delete_session(principal.tenant_id, req.dialog_id)
    return ok()


@router.get("/history", summary="A dialog's messages, oldest first")
def history(principal: PrincipalDep, svc: ServicesDep, dialog_id: str = Query(..., description="The dialog")) -> dict:
    messages = svc.chat.list_messages(principal.tenant_id, dialog_id, limit=HISTORY_LIMIT)
    return ok([history_view(m) for m in messages])


@router.post("/message/like", summary="Like an answer (found by its text)")
def like(req: RateReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    svc.chat.feedback_on_answer(principal.tenant_id, req.agent_output, 1, question=req.user_input)
    return ok()


@router.post("/message/down", summary="Dislike an answer (found by its text)")
def down(req: RateReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    svc.chat.feedback_on_answer(principal.tenant_id, req.agent_output, -1, question=req.user_input)
    return ok()
