"""RAGFlow documents of a dataset: upload, update, download, list, delete, parse and stop parsing."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Response, UploadFile
from pydantic import BaseModel, ConfigDict

from api.common.auth import PrincipalDep, ServicesDep
from api.common.paging import MAX_PAGE_SIZE
from api.ragflow.bulk import BulkIds, Outcome, RagflowPage, RagflowPageSize, page_window
from api.ragflow.errors import DialectError, RagflowRoute, argument_error, data_error
from api.ragflow.parsers import CHUNK_METHODS, default_parser_config
from api.ragflow.views import apply_chunk_settings, document_settings, document_view, ms, ok, order_field
from core.container import Services
from core.errors import NotFound
from core.schemas import ACTIVE_STATES, DocumentInfo, KnowledgeBaseInfo

router = APIRouter(prefix="/api/v1", tags=["RAGFlow: documents"], route_class=RagflowRoute)

NAME_BYTES = 255
# RAGFlow takes files by extension (documents, PDFs, audio, images and video) and refuses the rest.
KNOWN_FILES = re.compile(
    r".*\.(pdf|msg|eml|doc|docx|ppt|pptx|yml|xml|htm|json|jsonl|ldjson|csv|txt|ini|xls|xlsx|wps|rtf|hlp|pages|"
    r"numbers|key|md|py|js|java|c|cpp|h|php|go|ts|sh|cs|kt|html|sql|wav|flac|ape|alac|wavpack|wv|mp3|aac|ogg|"
    r"vorbis|opus|jpg|jpeg|png|tif|gif|pcx|tga|exif|fpx|svg|psd|cdr|pcd|dxf|ufo|eps|ai|raw|wmf|webp|avif|apng|"
    r"icon|ico|mpg|mpeg|avi|rm|rmvb|mov|wmv|asf|dat|asx|wvx|mpe|mpa|mp4|mkv)$")
SERVER_ERROR = 500  # RAGFlow's code for files it refuses at upload
READ_ONLY = {"chunk_count": "chunk_count", "token_count": "token_count", "progress": "progress"}


class UpdateDocument(BaseModel):
    """Loosely typed on purpose: RAGFlow checks each field itself and words each problem its own way."""

    model_config = ConfigDict(extra="ignore")
    name: Any = None
    chunk_method: Any = None
    parser_config: Any = None
    meta_fields: Any = None
    enabled: Any = None
    chunk_count: Any = None
    token_count: Any = None
    progress: Any = None


class DocumentIds(BaseModel):
    model_config = ConfigDict(extra="ignore")
    document_ids: list[str] | None = None


@router.post("/datasets/{dataset_id}/documents", summary="Upload documents (stored, not parsed: run = UNSTART)")
def upload_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str,
                     file: Annotated[list[UploadFile] | None, File(description="repeat the field for several files")]
                     = None) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    if not file:
        raise argument_error("No file part!")
    for upload in file:
        name = upload.filename or ""
        if not name:
            raise argument_error("No file selected!")
        if len(name.encode()) > NAME_BYTES:
            raise argument_error(f"File name must be {NAME_BYTES} bytes or less.")
        if not KNOWN_FILES.fullmatch(name.lower()):
            raise DialectError(SERVER_ERROR, f"{name}: This type of file has not been supported yet!")
    docs = svc.documents.upload(who.tenant_id, dataset_id, [(u.filename, u.file.read()) for u in file], parse=False,
                                rename_duplicates=True)
    return ok([document_view(d, kb) for d in docs])


def name_change(svc: Services, doc: DocumentInfo, name: Any) -> str:
    if not isinstance(name, str):
        raise argument_error("`name` should be a string")
    if len(name.encode()) > NAME_BYTES:
        raise argument_error(f"File name must be {NAME_BYTES} bytes or less.")
    if PurePath(name.lower()).suffix != PurePath(doc.name.lower()).suffix:
        raise argument_error("The extension of file can't be changed")
    if svc.documents.list(doc.tenant_id, doc.kb_id, name=name, page_size=1).total:
        raise data_error("Duplicated document name in the same dataset.")
    return name


def settings_change(doc: DocumentInfo, kb: KnowledgeBaseInfo, body: UpdateDocument, fields: set[str]
                    ) -> dict[str, Any]:
    """chunk_config and extra for a new chunk_method / parser_config: each given key replaces the document's
    (so it reads back exactly as written), or the method's defaults when none is given."""
    old_method, old_config = document_settings(doc, kb)
    method = body.chunk_method if "chunk_method" in fields else old_method
    if method not in CHUNK_METHODS:
        raise data_error(f"`chunk_method` {method} doesn't exist")
    if "chunk_method" in fields and doc.kind in ("png", "jpg", "jpeg", "gif", "ppt", "pptx", "pages"):
        raise data_error("Not supported yet!")
    if body.parser_config:
        if not isinstance(body.parser_config, dict):
            raise argument_error("`parser_config` should be an object")
        config = {**old_config, **body.parser_config}
    else:
        config = default_parser_config(method) if method != old_method or "parser_config" in fields else old_config
    return {"chunk_config": apply_chunk_settings(method, config),
            "extra": {"ragflow": {"chunk_method": method, "parser_config": config}}}


