"""LLMOps segments = Almanac chunks of a document (4.15-4.20): list (search, paged), create (at
`.../segments` and the spec's `.../segment`), get, update, enable/disable, delete. Every change is stored,
re-embedded and re-indexed before the answer, so a hit test right after sees it. Keywords left out are
picked from the content, as ingestion picks them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from api.common.auth import PrincipalDep, ServicesDep
from api.llmops.errors import FAIL, DialectError, LlmopsRoute, ok
from api.llmops.params import CurrentPage, PageSize, SearchWord
from api.llmops.views import paged, segment_status, segment_view
from core.text import count_tokens

router = APIRouter(tags=["LLMOps: segments"], route_class=LlmopsRoute)
MAX_SEGMENT_TOKENS = 1000
PATH = "/datasets/{dataset_id}/documents/{document_id}"


def _within_budget(content: str) -> str:
    if count_tokens(content) > MAX_SEGMENT_TOKENS:
        raise ValueError(f"must be at most {MAX_SEGMENT_TOKENS} tokens")
    return content


Content = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000),
                    AfterValidator(_within_budget)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SegmentBody(BaseModel):
    content: Content
    keywords: list[Keyword] | None = Field(None, max_length=50)  # None: picked from the content


class Enabled(BaseModel):
    enabled: bool


@router.get(PATH + "/segments", summary="List a document's segments (search in content, paged)")
def list_segments(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, search_word: SearchWord = "",
                  current_page: CurrentPage = 1, page_size: PageSize = 20) -> dict:
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    page = svc.chunks.list(who.tenant_id, document_id, keyword=search_word.strip(), page=current_page,
                           page_size=page_size)
    return ok(paged([segment_view(c, doc) for c in page.items], page))


@router.post(PATH + "/segments", summary="Add a segment at the end of the document")
@router.post(PATH + "/segment", summary="Add a segment at the end of the document (the spec's spelling)")
def create_segment(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, body: SegmentBody) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    chunk = svc.chunks.add(who.tenant_id, document_id, body.content, keywords=body.keywords)
    return ok({"id": chunk.id}, "新增文档片段成功")


@router.post(PATH + "/segments/{segment_id}/delete", summary="Delete a segment")
def delete_segment(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, segment_id: str) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.chunks.get(who.tenant_id, segment_id, doc_id=document_id)
    svc.chunks.delete(who.tenant_id, [segment_id])
    return ok(message="删除文档片段成功")


@router.post(PATH + "/segments/{segment_id}", summary="Change a segment's content and keywords")
def update_segment(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, segment_id: str,
                   body: SegmentBody) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.chunks.get(who.tenant_id, segment_id, doc_id=document_id)
    svc.chunks.update(who.tenant_id, segment_id, content=body.content, keywords=body.keywords, pick_keywords=True)
    return ok(message="更新文档片段成功")


@router.post(PATH + "/segments/{segment_id}/enabled", summary="Enable or disable a segment (once it is completed)")
def set_enabled(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, segment_id: str,
                body: Enabled) -> dict:
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    chunk = svc.chunks.get(who.tenant_id, segment_id, doc_id=document_id)
    if segment_status(chunk, doc)[0] != "completed":
        raise DialectError(FAIL, "This segment is still being processed; enable or disable it once it is completed")
    svc.chunks.set_enabled(who.tenant_id, [segment_id], body.enabled)
    return ok(message="更新文档片段启用状态成功")


@router.get(PATH + "/segments/{segment_id}", summary="Get a segment")
def get_segment(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, segment_id: str) -> dict:
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    return ok(segment_view(svc.chunks.get(who.tenant_id, segment_id, doc_id=document_id), doc))
