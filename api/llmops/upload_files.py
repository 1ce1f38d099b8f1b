"""LLMOps upload files (3.1, 3.2) over the core file storage service: a file kept for later use (a dataset's
documents, a tool, an icon), answered with its id and an expiring signed URL served by this process."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from api.common.auth import PrincipalDep, ServicesDep
from api.common.uploads import absolute_url, read_limited
from api.llmops.errors import LlmopsRoute, ok
from api.llmops.views import file_view

router = APIRouter(tags=["LLMOps: upload files"], route_class=LlmopsRoute)
FileField = Annotated[UploadFile, File(description="the file (one per request)")]


@router.post("/upload-files/file", summary="Upload a file for later use")
def upload_file(request: Request, svc: ServicesDep, who: PrincipalDep, file: FileField) -> dict:
    stored = svc.files.save(who.tenant_id, file.filename or "", read_limited(svc, file))
    return ok(file_view(stored, absolute_url(request, svc, stored)))


@router.post("/upload-files/image", summary="Upload an image (jpg, jpeg, png, gif, webp); returns its URL")
def upload_image(request: Request, svc: ServicesDep, who: PrincipalDep, file: FileField) -> dict:
    stored = svc.files.save(who.tenant_id, file.filename or "", read_limited(svc, file), image=True)
    return ok({"id": stored.id, "image_url": absolute_url(request, svc, stored)})