@router.put("/datasets/{dataset_id}/documents/{document_id}", summary="Update a document")
def update_document(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str,
                    body: UpdateDocument | None = None) -> dict:
    body = body or UpdateDocument()
    fields = body.model_fields_set
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    doc = svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    current = {"chunk_count": doc.chunk_count, "token_count": doc.token_count,
               "progress": document_view(doc, kb)["progress"]}
    for field in READ_ONLY:
        if field in fields and getattr(body, field) != current[field]:
            raise data_error(f"Can't change `{field}`.")
    changes: dict[str, Any] = {}
    if "meta_fields" in fields:
        if not isinstance(body.meta_fields, dict):
            raise data_error("meta_fields must be a dictionary")
        changes["meta"] = body.meta_fields
    if "name" in fields and body.name != doc.name:
        changes["name"] = name_change(svc, doc, body.name)
    if fields & {"chunk_method", "parser_config"}:
        changes.update(settings_change(doc, kb, body, fields))
    if changes:
        doc = svc.documents.update(who.tenant_id, document_id, **changes)
    if body.enabled is not None and bool(body.enabled) != doc.enabled:
        svc.documents.set_enabled(who.tenant_id, document_id, bool(body.enabled))
        return ok(True)
    return ok(document_view(doc, kb))


@router.get("/datasets/{dataset_id}/documents/{document_id}", summary="Download a document's original file",
            response_class=Response)
def download_document(svc: ServicesDep, who: PrincipalDep, dataset_id: str, document_id: str) -> Response:
    svc.documents.get(who.tenant_id, document_id, kb_id=dataset_id)
    name, data, mime = svc.documents.download(who.tenant_id, document_id)
    return Response(data, media_type=mime,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def in_time_window(doc: DocumentInfo, start: int, end: int) -> bool:
    created = ms(doc.created_at) or 0
    return (not start or created >= start) and (not end or created <= end)


@router.get("/datasets/{dataset_id}/documents", summary="List documents")
def list_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, page: RagflowPage = 1,
                   page_size: RagflowPageSize = 30, orderby: str = "create_time", desc: bool = True,
                   keywords: str | None = None, id: str | None = None, name: str | None = None,
                   create_time_from: int = 0, create_time_to: int = 0) -> dict:
    kb = svc.knowledge.get(who.tenant_id, dataset_id)
    order = order_field(orderby)
    if id:
        svc.documents.get(who.tenant_id, id, kb_id=dataset_id)
    if name and not svc.documents.list(who.tenant_id, dataset_id, name=name, page_size=1).total:
        raise data_error(f"You don't own the document {name}.")
    query = {"search": keywords or "", "order_by": order, "desc": desc, "doc_id": id or "", "name": name or ""}
    if create_time_from or create_time_to:  # the core lists have no time filter: filter all, then take the page
        everything = svc.documents.list(who.tenant_id, dataset_id, page_size=MAX_PAGE_SIZE, **query).items
        kept = [d for d in everything if in_time_window(d, create_time_from, create_time_to)]
        start, stop = page_window(page, page_size)
        total, docs = len(kept), kept[start:stop]
    else:
        found = svc.documents.list(who.tenant_id, dataset_id, page=max(page, 1), page_size=page_size or 1, **query)
        total, docs = found.total, found.items if page_size else []
    return ok({"docs": [document_view(d, kb) for d in docs], "total": total})


def documents_of(svc: Services, tenant_id: str, dataset_id: str, ids: list[str]) -> Outcome:
    """The given documents of this dataset, and the ids that name none."""
    found = {d.id: d for d in svc.documents.list(tenant_id, dataset_id, page_size=MAX_PAGE_SIZE).items}
    return Outcome.of(ids, found, "document")


def not_found_error(outcome: Outcome) -> DialectError:
    return data_error(f"Documents not found: {outcome.missing}")


@router.delete("/datasets/{dataset_id}/documents", summary="Delete documents (all of the dataset's when no ids)")
def delete_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: BulkIds | None = None) -> dict:
    svc.knowledge.require(who.tenant_id, dataset_id)
    ids = body.ids if body and body.ids else [d.id for d in svc.documents.list(
        who.tenant_id, dataset_id, page_size=MAX_PAGE_SIZE).items]
    outcome = documents_of(svc, who.tenant_id, dataset_id, ids)
    if outcome.found:
        svc.documents.delete(who.tenant_id, list(outcome.found))
    if outcome.missing:  # the others are deleted all the same, as RAGFlow does
        raise not_found_error(outcome)
    return outcome.answer("Partially deleted {n} datasets with {e} errors")


def required_ids(body: DocumentIds | None) -> list[str]:
    if body is None or not body.document_ids:
        raise data_error("`document_ids` is required")
    return body.document_ids


@router.post("/datasets/{dataset_id}/chunks", summary="Parse documents (queue them for ingestion)")
def parse_documents(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: DocumentIds | None = None) -> dict:
    svc.knowledge.require(who.tenant_id, dataset_id)
    outcome = documents_of(svc, who.tenant_id, dataset_id, required_ids(body))
    if any(d.task is not None and d.task.state in ACTIVE_STATES for d in outcome.found.values()):
        raise data_error("Can't parse document that is currently being processed")
    if outcome.found:
        svc.documents.parse(who.tenant_id, list(outcome.found))
    if outcome.missing:  # the others are queued all the same, as RAGFlow does
        raise not_found_error(outcome)
    return outcome.answer("Partially parsed {n} documents with {e} errors")


@router.delete("/datasets/{dataset_id}/chunks", summary="Stop parsing documents")
def stop_parsing(svc: ServicesDep, who: PrincipalDep, dataset_id: str, body: DocumentIds | None = None) -> dict:
    svc.knowledge.require(who.tenant_id, dataset_id)
    outcome = documents_of(svc, who.tenant_id, dataset_id, required_ids(body))
    if outcome.missing:
        raise NotFound("", kind="document", ident=outcome.missing[0])
    if any(d.task is None or d.task.state not in ACTIVE_STATES for d in outcome.found.values()):
        raise data_error("Can't stop parsing document with progress at 0 or 1")
    svc.documents.cancel(who.tenant_id, list(outcome.found))
    return outcome.answer("Partially stopped {n} documents with {e} errors")

