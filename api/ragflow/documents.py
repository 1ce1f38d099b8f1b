"""RAGFlow documents of a dataset: upload, update, download, list, delete, parse and stop parsing."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Response, UploadFile
from pydantic import BaseModel, ConfigDict

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import PageParam, PageSizeParam
from api.ragflow.datasets import Ids, unique_ids
from api.ragflow.errors import ARGUMENT, DialectError, RagflowRoute, data_error
from api.ragflow.parsers import check_method, merge_parser_config
from api.ragflow.views import apply_chunk_settings, document_settings, document_view, ms, ok, order_field
from core.ingestion.readers import detect_type
from core.schemas import ACTIVE_STATES

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: documents"], route_class=RagflowRoute)


class UpdateDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    chunk_method: str | None = None
    parser_config: dict[str, Any] | None = None
    meta_fields: dict[str, Any] | None = None
    enabled: bool | None = None


class DocumentIds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_ids: list[str] | None = None


def dataset_documents(svc: ServicesDep, tenant_id: str, dataset_id: str, ids: list[str]) -> list:
    """The documents, all of this dataset (checked before anything changes)."""
    return [svc.documents.get(tenant_id, d, kb_id=dataset_id) for d in unique_ids(ids)]


@router.post("/datasets/{dataset_id}/documents", summary="Upload documents (stored, not parsed: run = UNSTART)")
def upload_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str,
                     file: Annotated[list[UploadFile] | None, File(description="repeat the field for several files")]
                     = None) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    if not file:
        raise DialectError(ARGUMENT, "No file part!")
    files = []
    for upload in file:
        if not (upload.filename or "").strip():
            raise DialectError(ARGUMENT, "No file selected!")
        data = upload.file.read()
        detect_type(upload.filename, data)  # refuse what cannot be parsed now, as RAGFlow does
        files.append((upload.filename, data))
    docs = svc.documents.upload(who.tenant_id, dataset_id, files, parse=False)
    return ok([document_view(d, kb) for d in docs])


@router.put("/datasets/{dataset_id}/documents/{document_id}", summary="Update a document")
def update_document(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str,
                    body: UpdateDocument) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    changes: dict[str, Any] = {}
    if body.name is not None and body.name != doc.name:
        if PurePath(body.name).suffix.lower() != PurePath(doc.name).suffix.lower():
            raise data_error("The extension of file can't be changed")
        if svc.documents.list(who.tenant_id, dataset_id, name=body.name.strip()).total:
            raise data_error("Duplicated document name in the same dataset.")
        changes["name"] = body.name
    if body.chunk_method is not None or body.parser_config is not None:
        old_method, old_config = document_settings(doc, kb)
        method = check_method(body.chunk_method or old_method)
        parser_config = merge_parser_config(method, body.parser_config, old_config if method == old_method else None)
        changes["chunk_config"] = apply_chunk_settings(method, parser_config)
    if body.meta_fields is not None:
        changes["meta"] = body.meta_fields
    if changes:
        doc = svc.documents.update(who.tenant_id, document_id, **changes)
    if body.enabled is not None and body.enabled != doc.enabled:
        doc = svc.documents.set_enabled(who.tenant_id, document_id, body.enabled)
    return ok(document_view(doc, kb))


@router.get("/datasets/{dataset_id}/documents/{document_id}", summary="Download a document's original file",
            response_class=Response)
def download_document(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str) -> Response:
    svc.knowledge.get(who.tenant_id, dataset_id)
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    name, data, mime = svc.documents.download(who.tenant_id, document_id)
    return Response(data, media_type=mime,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/datasets/{dataset_id}/documents", summary="List documents")
def list_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, page: PageParam = 1,
                   page_size: PageSizeParam = 30, orderby: str = "create_time", desc: bool = True,
                   keywords: str | None = None, id: str | None = None, name: str | None = None,
                   create_time_from: int = 0, create_time_to: int = 0) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    order = order_field(orderby)
    if id:
        svc.documents.get(who.tenant_id, id, kb_id=dataset_id)
    query = {"search": keywords or "", "order_by": order, "desc": desc, "doc_id": id or "", "name": name or ""}
    if create_time_from or create_time_to:
        # The core lists have no time filter: filter the whole list here, then page it.
        everything = svc.documents.list(who.tenant_id, dataset_id, page_size=100_000, **query).items
        kept = [d for d in everything if (not create_time_from or ms(d.created_at) >= create_time_from)
                and (not create_time_to or ms(d.created_at) <= create_time_to)]
        total, docs = len(kept), kept[(page - 1) * page_size: page * page_size]
    else:
        found = svc.documents.list(who.tenant_id, dataset_id, page=page, page_size=page_size, **query)
        total, docs = found.total, found.items
    if name and not total:
        raise data_error(f"You don't own the document {name}.")
    return ok({"docs": [document_view(d, kb) for d in docs], "total": total})


@router.delete("/datasets/{dataset_id}/documents", summary="Delete documents (all of the dataset's when no ids)")
def delete_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: Ids | None = None) -> dict:
    svc.knowledge.get(who.tenant_id, dataset_id)
    ids = body.ids if body else None
    if ids is None:
        ids = [d.id for d in svc.documents.list(who.tenant_id, dataset_id, page_size=100_000).items]
    docs = dataset_documents(svc, who.tenant_id, dataset_id, ids)
    if docs:
        svc.documents.delete(who.tenant_id, [d.id for d in docs])
    return ok()


def required_ids(body: DocumentIds | None) -> list[str]:
    if body is None or not body.document_ids:
        raise data_error("`document_ids` is required")
    return body.document_ids


@router.post("/datasets/{dataset_id}/chunks", summary="Parse documents (queue them for ingestion)")
def parse_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: DocumentIds | None = None) -> dict:
    svc.knowledge.get(who.tenant_id, dataset_id)
    docs = dataset_documents(svc, who.tenant_id, dataset_id, list(dict.fromkeys(required_ids(body))))
    svc.documents.parse(who.tenant_id, [d.id for d in docs])
    return ok()


@router.delete("/datasets/{dataset_id}/chunks", summary="Stop parsing documents")
def stop_parsing(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: DocumentIds | None = None) -> dict:
    svc.knowledge.get(who.tenant_id, dataset_id)
    docs = dataset_documents(svc, who.tenant_id, dataset_id, list(dict.fromkeys(required_ids(body))))
    if any(d.task is None or d.task.state not in ACTIVE_STATES for d in docs):
        raise data_error("Can't stop parsing document with progress at 0 or 1")
    svc.documents.cancel(who.tenant_id, [d.id for d in docs])
    return ok()
