"""WeKnora knowledge = Almanac documents: from a file (with metadata) or a URL, list, get, batch, update, delete,
download, and a chunk's image information."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import ServicesDep
from api.common.paging import MAX_IDS, PageParam, PageSizeParam
from api.weknora.errors import CONFLICT, WeknoraRoute, bad_request
from api.weknora.views import IMAGE_INFO, CallerDep, chunk_view, knowledge_view, ok
from core.container import Services
from core.errors import Conflict
from core.schemas import DocumentInfo

router = APIRouter(prefix="/api/v1", tags=["WeKnora: knowledge"], route_class=WeknoraRoute)


class UrlBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # enable_multimodel: no image model here
    url: str = Field(min_length=1)


class KnowledgeBody(BaseModel):
    """WeKnora's clients send the whole knowledge; title, metadata and enable_status are what can change."""

    model_config = ConfigDict(extra="ignore")
    title: str | None = None
    metadata: dict[str, Any] | None = None
    enable_status: str | None = None


class ImageInfoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    image_info: str


def views(svc: Services, docs: list[DocumentInfo], number: int) -> list[dict[str, Any]]:
    """Knowledge views, each with its knowledge base's embedding model."""
    models: dict[str, str] = {}
    for doc in docs:
        if doc.kb_id not in models:
            models[doc.kb_id] = svc.knowledge.get(doc.tenant_id, doc.kb_id).embedding_model
    return [knowledge_view(d, number, models[d.kb_id]) for d in docs]


def duplicate(svc: Services, tenant_id: str, exc: Conflict, number: int, kind: str) -> JSONResponse:
    """409 as WeKnora answers a duplicate: the existing knowledge in `data`, `code` duplicate_file|url."""
    existing = views(svc, [svc.documents.get(tenant_id, exc.ident)], number)[0]
    return JSONResponse({"success": False, "code": f"duplicate_{kind}", "message": exc.message, "data": existing,
                         "error": {"code": CONFLICT, "message": exc.message, "details": existing["id"]}},
                        status_code=409)


def metadata_map(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_request("Invalid metadata format", str(exc)) from None
    if not isinstance(value, dict):
        raise bad_request("Invalid metadata format", "metadata must be a JSON object of strings")
    return {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in value.items()}


@router.post("/knowledge-bases/{id}/knowledge/file", summary="Upload a file as knowledge (parsed at once)")
def create_from_file(svc: ServicesDep, who: CallerDep, id: str,  # noqa: A002 - WeKnora's name
                     file: Annotated[UploadFile | None, File()] = None,
                     metadata: Annotated[str | None, Form(description="JSON object of strings")] = None,
                     enable_multimodel: Annotated[str | None, Form()] = None) -> Any:  # noqa: ARG001 - no image model
    svc.knowledge.require(who.tenant_id, id)
    if file is None or not (file.filename or "").strip():
        raise bad_request("File upload failed", "send the file as the multipart field `file`")
    meta = metadata_map(metadata)
    try:
        (doc,) = svc.documents.upload(who.tenant_id, id, [(file.filename, file.file.read())], meta=meta,
                                      on_duplicate="error")
    except Conflict as exc:
        if not exc.ident:
            raise
        return duplicate(svc, who.tenant_id, exc, who.number, "file")
    return ok(views(svc, [doc], who.number)[0])


@router.post("/knowledge-bases/{id}/knowledge/url", status_code=201, summary="Fetch a URL as knowledge")
def create_from_url(svc: ServicesDep, who: CallerDep, id: str, body: UrlBody) -> Any:  # noqa: A002
    try:
        doc = svc.documents.import_url(who.tenant_id, id, body.url, on_duplicate="error")
    except Conflict as exc:
        if not exc.ident:
            raise
        return duplicate(svc, who.tenant_id, exc, who.number, "url")
    return ok(views(svc, [doc], who.number)[0])


@router.get("/knowledge-bases/{id}/knowledge", summary="A knowledge base's knowledge, newest first")
def list_knowledge(svc: ServicesDep, who: CallerDep, id: str, page: PageParam = 1,  # noqa: A002
                   page_size: PageSizeParam = 20) -> dict:
    found = svc.documents.list(who.tenant_id, id, page=page, page_size=page_size)
    return ok(views(svc, found.items, who.number), total=found.total, page=found.page, page_size=found.page_size)


@router.get("/knowledge/batch", summary="Several knowledge entries by id (?ids=a&ids=b); others' ids are left out")
def knowledge_batch(svc: ServicesDep, who: CallerDep,
                    ids: Annotated[list[str], Query(min_length=1, max_length=MAX_IDS)]) -> dict:
    return ok(views(svc, svc.documents.get_many(who.tenant_id, ids), who.number))


@router.get("/knowledge/{id}", summary="A knowledge entry with its parse status")
def get_knowledge(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002
    return ok(views(svc, [svc.documents.get(who.tenant_id, id)], who.number)[0])


@router.put("/knowledge/{id}", summary="Rename knowledge, replace its metadata, enable or disable it")
def update_knowledge(svc: ServicesDep, who: CallerDep, id: str, body: KnowledgeBody) -> dict:  # noqa: A002
    doc = svc.documents.get(who.tenant_id, id)
    if body.enable_status not in (None, "", "enabled", "disabled"):
        raise bad_request("enable_status must be enabled or disabled")
    if (body.title and body.title != doc.name) or body.metadata is not None:
        meta = metadata_map(json.dumps(body.metadata)) if body.metadata is not None else None
        doc = svc.documents.update(who.tenant_id, id, name=body.title or None, meta=meta)
    shown = knowledge_view(doc, who.number)["enable_status"]  # what a client read back: sending it changes nothing
    if body.enable_status and body.enable_status != shown:
        doc = svc.documents.set_enabled(who.tenant_id, id, body.enable_status == "enabled")
    return ok(views(svc, [doc], who.number)[0], message="Knowledge updated successfully")


@router.delete("/knowledge/{id}", summary="Delete knowledge with its chunks and file")
def delete_knowledge(svc: ServicesDep, who: CallerDep, id: str) -> dict:  # noqa: A002
    svc.documents.delete(who.tenant_id, [id])
    return ok(message="Deleted successfully")


@router.get("/knowledge/{id}/download", summary="The original file (attachment)",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def download_knowledge(svc: ServicesDep, who: CallerDep, id: str) -> Response:  # noqa: A002
    name, data, _mime = svc.documents.download(who.tenant_id, id)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.put("/knowledge/image/{id}/{chunk_id}", summary="Set the image information (a JSON string) of a chunk")
def update_image_info(svc: ServicesDep, who: CallerDep, id: str, chunk_id: str,  # noqa: A002
                      body: ImageInfoBody) -> dict:
    try:
        json.loads(body.image_info)
    except json.JSONDecodeError as exc:
        raise bad_request("image_info must be a JSON string", str(exc)) from None
    svc.chunks.get(who.tenant_id, chunk_id, doc_id=id)
    chunk = svc.chunks.update(who.tenant_id, chunk_id, meta={IMAGE_INFO: body.image_info})
    return ok(chunk_view(chunk, who.number), message="Knowledge chunk image updated successfully")
