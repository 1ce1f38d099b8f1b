"""Nexent's files (/api/file) over the core file storage (core/files.py): upload into an index, storage (upload
several, list by prefix, one file as a signed URL or its bytes, delete, batch URLs), and preprocess (SSE progress
while files are read into text for a question).

An object name is the stored file's id (a file also keeps its name and the folder it was filed in; a prefix matches
either the name or folder/name). URLs are the core's signed links (`/files/<id>?exp=&sig=`, readable without a key
until they expire), made absolute with this server's address. A storage upload reports each file, as Nexent does:
a file refused (type, size) is a failed result beside the stored ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.common.sse import sse_frame, sse_response
from api.nexent.errors import NexentRoute, message_of
from api.nexent.sources import chunk_config
from api.nexent.views import iso
from core.container import Services
from core.errors import AlmanacError, InvalidInput, TooLarge
from core.files import StoredFile

router = APIRouter(prefix="/api/file", tags=["Nexent: files"], route_class=NexentRoute)
MAX_FILES = 100
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
ExpiresQuery = Query(3600, ge=10, le=7 * 86400, description="Lifetime of the URL, in seconds")


class BatchUrlsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    object_names: list[str] = Field(min_length=1, max_length=1000)
    expires: int | None = Field(None, ge=10, le=7 * 86400)


def signed_url(request: Request, svc: Services, file: StoredFile, ttl: int | None = None) -> str:
    return str(request.base_url).rstrip("/") + svc.files.signed_path(file, ttl)


def file_item(request: Request, svc: Services, f: StoredFile, with_url: bool = True) -> dict[str, Any]:
    item = {"object_name": f.id, "key": f.id, "name": f.name, "file_name": f.name, "folder": f.folder,
            "size": f.size, "content_type": f.mime_type, "last_modified": iso(f.created_at)}
    return {**item, "url": signed_url(request, svc, f)} if with_url else item


def read_all(files: list[UploadFile], limit: int, *, strict: bool = True) -> list[tuple[str, bytes]]:
    """Each upload's name and bytes, read no further than `limit` + 1 bytes; with `strict`, TooLarge for one over
    `limit` (otherwise the caller judges the size)."""
    if len(files) > MAX_FILES:
        raise InvalidInput(f"At most {MAX_FILES} files at once")
    read = []
    for f in files:
        data = f.file.read(limit + 1)
        if strict and len(data) > limit:
            raise TooLarge(f"'{f.filename}' is larger than {limit / 2**20:.0f} MB")
        read.append((f.filename or "file", data))
    return read


@router.post("/upload", status_code=201, summary="Upload files into an index; each becomes a document to process")
def upload_into_index(svc: ServicesDep, who: PrincipalDep, file: Annotated[list[UploadFile], File()],
                            index_name: Annotated[str, Form(min_length=1)],
                            chunking_strategy: Annotated[str | None, Form()] = None) -> dict:
    kb = svc.knowledge.find(who.tenant_id, index_name)
    config = chunk_config(chunking_strategy, {}, kb)
    docs = svc.documents.upload(who.tenant_id, kb.id, read_all(file, svc.settings.max_upload_bytes),
                                chunk_config=config)
    ids = [d.task.id for d in docs]
    return {"message": "Files uploaded and processed successfully", "uploaded_files": [d.name for d in docs],
            "process_tasks": {"task_id": ids[0]} if len(ids) == 1 else {"task_ids": ids}}


@router.post("/storage", summary="Store files (each reported: stored with its URL, or refused with the reason)")
def store_files(request: Request, svc: ServicesDep, who: PrincipalDep,
                      files: Annotated[list[UploadFile], File()],
                      folder: Annotated[str, Form(max_length=255)] = "attachments") -> dict:
    results = []
    for name, data in read_all(files, svc.settings.file_max_bytes, strict=False):  # core judges each file
        try:
            stored = svc.files.save(who.tenant_id, name, data, folder=folder)
        except AlmanacError as exc:
            results.append({"success": False, "file_name": name, "error": message_of(exc)})
            continue
        results.append({"success": True, **file_item(request, svc, stored), "file_size": stored.size,
                        "upload_time": iso(stored.created_at)})
    stored_count = sum(r["success"] for r in results)
    return {"message": f"Processed {len(results)} files", "success_count": stored_count,
            "failed_count": len(results) - stored_count, "results": results}


@router.get("/storage", summary="Stored files whose name (or folder/name) starts with a prefix, newest first")
def list_files(request: Request, svc: ServicesDep, who: PrincipalDep, prefix: str = Query("", max_length=512),
               limit: int = Query(100, ge=1, le=10_000), include_urls: bool = True) -> dict:
    found = svc.files.list(who.tenant_id, prefix=prefix, page_size=limit).items
    return {"total": len(found), "files": [file_item(request, svc, f, include_urls) for f in found]}


@router.post("/storage/batch-urls", summary="Signed URLs of several stored files")
def batch_urls(request: Request, svc: ServicesDep, who: PrincipalDep, body: BatchUrlsBody,
               expires: int = ExpiresQuery) -> dict:
    results = []
    for name in body.object_names:
        try:
            f = svc.files.get(who.tenant_id, name)
            results.append({"object_name": name, "success": True, "url": signed_url(request, svc, f,
                                                                                    body.expires or expires)})
        except AlmanacError as exc:
            results.append({"object_name": name, "success": False, "url": None, "error": message_of(exc)})
    ok = sum(r["success"] for r in results)
    return {"total": len(results), "success_count": ok, "failed_count": len(results) - ok, "results": results,
            "urls": results}


@router.get("/storage/{object_name}", summary="A stored file: its signed URL, or with download=true its bytes")
def get_file(request: Request, svc: ServicesDep, who: PrincipalDep, object_name: str, download: bool = False,
             expires: int = ExpiresQuery):  # noqa: ANN201 - JSON or the file
    if download:
        f, data = svc.files.read(who.tenant_id, object_name)
        return Response(data, media_type=f.mime_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f.name)}", "X-Content-Type-Options": "nosniff"})
    f = svc.files.get(who.tenant_id, object_name)
    until = datetime.fromtimestamp(int(time.time()) + expires, UTC).replace(tzinfo=None)
    return {"success": True, "object_name": f.id, "name": f.name, "url": signed_url(request, svc, f, expires),
            "expires_in": expires, "expires": iso(until)}


@router.delete("/storage/{object_name}", summary="Delete a stored file")
def delete_file(svc: ServicesDep, who: PrincipalDep, object_name: str) -> dict:
    svc.files.delete(who.tenant_id, object_name)
    return {"success": True, "message": f"File {object_name} successfully deleted"}


def preprocess_frames(svc: Services, query: str, files: list[tuple[str, bytes]]) -> Iterator[str]:
    """Nexent's preprocess stream: progress before each file, its text (or the error), then complete."""
    for i, (name, data) in enumerate(files):
        yield sse_frame({"type": "progress", "progress": int(i / len(files) * 100),
                         "message": f"Parsing file {i + 1}/{len(files)}: {name}"})
        try:
            text = svc.workspace.file_text(name, data)
        except AlmanacError as exc:
            yield sse_frame({"type": "error", "filename": name, "message": f"Error parsing file {name}: {exc.message}"})
            continue
        kind = "Image file" if name.lower().endswith(IMAGE_EXTENSIONS) else "File"
        yield sse_frame({"type": "file_processed", "filename": name, "description": f"{kind} {name} content: {text}"})
    yield sse_frame({"type": "complete", "progress": 100, "final_query": query})


@router.post("/preprocess", summary="Read files into text for a question (Server-Sent Events: progress per file)")
def preprocess(svc: ServicesDep, who: PrincipalDep, query: Annotated[str, Form()],
                     files: Annotated[list[UploadFile], File()]):  # noqa: ANN201 - an SSE response
    read = read_all(files, svc.settings.max_upload_bytes)
    return sse_response(preprocess_frames(svc, query, read))

