"""LLMOps datasets = Almanac knowledge bases: list, create, update, delete, get, hit test, recent queries (4.1-4.7)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from api.common.auth import PrincipalDep, ServicesDep
from api.llmops.errors import LlmopsRoute, ok, validate_error
from api.llmops.params import CurrentPage, Description, IconUrl, Name, PageSize, SearchWord
from api.llmops.views import dataset_view, hit_view, paged, query_view
from core.errors import Conflict

router = APIRouter(tags=["LLMOps: datasets"], route_class=LlmopsRoute)
RECENT_QUERIES = 10


class DatasetBody(BaseModel):
    name: Name
    icon: IconUrl
    description: Description = ""

    def described(self) -> str:
        """LLMOps never leaves a dataset without a description (an app's model reads it)."""
        return self.description.strip() or f"Useful for when you want to answer queries about the {self.name}"


class HitBody(BaseModel):
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    retrieval_strategy: Literal["semantic", "full_text", "hybrid"]
    k: int = Field(ge=1, le=10)
    score: float = Field(ge=0, le=1)


def name_taken() -> Exception:
    return validate_error("name", "a dataset with this name already exists")


@router.get("/datasets", summary="List datasets (search, paged)")
def list_datasets(svc: ServicesDep, who: PrincipalDep, search_word: SearchWord = "", current_page: CurrentPage = 1,
                  page_size: PageSize = 20) -> dict:
    page = svc.knowledge.list(who.tenant_id, search=search_word.strip(), page=current_page, page_size=page_size)
    return ok(paged([dataset_view(kb) for kb in page.items], page))


@router.post("/datasets", summary="Create a dataset")
def create_dataset(svc: ServicesDep, who: PrincipalDep, body: DatasetBody) -> dict:
    try:
        kb = svc.knowledge.create(who.tenant_id, body.name, icon=body.icon, description=body.described())
    except Conflict:
        raise name_taken() from None
    return ok({"id": kb.id}, "创建知识库成功")


@router.post("/datasets/{dataset_id}", summary="Update a dataset's name, icon and description")
def update_dataset(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: DatasetBody) -> dict:
    try:
        svc.knowledge.update(who.tenant_id, dataset_id, name=body.name, icon=body.icon, description=body.described())
    except Conflict:
        raise name_taken() from None
    return ok(message="更新知识库成功")


@router.post("/datasets/{dataset_id}/delete", summary="Delete a dataset with its documents and segments")
def delete_dataset(svc: ServicesDep, who: PrincipalDep, dataset_id: str) -> dict:
    svc.knowledge.delete(who.tenant_id, dataset_id)
    return ok(message="删除知识库成功")


@router.get("/datasets/{dataset_id}", summary="Get a dataset")
def get_dataset(svc: ServicesDep, who: PrincipalDep, dataset_id: str) -> dict:
    return ok(dataset_view(svc.knowledge.get(who.tenant_id, dataset_id)))


@router.post("/datasets/{dataset_id}/hit", summary="Hit test: the segments a query retrieves")
def hit(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: HitBody) -> dict:
    hits = svc.retrieval.search(who.tenant_id, [dataset_id], body.query, mode=body.retrieval_strategy, top_k=body.k,
                                threshold=body.score, source="hit_testing")
    chunks = {c.id: c for c in svc.chunks.get_many(who.tenant_id, [h.chunk_id for h in hits])}
    return ok([hit_view(chunks[h.chunk_id], h.score) for h in hits if h.chunk_id in chunks])


@router.get("/datasets/{dataset_id}/queries", summary="The dataset's latest queries (newest first)")
def queries(svc: ServicesDep, who: PrincipalDep, dataset_id: str) -> dict:
    return ok([query_view(q) for q in svc.retrieval.recent_queries(who.tenant_id, dataset_id, limit=RECENT_QUERIES)])
