"""Nexent's indices (/api/indices) = the tenant's knowledge bases, addressed by name: create, delete, list, info,
add documents, delete a document by path_or_url, health. Searches are in api/nexent/search.py.
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import NexentRoute
from api.nexent.sources import MAX_BATCH, Source, TextItem, add_all, is_url
from api.nexent.views import INDEX_FIELDS, file_view, index_stats, iso
from core.container import Services
from core.errors import InvalidInput, NotFound
from core.schemas import KnowledgeBaseInfo
from core.scope import MAX_PAGE_SIZE

router = APIRouter(prefix="/api/indices", tags=["Nexent: indices"], route_class=NexentRoute)
MAX_FILES_SHOWN = 10_000
CHUNKS_PER_FILE = 100  # as Nexent shows
INDEXING_TIMEOUT_S = 120.0


class IndexBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: str = Field("", max_length=10_000)


class IndexingBody(BaseModel):
    """Nexent's IndexingRequest: items with their text (or only a source: a URL or a stored file to read)."""

    model_config = ConfigDict(extra="ignore")
    task_id: str = ""
    index_name: str | None = None  # the path names the index
    results: list[dict[str, Any]] = Field(max_length=MAX_BATCH)


class DeleteBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    path_or_url: str = Field(min_length=1)


def store_size(kb: KnowledgeBaseInfo) -> int:
    return kb.char_count  # the indexed text's size


def all_indices(svc: Services, tenant_id: str) -> list[KnowledgeBaseInfo]:
    return svc.knowledge.list(tenant_id, page_size=MAX_PAGE_SIZE, order_by="name", desc=False).items


def ensure_index(svc: Services, tenant_id: str, name: str, embedding_dim: int | None = None,
                 description: str = "") -> tuple[KnowledgeBaseInfo, bool]:
    """(the index, whether it was made now): an existing one is left as it is, a new one uses the workspace's
    embedding model."""
    try:
        return svc.knowledge.find(tenant_id, name), False
    except NotFound:
        pass
    model = svc.workspace.embedding_model(tenant_id) or svc.settings.embedding_model
    if embedding_dim is not None and embedding_dim != svc.embeddings.dimension(model):
        raise InvalidInput(f"The embedding model {model} makes {svc.embeddings.dimension(model)}-dimensional "
                           f"vectors, not {embedding_dim}")
    return svc.knowledge.create(tenant_id, name, description=description, embedding_model=model), True


@router.post("/{index_name}", summary="Create an index (a knowledge base); an existing one is left as it is")
def create_index(svc: ServicesDep, who: PrincipalDep, index_name: str,
                 embedding_dim: int | None = Query(None, ge=1, le=65_536, description="Vector size to expect"),
                 body: IndexBody | None = None) -> dict:
    kb, made = ensure_index(svc, who.tenant_id, index_name, embedding_dim, (body or IndexBody()).description)
    message = f"Index {kb.name} {'created successfully' if made else 'already exists'}"
    return {"status": "success", "success": True, "message": message,
            "embedding_dim": kb.embedding_dim or svc.embeddings.dimension(kb.embedding_model)}


@router.delete("/{index_name}", summary="Delete an index with its documents")
def delete_index(svc: ServicesDep, who: PrincipalDep, index_name: str) -> dict:
    svc.knowledge.delete(who.tenant_id, svc.knowledge.find(who.tenant_id, index_name).id)
    return {"status": "success", "message": f"Index {index_name} deleted successfully"}


@router.get("", summary="The tenant's indices (names matching a glob pattern), with statistics when asked")
def list_indices(svc: ServicesDep, who: PrincipalDep, pattern: str = Query("*", max_length=255),
                 include_stats: bool = False) -> dict:
    found = [kb for kb in all_indices(svc, who.tenant_id) if fnmatch(kb.name.casefold(), pattern.casefold())]
    result: dict[str, Any] = {"indices": [kb.name for kb in found], "count": len(found)}
    if include_stats:
        result["indices_info"] = [{"name": kb.name, "stats": index_stats(kb, store_size(kb), summary=True)}
                                  for kb in found]
    return result


