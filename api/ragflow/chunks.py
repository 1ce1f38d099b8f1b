"""RAGFlow chunks of a document: add, list, delete, update."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_IDS, MAX_PAGE_SIZE
from api.ragflow.bulk import Outcome, RagflowPage, RagflowPageSize
from api.ragflow.errors import RagflowRoute, argument_error, data_error
from api.ragflow.views import document_view, ok
from core.schemas import ChunkInfo

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: chunks"], route_class=RagflowRoute)


class ChunkBody(BaseModel):
    """Loosely typed on purpose: each field is checked below and worded as RAGFlow words it."""

    model_config = ConfigDict(extra="ignore")
    content: Any = None
    important_keywords: Any = None
    questions: Any = None


class UpdateChunk(ChunkBody):
    available: bool | None = None


class ChunkIds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    chunk_ids: list[str] | None = Field(None, max_length=MAX_IDS)


def text_list(value: Any, field: str, wording: str) -> list[str] | None:
    """A list of strings (None when not given); anything else is RAGFlow's 102 `<field>` + wording."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise data_error(f"`{field}` {wording}")
    if not all(isinstance(v, str) for v in value):
        raise argument_error(f"`{field}` should be a list of strings")
    return value


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
def add_chunk(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str,
              body: ChunkBody | None = None) -> dict:
    body = body or ChunkBody()
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    if not isinstance(body.content, str) or not body.content.strip():
        raise data_error("`content` is required")
    keywords = text_list(body.important_keywords, "important_keywords", "is required to be a list")
    questions = text_list(body.questions, "questions", "is required to be a list")
    chunk = svc.chunks.add(who.tenant_id, document_id, body.content, keywords=keywords or [],
                           questions=questions or [])
    return ok({"chunk": chunk_view(chunk)})


@router.get("/datasets/{dataset_id}/documents/{document_id}/chunks", summary="List chunks")
def list_chunks(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, keywords: str | None = None,
                page: RagflowPage = 1, page_size: RagflowPageSize = 30,
                id: str | None = None) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    found = svc.chunks.list(who.tenant_id, document_id, keyword=keywords or "", page=max(page, 1),
                            page_size=page_size or MAX_PAGE_SIZE, chunk_id=id or "")  # RAGFlow: size 0 = all
    if id and not found.total:
        raise data_error(f"Chunk not found: {dataset_id}/{id}")
    return ok({"chunks": [chunk_view(c) for c in found.items], "doc": document_view(doc, kb), "total": found.total})


@router.delete("/datasets/{dataset_id}/documents/{document_id}/chunks",
               summary="Delete chunks (all of the document's when `chunk_ids` is missing or empty)")
def delete_chunks(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str,
                  body: ChunkIds | None = None) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    if body is None or not body.chunk_ids:
        deleted = svc.chunks.delete_all(who.tenant_id, document_id)
        return {"code": 0, "message": f"deleted {deleted} chunks"}
    mine = {c.id: c for c in svc.chunks.list(who.tenant_id, document_id, page_size=MAX_PAGE_SIZE).items}
    outcome = Outcome.of(body.chunk_ids, mine, "chunk")
    if outcome.found:
        svc.chunks.delete(who.tenant_id, list(outcome.found))
    if outcome.missing:  # the others are deleted all the same, as RAGFlow does
        raise data_error(f"rm_chunk deleted chunks {len(outcome.found)}, expect "
                         f"{len(outcome.found) + len(outcome.missing)}")
    answer = outcome.answer("Partially deleted {n} chunks with {e} errors")
    return {"message": f"deleted {len(outcome.found)} chunks", **answer}


@router.put("/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk_id}", summary="Update a chunk")
def update_chunk(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, chunk_id: str,
                 body: UpdateChunk | None = None) -> dict:
    body = body or UpdateChunk()
    svc.chunks.get(who.tenant_id, chunk_id)  # RAGFlow looks the chunk up first (a deleted document's is gone)
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.chunks.get(who.tenant_id, chunk_id, doc_id=document_id)
    if body.content is not None and (not isinstance(body.content, str) or not body.content.strip()):
        raise data_error("`content` is required")
    chunk = svc.chunks.update(who.tenant_id, chunk_id, content=body.content,
                              keywords=text_list(body.important_keywords, "important_keywords", "should be a list"),
                              questions=text_list(body.questions, "questions", "should be a list"),
                              enabled=body.available)
    return ok(chunk_view(chunk))
