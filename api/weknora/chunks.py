"""WeKnora chunks of a knowledge entry: list, update, delete one, delete all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.common.auth import ServicesDep
from api.common.paging import PageParam, PageSizeParam
from api.weknora.errors import WeknoraRoute
from api.weknora.views import CallerDep, chunk_view, ok

router = APIRouter(prefix="/api/v1", tags=["WeKnora: chunks"], route_class=WeknoraRoute)


class ChunkBody(BaseModel):
    # WeKnora's clients also send embedding, chunk_index, start_at, end_at: positions and vectors are Almanac's.
    model_config = ConfigDict(extra="ignore")
    content: str | None = None
    metadata: dict[str, Any] | None = None
    is_enabled: bool | None = None


@router.get("/chunks/{knowledge_id}", summary="A knowledge entry's chunks in order")
def list_chunks(svc: ServicesDep, who: CallerDep, knowledge_id: str, page: PageParam = 1,
                page_size: PageSizeParam = 20) -> dict:
    found = svc.chunks.list(who.tenant_id, knowledge_id, page=page, page_size=page_size)
    return ok([chunk_view(c, who.number) for c in found.items], total=found.total, page=found.page,
              page_size=found.page_size)


@router.put("/chunks/{knowledge_id}/{id}",
            summary="Update a chunk: content (empty keeps it), metadata (merged), is_enabled (only when sent)")
def update_chunk(svc: ServicesDep, who: CallerDep, knowledge_id: str, id: str,  # noqa: A002 - WeKnora's name
                 body: ChunkBody) -> dict:
    svc.chunks.get(who.tenant_id, id, doc_id=knowledge_id)
    chunk = svc.chunks.update(who.tenant_id, id, content=body.content or None, meta=body.metadata,
                              enabled=body.is_enabled)
    return ok(chunk_view(chunk, who.number))


@router.delete("/chunks/{knowledge_id}/{id}", summary="Delete a chunk")
def delete_chunk(svc: ServicesDep, who: CallerDep, knowledge_id: str, id: str) -> dict:  # noqa: A002
    svc.chunks.get(who.tenant_id, id, doc_id=knowledge_id)
    svc.chunks.delete(who.tenant_id, [id])
    return ok(message="Chunk deleted")


@router.delete("/chunks/{knowledge_id}", summary="Delete all chunks of a knowledge entry")
def delete_chunks(svc: ServicesDep, who: CallerDep, knowledge_id: str) -> dict:
    deleted = svc.chunks.delete_all(who.tenant_id, knowledge_id)
    return ok({"deleted": deleted}, message="All chunks under knowledge deleted")
