"""RAGFlow datasets = Almanac knowledge bases: create, delete, update, list.

Requests are validated as RAGFlow 0.22 validates them (strict types, no unknown fields, names of 1-128
characters of any script, avatars as `data:image/png|jpeg;base64,...`, `embedding_model` as
`<model>@<provider>`); ids are UUIDs (Almanac's are version 4, RAGFlow's version 1, so any version passes).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_IDS, MAX_PAGE, MAX_PAGE_SIZE, duplicates
from api.ragflow.errors import PERMISSION, DialectError, RagflowRoute, argument_error, data_error
from api.ragflow.ids import RagflowId
from api.ragflow.parsers import DatasetMethod, ParserConfig, creation_config, deep_merge, default_parser_config
from api.ragflow.views import (apply_chunk_settings, core_embedding_model, dataset_settings, dataset_view,
                               embedding_name, ok)
from core.container import Services
from core.errors import Conflict, NotFound
from core.schemas import KnowledgeBaseInfo

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: datasets"], route_class=RagflowRoute)

NAME_MAX = 128
TEXT_MAX = 65535
IMAGE_TYPES = ["image/jpeg", "image/png"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]


def check_avatar(value: str | None) -> str | None:
    if value is None:
        return None
    prefix, comma, _ = value.partition(",")
    if not comma:
        raise PydanticCustomError("format_invalid", "Missing MIME prefix. Expected format: data:<mime>;base64,<data>")
    if not prefix.startswith("data:"):
        raise PydanticCustomError("format_invalid", "Invalid MIME prefix format. Must start with 'data:'")
    if prefix[5:].split(";")[0] not in IMAGE_TYPES:
        raise PydanticCustomError("format_invalid", "Unsupported MIME type. Allowed: {supported_mime_types}",
                                  {"supported_mime_types": IMAGE_TYPES})
    return value


def check_model_format(value: str | None) -> str | None:
    if value is None:
        return None
    if "@" not in value:
        raise PydanticCustomError("format_invalid",
                                  "Embedding model identifier must follow <model_name>@<provider> format")
    model, _, provider = value.partition("@")
    if not model.strip() or not provider.strip():
        raise PydanticCustomError("format_invalid", "Both model_name and provider must be non-empty strings")
    return value


Avatar = Annotated[str | None, Field(max_length=TEXT_MAX), AfterValidator(check_avatar)]
EmbeddingModel = Annotated[str | None, Field(max_length=255), AfterValidator(check_model_format)]


class DatasetFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    avatar: Avatar = None
    description: str | None = Field(None, max_length=TEXT_MAX)
    embedding_model: EmbeddingModel = None
    permission: Literal["me", "team"] = "me"
    chunk_method: DatasetMethod = "naive"
    parser_config: ParserConfig | None = None
    language: Literal["English", "Chinese"] = "English"  # Almanac's: RAGFlow 0.22 no longer takes it here

    @field_validator("embedding_model", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("parser_config", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == {} else value


class CreateDataset(DatasetFields):
    name: Name


class UpdateDataset(DatasetFields):
    name: Name = ""
    pagerank: int = Field(0, ge=0, le=100)
    similarity_threshold: float = Field(0.2, ge=0, le=1)  # Almanac's: retrieval defaults of the dataset
    vector_similarity_weight: float = Field(0.3, ge=0, le=1)


def unique(ids: list[str] | None) -> list[str] | None:
    if ids and (dupes := duplicates(ids)):
        raise PydanticCustomError("duplicate_uuids", "Duplicate ids: '{duplicate_ids}'",
                                  {"duplicate_ids": ", ".join(dupes)})
    return ids


class DeleteDatasets(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ids: Annotated[list[RagflowId] | None, Field(max_length=MAX_IDS), AfterValidator(unique)]


class ListDatasets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: RagflowId | None = None
    name: str | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(30, ge=1, le=MAX_PAGE_SIZE)
    orderby: Literal["create_time", "update_time"] = "create_time"
    desc: bool = True
    api_key: str | None = Field(None, description="the API key, when not sent as a header")


def lacks_permission(tenant_id: str, what: str) -> DialectError:
    return DialectError(PERMISSION, f"User '{tenant_id}' lacks permission for {what}")


def owned(svc: Services, tenant_id: str, dataset_id: str) -> KnowledgeBaseInfo:
    try:
        return svc.knowledge.get(tenant_id, dataset_id)
    except NotFound:
        raise lacks_permission(tenant_id, f"dataset '{dataset_id}'") from None


def exists(svc: Services, tenant_id: str, dataset_id: str) -> bool:
    try:
        svc.knowledge.require(tenant_id, dataset_id)
    except NotFound:
        return False
    return True


def embedding_model(svc: Services, name: str) -> str:
    """The core model id of `<model>@<provider>`, if this server can embed with it (else RAGFlow's 101)."""
    model_id = core_embedding_model(name)
    availability = svc.embeddings.availability(model_id) if model_id else "unknown"
    if availability == "unknown":
        raise argument_error(f"Unsupported model: <{name}>")
    if availability == "unconfigured":
        raise argument_error(f"Unauthorized model: <{name}>")
    return model_id


@router.post("/datasets", summary="Create a dataset (a taken name becomes `name(1)`)")
def create_dataset(svc: ServicesDep, who: PrincipalDep, body: CreateDataset) -> dict:
    parser_config = creation_config(body.chunk_method, body.parser_config)
    kb = svc.knowledge.create(
        who.tenant_id, body.name, description=body.description or "", icon=body.avatar or "",
        language=body.language, permission=body.permission,
        embedding_model=embedding_model(svc, body.embedding_model) if body.embedding_model else "",
        chunk_config=apply_chunk_settings(body.chunk_method, parser_config),
        retrieval_config={"threshold": 0.2, "vector_weight": 0.3},  # RAGFlow's defaults
        extra={"ragflow": {"chunk_method": body.chunk_method, "parser_config": parser_config, "pagerank": 0}},
        rename_duplicate=True)
    return ok(dataset_view(kb))


@router.delete("/datasets", summary="Delete datasets (`ids: null`: all of the caller's; `[]`: none)")
def delete_datasets(svc: ServicesDep, who: PrincipalDep, body: DeleteDatasets) -> dict:
    if body.ids is None:
        ids = [kb.id for kb in svc.knowledge.list(who.tenant_id, page_size=MAX_PAGE_SIZE).items]
    else:
        ids = body.ids
        if missing := [i for i in ids if not exists(svc, who.tenant_id, i)]:  # all checked first: nothing goes
            raise lacks_permission(who.tenant_id, f"datasets: '{', '.join(missing)}'")
    for kb_id in ids:
        svc.knowledge.delete(who.tenant_id, kb_id)
    return ok()


def settings_changes(kb: KnowledgeBaseInfo, given: dict[str, Any]) -> dict[str, Any]:
    """chunk_config and extra for a new chunk_method / parser_config / pagerank, merged as RAGFlow merges them."""
    old_method, old_config = dataset_settings(kb)
    method = given.get("chunk_method", old_method)
    if given.get("parser_config"):
        config = deep_merge(old_config, given["parser_config"])
    else:
        config = default_parser_config(method) if method != old_method else old_config
    saved = {**((kb.extra or {}).get("ragflow") or {}), "chunk_method": method, "parser_config": config}
    if "pagerank" in given:
        saved["pagerank"] = given["pagerank"]
    return {"chunk_config": apply_chunk_settings(method, config), "extra": {"ragflow": saved}}


def field_changes(svc: Services, kb: KnowledgeBaseInfo, given: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {ours: given[theirs] or "" for ours, theirs in (
        ("name", "name"), ("icon", "avatar"), ("description", "description")) if theirs in given}
    changes.update({key: given[key] for key in ("permission", "language") if key in given})
    retrieval = {ours: given[theirs] for ours, theirs in (
        ("threshold", "similarity_threshold"), ("vector_weight", "vector_similarity_weight")) if theirs in given}
    if retrieval:
        changes["retrieval_config"] = retrieval
    if given.get("embedding_model"):
        model = embedding_model(svc, given["embedding_model"])
        if model != kb.embedding_model and kb.chunk_count:
            raise data_error(f"When chunk_num ({kb.chunk_count}) > 0, embedding_model must remain "
                             f"{embedding_name(kb.embedding_model)}")
        changes["embedding_model"] = model
    if {"chunk_method", "parser_config", "pagerank"} & set(given):
        changes.update(settings_changes(kb, given))
    return changes


@router.put("/datasets/{dataset_id}", summary="Update a dataset")
def update_dataset(svc: ServicesDep, who: PrincipalDep, dataset_id: RagflowId, body: UpdateDataset) -> dict:
    given = body.model_dump(exclude_unset=True)
    if not given:
        raise argument_error("No properties were modified")
    kb = owned(svc, who.tenant_id, dataset_id)
    changes = field_changes(svc, kb, given)
    try:
        kb = svc.knowledge.update(who.tenant_id, dataset_id, **changes)
    except Conflict as exc:
        if "name" in changes and "named" in exc.message:
            raise data_error(f"Dataset name '{changes['name']}' already exists") from None
        raise
    return ok(dataset_view(kb))


@router.get("/datasets", summary="List datasets")
def list_datasets(svc: ServicesDep, who: PrincipalDep, query: Annotated[ListDatasets, Query()]) -> dict:
    if query.id:
        owned(svc, who.tenant_id, query.id)
    if query.name and not svc.knowledge.list(who.tenant_id, name=query.name, page_size=1).total:
        raise lacks_permission(who.tenant_id, f"dataset '{query.name}'")
    found = svc.knowledge.list(who.tenant_id, page=query.page, page_size=query.page_size, desc=query.desc,
                               order_by={"create_time": "created_at", "update_time": "updated_at"}[query.orderby],
                               kb_id=query.id or "", name=query.name or "")
    return ok([dataset_view(kb) for kb in found.items])
