"""LLMOps documents of a dataset (4.8-4.14): list, add from upload files (one batch), batch progress, rename,
enable/disable, get, delete.

`process_type` automatic keeps the dataset's own chunking; custom applies the `rule`: its pre-process rules
(remove_extra_space, remove_url_and_email), segment separators (regular expressions, cut first), chunk size
(tokens) and overlap. The spec's example misspells `pre_process_rules` as `pre_proces_rules`; both are read.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AliasChoices, BaseModel, Field, StringConstraints, field_validator, model_validator

from api.common.auth import PrincipalDep, ServicesDep
from api.llmops.errors import LlmopsRoute, ok, validate_error
from api.llmops.params import CurrentPage, PageSize, SearchWord
from api.llmops.views import batch_item, document_status, document_view, paged, ts

router = APIRouter(tags=["LLMOps: documents"], route_class=LlmopsRoute)
MAX_FILES = 10


class PreProcessRule(BaseModel):
    id: Literal["remove_extra_space", "remove_url_and_email"]
    enabled: bool


class SegmentRule(BaseModel):
    separators: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(max_length=50)
    chunk_size: int = Field(ge=16, le=8192)
    chunk_overlap: int = Field(ge=0)

    @field_validator("separators")
    @classmethod
    def _regexes(cls, separators: list[str]) -> list[str]:
        for sep in separators:
            try:
                re.compile(sep)
            except re.error as exc:
                raise ValueError(f"{sep!r} is not a valid regular expression: {exc}") from None
        return separators

    @model_validator(mode="after")
    def _overlap(self) -> SegmentRule:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class Rule(BaseModel):
    pre_process_rules: list[PreProcessRule] = Field(
        default_factory=list, max_length=10, validation_alias=AliasChoices("pre_process_rules", "pre_proces_rules"))
    segment: SegmentRule


class AddDocuments(BaseModel):
    upload_file_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_FILES)
    process_type: Literal["automatic", "custom"]
    rule: Rule | None = None


class Rename(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Enabled(BaseModel):
    enabled: bool


def chunk_config(body: AddDocuments) -> dict[str, Any] | None:
    """The core chunk settings of a custom rule; None keeps the dataset's (automatic)."""
    if body.process_type == "automatic":
        return None
    if body.rule is None:
        raise validate_error("rule", "is required when process_type is custom")
    seg = body.rule.segment
    return {"method": "general", "chunk_size": seg.chunk_size, "chunk_overlap": seg.chunk_overlap,
            "separators": list(seg.separators), "preprocess": [r.id for r in body.rule.pre_process_rules if r.enabled]}


@router.get("/datasets/{dataset_id}/documents", summary="List a dataset's documents (search by name, paged)")
def list_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, search_word: SearchWord = "",
                   current_page: CurrentPage = 1, page_size: PageSize = 20) -> dict:
    page = svc.documents.list(who.tenant_id, dataset_id, search=search_word.strip(), page=current_page,
                              page_size=page_size)
    return ok(paged([document_view(d) for d in page.items], page))


@router.post("/datasets/{dataset_id}/documents", summary="Add documents from upload files; returns the batch id")
def add_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: AddDocuments) -> dict:
    batch, docs = svc.documents.add_files(who.tenant_id, dataset_id, body.upload_file_ids,
                                          chunk_config=chunk_config(body))
    return ok({"documents": [{"id": d.id, "name": d.name, "status": document_status(d)[0],
                              "created_at": ts(d.created_at)} for d in docs], "batch": batch})


@router.get("/datasets/{dataset_id}/documents/batch/{batch}", summary="Each document's progress in a batch")
def batch_progress(svc: ServicesDep, who: PrincipalDep, dataset_id: str, batch: str) -> dict:
    return ok([batch_item(d) for d in svc.documents.batch(who.tenant_id, dataset_id, batch)])


@router.post("/datasets/{dataset_id}/documents/{document_id}/name", summary="Rename a document")
def rename(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, body: Rename) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.documents.update(who.tenant_id, document_id, name=body.name)
    return ok(message="更新文档名称成功")


@router.post("/datasets/{dataset_id}/documents/{document_id}/enabled",
             summary="Enable or disable a document (once it is completed)")
def set_enabled(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str, body: Enabled) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.documents.set_enabled(who.tenant_id, document_id, body.enabled)
    return ok(message="更新文档启用状态成功")


@router.get("/datasets/{dataset_id}/documents/{document_id}", summary="Get a document")
def get_document(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str) -> dict:
    return ok(document_view(svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)))


@router.post("/datasets/{dataset_id}/documents/{document_id}/delete",
             summary="Delete a document with its segments")
def delete_document(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str) -> dict:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    svc.documents.delete(who.tenant_id, [document_id])
    return ok(message="删除文档成功")