@router.get("/health", summary="Whether search works: the database and the vector store answer")
def health(svc: ServicesDep, who: PrincipalDep) -> JSONResponse:
    report = svc.health()
    healthy = report["status"] == "ok"
    count = svc.knowledge.list(who.tenant_id, page_size=1).total
    return JSONResponse({"status": "healthy" if healthy else "unhealthy",
                         "elasticsearch": "connected" if healthy else "disconnected", "indices_count": count},
                        status_code=200 if healthy else 503)


@router.get("/{index_name}/info", summary="An index's statistics, fields and files (with chunks when asked)")
def index_info(svc: ServicesDep, who: PrincipalDep, index_name: str, include_files: bool = True,
               include_chunks: bool = False) -> dict:
    kb = svc.knowledge.find(who.tenant_id, index_name)
    stats = index_stats(kb, store_size(kb))
    files = None
    if include_files:
        docs = svc.documents.list(who.tenant_id, kb.id, page_size=MAX_FILES_SHOWN).items
        files = [file_view(d) for d in docs]
        if include_chunks:
            for shown, doc in zip(files, docs, strict=True):
                chunks = svc.chunks.list(who.tenant_id, doc.id, page_size=CHUNKS_PER_FILE).items
                shown["chunks"] = [{"id": c.id, "title": doc.name, "content": c.content,
                                    "create_time": iso(c.created_at)} for c in chunks]
                shown["chunks_count"] = len(chunks)
    return {**stats, "fields": {name: {"type": kind} for name, kind in INDEX_FIELDS.items()}, "files": files}


@router.post("/{index_name}/documents", summary="Index documents: text items at once, sources read first "
                                                 "(the index is made when missing)")
def index_documents(svc: ServicesDep, who: PrincipalDep, index_name: str, body: IndexingBody) -> dict:
    items = [TextItem.model_validate(r) if str(r.get("text") or "").strip() else source_item(r, index_name)
             for r in body.results]
    if not items:
        return {"success": True, "message": "No documents to index", "total_indexed": 0, "total_submitted": 0}
    kb, made = ensure_index(svc, who.tenant_id, index_name)
    try:
        docs = add_all(svc, who.tenant_id, items, kb)
    except Exception:
        if made:  # a refused request leaves no index behind either
            svc.knowledge.delete(who.tenant_id, kb.id)
        raise
    svc.workers.run_now([d.task.id for d in docs], timeout=INDEXING_TIMEOUT_S)
    done = svc.documents.get_many(who.tenant_id, [d.id for d in docs])
    indexed = [d for d in done if d.status == "completed"]
    problems = [f"{d.name}: {d.task.error or d.status}" for d in done if d.status != "completed"]
    chunks = sum(d.chunk_count for d in indexed)
    message = f"Successfully indexed {len(indexed)} documents ({chunks} chunks)" + \
        (f"; not indexed: {'; '.join(problems)}" if problems else "")
    return {"success": not problems, "message": message, "total_indexed": len(indexed),
            "total_submitted": len(items)}


def source_item(result: dict[str, Any], index_name: str) -> Source:
    """A result without text: its source (a URL, or a stored file's object name) is read instead."""
    source = str(result.get("source") or result.get("path_or_url") or "").strip()
    if not source:
        raise InvalidInput("Each result needs its text or a source (a URL or a stored file's object name)")
    return Source(source=source, source_type="url" if is_url(source) else "file", index_name=index_name)


@router.delete("/{index_name}/documents", summary="Delete the documents that came from a path or URL")
def delete_documents(svc: ServicesDep, who: PrincipalDep, index_name: str,
                     path_or_url: str | None = Query(None, description="The document's path or URL"),
                     body: DeleteBody | None = None) -> dict:
    source = path_or_url or (body.path_or_url if body else "")
    if not source:
        raise InvalidInput("path_or_url is required (a query parameter or in the body)")
    kb = svc.knowledge.find(who.tenant_id, index_name)
    deleted = svc.documents.delete_by_source(who.tenant_id, kb.id, source)
    return {"status": "success", "deleted_count": sum(d.chunk_count for d in deleted),
            "deleted_documents": len(deleted)}
