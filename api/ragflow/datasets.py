"""RAGFlow datasets = Almanac knowledge bases: create, delete, update, list."""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_IDS, PageParam, PageSizeParam, duplicates
from api.ragflow.errors import ARGUMENT, DialectError, RagflowRoute, data_error
from api.ragflow.parsers import check_method, merge_parser_config
from api.ragflow.views import apply_chunk_settings, dataset_settings, dataset_view, ok, order_field
from core.errors import Conflict

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: datasets"], route_class=RagflowRoute)

# The spec: letters, digits and "_", starting with a letter or "_"; compared case-insensitively.
NAME_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME_MAX = 65535
FIXED_FIELDS = ("id", "tenant_id", "created_by", "chunk_count", "document_count", "token_num")


class CreateDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    avatar: str | None = None
    description: str | None = None
    language: Literal["English", "Chinese"] | None = None
    embedding_model: str | None = None
    permission: Literal["me", "team"] | None = None
    chunk_method: str | None = None
    parser_config: dict[str, Any] | None = None
    pagerank: int | None = Field(None, ge=0, le=100)


class UpdateDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    avatar: str | None = None
    description: str | None = None
    language: Literal["English", "Chinese"] | None = None
    embedding_model: str | None = None
    permission: Literal["me", "team"] | None = None
    chunk_method: str | None = None
    parser_config: dict[str, Any] | None = None
    pagerank: int | None = Field(None, ge=0, le=100)
    similarity_threshold: float | None = Field(None, ge=0, le=1)
    vector_similarity_weight: float | None = Field(None, ge=0, le=1)
    # Read-only fields: accepted only to answer RAGFlow's "Can't change ..." error.
    id: Any = None
    tenant_id: Any = None
    created_by: Any = None
    chunk_count: Any = None
    document_count: Any = None
    token_num: Any = None


class Ids(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] | None = Field(None, max_length=MAX_IDS)


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise DialectError(ARGUMENT, "Field: <name> - Message: <String should have at least 1 character>")
    if len(name) > NAME_MAX:
        raise DialectError(ARGUMENT, f"Field: <name> - Message: <String should have at most {NAME_MAX} "
                                             "characters>")
    if not NAME_RULE.fullmatch(name):
        raise DialectError(ARGUMENT, "Field: <name> - Message: <Dataset name may contain only English "
                                             "letters, digits and '_', and must start with a letter or '_'>")
    return name


def unique_ids(ids: list[str], what: str = "ids") -> list[str]:
    if dupes := duplicates(ids):
        raise DialectError(ARGUMENT, f"Field: <{what}> - Message: <Duplicate ids: '{', '.join(sorted(dupes))}'>")
    return ids


@router.post("/datasets", summary="Create a dataset")
def create_dataset(svc: ServicesDep, who: PrincipalDep, body: CreateDataset) -> dict:
    name = check_name(body.name)
    method = check_method(body.chunk_method or "naive")
    parser_config = merge_parser_config(method, body.parser_config)
    try:
        kb = svc.knowledge.create(
            who.tenant_id, name, description=body.description or "", icon=body.avatar or "",
            language=body.language or "English", permission=body.permission or "me",
            embedding_model=body.embedding_model or "", chunk_config=apply_chunk_settings(method, parser_config),
            retrieval_config={"threshold": 0.2, "vector_weight": 0.3},  # RAGFlow's defaults
            extra={"ragflow": {"chunk_method": method, "parser_config": parser_config,
                               "pagerank": body.pagerank or 0}})
    except Conflict:
        raise data_error("Duplicated knowledgebase name in creating dataset.") from None
    return ok(dataset_view(kb))


@router.delete("/datasets", summary="Delete datasets (all of the caller's when `ids` is not given)")
def delete_datasets(svc: ServicesDep, who: PrincipalDep, body: Ids | None = None) -> dict:
    ids = body.ids if body else None
    if ids is None:
        ids = [kb.id for kb in svc.knowledge.list(who.tenant_id, page_size=100_000).items]
    for kb_id in unique_ids(ids):  # all checked first: an error deletes nothing
        svc.knowledge.get(who.tenant_id, kb_id)
    for kb_id in ids:
        svc.knowledge.delete(who.tenant_id, kb_id)
    return ok()


@router.put("/datasets/{dataset_id}", summary="Update a dataset")
def update_dataset(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: UpdateDataset) -> dict:
    for field in FIXED_FIELDS:
        if getattr(body, field) is not None:
            raise data_error(f"Can't change {field}.")
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    given = body.model_dump(exclude_unset=True, exclude=set(FIXED_FIELDS))
    changes: dict[str, Any] = {}
    if given.get("name") is not None:
        changes["name"] = check_name(given["name"])
    for ours, theirs in (("icon", "avatar"), ("description", "description"), ("language", "language"),
                         ("permission", "permission"), ("embedding_model", "embedding_model")):
        if given.get(theirs) is not None:
            changes[ours] = given[theirs]
    retrieval = {k: given[t] for k, t in (("threshold", "similarity_threshold"),
                                          ("vector_weight", "vector_similarity_weight")) if given.get(t) is not None}
    if retrieval:
        changes["retrieval_config"] = retrieval
    old_method, old_config = dataset_settings(kb)
    saved = dict((kb.extra or {}).get("ragflow") or {})
    if given.get("chunk_method") is not None or given.get("parser_config") is not None or "pagerank" in given:
        method = check_method(given.get("chunk_method") or old_method)
        base = old_config if method == old_method else None  # a new method starts from its defaults
        parser_config = merge_parser_config(method, given.get("parser_config"), base)
        changes["chunk_config"] = apply_chunk_settings(method, parser_config)
        saved.update(chunk_method=method, parser_config=parser_config)
        if given.get("pagerank") is not None:
            saved["pagerank"] = given["pagerank"]
        changes["extra"] = {"ragflow": saved}
    try:
        kb = svc.knowledge.update(who.tenant_id, dataset_id, **changes)
    except Conflict as exc:
        if "name" in changes and "named" in exc.message:
            raise data_error("Dataset name already exists.") from None
        raise
    return ok(dataset_view(kb))


@router.get("/datasets", summary="List datasets")
def list_datasets(svc: ServicesDep, who: PrincipalDep, page: PageParam = 1, page_size: PageSizeParam = 30,
                  orderby: str = "create_time", desc: bool = True, name: str | None = None,
                  id: str | None = None) -> dict:
    order = order_field(orderby)
    if id:
        svc.knowledge.get(who.tenant_id, id)
    found = svc.knowledge.list(who.tenant_id, page=page, page_size=page_size, order_by=order, desc=desc,
                               kb_id=id or "", name=name or "")
    if name and not found.total:
        raise data_error(f"You don't own the dataset {name}.")
    return ok([dataset_view(kb) for kb in found.items])
