"""AgentChat's upload: a file kept in the workspace's file storage (core/files.py); the answer is its signed URL,
which `POST /api/v1/chat` takes as `file_url` (as AgentChat answers its object storage's signed URL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from api.agentchat.errors import AgentchatRoute, ok
from api.common.auth import PrincipalDep, ServicesDep
from api.common.uploads import absolute_url, read_limited

router = APIRouter(prefix="/api/v1", tags=["AgentChat: upload"], route_class=AgentchatRoute)


@router.post("/upload", summary="Upload a file (PDF, DOCX, TXT, JPG, ...); the answer is its signed URL")
def upload(request: Request, principal: PrincipalDep, svc: ServicesDep,
           file: Annotated[UploadFile, File(description="The file")]) -> dict:
    stored = svc.files.save(principal.tenant_id, file.filename or "", read_limited(svc, file))
    return ok(absolute_url(request, svc, stored))
