"""RAGFlow chunks of a document: add, list, delete, update."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import PageParam, PageSizeParam
from api.ragflow.datasets import unique_ids
from api.ragflow.errors import RagflowRoute, data_error
from api.ragflow.views import document_view, ok
from core.schemas import ChunkInfo

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: chunks"], route_class=RagflowRoute)


class AddChunk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str | None = None
    important_keywords: list[str] | None = None
    questions: list[str] | None = None


class UpdateChunk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str | None = None
    important_keywords: list[str] | None = None
    questions: list[str] | None = None
    available: bool | None = None


class ChunkIds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chunk_ids: list[str] | None = None


def positions(meta: dict[str, Any]) -> list[list[int]]:
    """RAGFlow's [page, x0, x1, top, bottom] per page; Almanac knows pages, not boxes."""
    pages = meta.get("pages") or ([meta["page"]] if meta.get("page") else [])
    return [[int(p), 0, 0, 0, 0] for p in pages if isinstance(p, int)]


def chunk_view(c: ChunkInfo) -> dict[str, Any]:
    return {
        "id": c.id, "content": c.content, "document_id": c.doc_id, "docnm_kwd": c.document_name,
        "document_name": c.document_name, "dataset_id": c.kb_id, "important_keywords": list(c.keywords),
        "questions": list(c.questions), "available": c.enabled, "available_int": int(c.enabled), "image_id": "",
        "positions": positions(c.meta), "create_time": c.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "create_timestamp": c.created_at.timestamp(),
    }


@router.post("/datasets/{dataset_id}/documents/{document_id}/chunks", summary="Add a chunk")
def add_chunk(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, body: AddChunk) -> dict:
    if not (body.content or "").strip():
        raise data_error("`content` is required")
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    chunk = svc.chunks.add(who.tenant_id, document_id, body.content, keywords=body.important_keywords or [],
                           questions=body.questions or [])
    return ok({"chunk": chunk_view(chunk)})


@router.get("/datasets/{dataset_id}/documents/{document_id}/chunks", summary="List chunks")
def list_chunks(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, keywords: str | None = None,
                page: PageParam = 1, page_size: PageSizeParam = 1024,
                id: str | None = None) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    found = svc.chunks.list(who.tenant_id, document_id, keyword=keywords or "", page=page, page_size=page_size,
                            chunk_id=id or "")
    if id and not found.total:
        raise data_error(f"Chunk not found: {dataset_id}/{id}")
    return ok({"chunks": [chunk_view(c) for c in found.items], "doc": document_view(doc, kb), "total": found.total})


@router.delete("/datasets/{dataset_id}/documents/{document_id}/chunks",
               summary="Delete chunks (all of the document's when no chunk_ids)")
def delete_chunks(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str,
                  body: ChunkIds | None = None) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    ids = body.chunk_ids if body else None
    if ids is None:
        svc.chunks.delete_all(who.tenant_id, document_id)
        return ok()
    for cid in unique_ids(ids, "chunk_ids"):  # all checked first: an error deletes nothing
        svc.chunks.get(who.tenant_id, cid, doc_id=document_id)
    if ids:
        svc.chunks.delete(who.tenant_id, ids)
    return ok()


@router.put("/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk_id}", summary="Update a chunk")
def update_chunk(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, chunk_id: str,
                 body: UpdateChunk) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.chunks.get(who.tenant_id, chunk_id, doc_id=document_id)
    if body.content is not None and not body.content.strip():
        raise data_error("`content` is required")
    chunk = svc.chunks.update(who.tenant_id, chunk_id, content=body.content, keywords=body.important_keywords,
                              questions=body.questions, enabled=body.available)
    return ok(chunk_view(chunk))
