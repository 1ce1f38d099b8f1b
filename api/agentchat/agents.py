"""AgentChat's agents = the workspace's agents (assistants of kind agent). AgentChat's agents are live: every
save also publishes, so dialogs run what was saved last."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from api.agentchat.errors import AgentchatRoute, ok
from api.agentchat.views import agent_view, tool_ids_of, tool_refs
from api.common.auth import PrincipalDep, ServicesDep
from core.assistants import DEFAULT_AGENT_SYSTEM
from core.container import Services
from core.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["AgentChat: agents"], route_class=AgentchatRoute)
ALL = 10_000  # AgentChat lists every agent at once


class AgentFields(BaseModel):
    description: str | None = None
    tool_ids: list[str] | None = None
    llm_id: str | None = None
    mcp_ids: list[str] | None = None
    knowledge_ids: list[str] | None = None
    agent_skill_ids: list[str] = Field(default_factory=list, description="AgentChat skills: not supported, keep []")
    enable_memory: bool | None = None
    use_embedding: bool | None = Field(None, description="Older AgentChat name of enable_memory")
    system_prompt: str | None = None
    logo_url: str | None = None

    @field_validator("agent_skill_ids")
    @classmethod
    def _no_skills(cls, v: list[str]) -> list[str]:
        if v:
            raise ValueError("agent skills are not supported here; send an empty list")
        return v


class CreateAgentReq(AgentFields):
    name: str


class UpdateAgentReq(AgentFields):
    agent_id: str
    name: str | None = None


class AgentIdReq(BaseModel):
    agent_id: str


class SearchReq(BaseModel):
    name: str


def changes(svc: Services, req: AgentFields, current_tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The core fields an AgentChat request sets (None leaves a field as it is)."""
    out: dict[str, Any] = {}
    if req.description is not None:
        out["description"] = req.description
    if req.logo_url is not None:
        out["avatar"] = req.logo_url
    if req.knowledge_ids is not None:
        out["kb_ids"] = req.knowledge_ids
    if req.llm_id is not None:
        out["llm"] = {"model_id": req.llm_id}
    if req.system_prompt is not None:
        out["prompt"] = {"system": req.system_prompt.strip() or DEFAULT_AGENT_SYSTEM, "opener": ""}
    memory = req.enable_memory if req.enable_memory is not None else req.use_embedding
    if memory is not None:
        out["strategy"] = {"memory_mode": "long_term_memory" if memory else "none"}
    if req.tool_ids is not None or req.mcp_ids is not None:
        kept_tools, kept_mcp = tool_ids_of(current_tools or [])
        builtin = {t.name for p in svc.tools.builtin_providers() for t in p.tools}
        out["tools"] = tool_refs(req.tool_ids if req.tool_ids is not None else kept_tools,
                                 req.mcp_ids if req.mcp_ids is not None else kept_mcp, builtin)
    return out


@router.post("/agent", summary="Create an agent (published at once)")
def create_agent(req: CreateAgentReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    fields = changes(svc, req)
    fields.setdefault("prompt", {"opener": ""})  # AgentChat's agents do not greet
    fields.setdefault("strategy", {"memory_mode": "long_term_memory"})  # enable_memory defaults to true
    agent = svc.assistants.create(principal.tenant_id, req.name, kind="agent", publish=True, **fields)
    return ok(agent_view(agent))


@router.get("/agent", summary="The agents of your workspace")
def list_agents(principal: PrincipalDep, svc: ServicesDep) -> dict:
    page = svc.assistants.list(principal.tenant_id, kind="agent", page_size=ALL)
    return ok([agent_view(a) for a in page.items])


@router.put("/agent", summary="Change an agent (published at once)")
def update_agent(req: UpdateAgentReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    current = svc.assistants.get(principal.tenant_id, req.agent_id, kind="agent")
    fields = changes(svc, req, current.tools)
    if req.name is not None:
        fields["name"] = req.name
    agent = svc.assistants.update(principal.tenant_id, current.id, publish=True, **fields)
    return ok(agent_view(agent))


@router.delete("/agent", summary="Delete an agent and its dialogs")
def delete_agent(req: AgentIdReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    svc.assistants.delete(principal.tenant_id, req.agent_id, kind="agent")
    return ok()


@router.post("/agent/search", summary="Agents whose name contains the words")
def search_agents(req: SearchReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    if not req.name.strip():
        raise InvalidInput("name: give part of an agent's name to search for")
    page = svc.assistants.list(principal.tenant_id, kind="agent", search=req.name, page_size=ALL)
    return ok([agent_view(a) for a in page.items])
