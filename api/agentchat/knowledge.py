"""AgentChat's knowledge = the workspace's knowledge bases: create, select (list), update, delete, retrieval."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.agentchat.errors import AgentchatRoute, ok
from api.agentchat.views import knowledge_view
from api.common.auth import PrincipalDep, ServicesDep

router = APIRouter(prefix="/api/v1", tags=["AgentChat: knowledge"], route_class=AgentchatRoute)
ALL = 10_000


class CreateKnowledgeReq(BaseModel):
    knowledge_name: str = Field(description="Unique in your workspace (case-insensitive)")
    knowledge_desc: str | None = None


class UpdateKnowledgeReq(BaseModel):
    knowledge_id: str
    knowledge_name: str | None = None
    knowledge_desc: str | None = None


class KnowledgeIdReq(BaseModel):
    knowledge_id: str


class RetrievalReq(BaseModel):
    query: str
    knowledge_id: str | list[str] = Field(description="A knowledge base id or a list of them")
    top_k: int | None = Field(None, ge=1, le=100, description="Passages to return (the knowledge base's setting)")


@router.post("/knowledge/create", summary="Create a knowledge base")
def create_knowledge(req: CreateKnowledgeReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    kb = svc.knowledge.create(principal.tenant_id, req.knowledge_name, description=req.knowledge_desc or "")
    return ok(knowledge_view(kb))


@router.get("/knowledge/select", summary="The knowledge bases of your workspace")
def select_knowledge(principal: PrincipalDep, svc: ServicesDep) -> dict:
    return ok([knowledge_view(kb) for kb in svc.knowledge.list(principal.tenant_id, page_size=ALL).items])


@router.put("/knowledge/update", summary="Rename a knowledge base or change its description")
def update_knowledge(req: UpdateKnowledgeReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    changes = {"name": req.knowledge_name, "description": req.knowledge_desc}
    kb = svc.knowledge.update(principal.tenant_id, req.knowledge_id,
                              **{k: v for k, v in changes.items() if v is not None})
    return ok(knowledge_view(kb))


@router.delete("/knowledge/delete", summary="Delete a knowledge base with its documents")
def delete_knowledge(req: KnowledgeIdReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    svc.knowledge.delete(principal.tenant_id, req.knowledge_id)
    return ok()


@router.post("/knowledge/retrieval", summary="The passages that answer a question, as one text (best first)")
def retrieval(req: RetrievalReq, principal: PrincipalDep, svc: ServicesDep) -> dict:
    kb_ids = [req.knowledge_id] if isinstance(req.knowledge_id, str) else req.knowledge_id
    hits = svc.retrieval.search(principal.tenant_id, kb_ids, req.query, top_k=req.top_k)
    return ok("\n".join(h.content for h in hits))
