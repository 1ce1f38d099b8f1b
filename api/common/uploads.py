"""Uploads every dialect shares: reading a multipart file within the size limit, the absolute signed URL of a
stored file (core/files.py), and the file a signed URL of this server names."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from fastapi import Request, UploadFile

from core.container import Services
from core.errors import InvalidInput
from core.files import StoredFile


def read_limited(svc: Services, upload: UploadFile) -> bytes:
    """At most one byte more than the limit: enough for the service to refuse a file that is too large."""
    return upload.file.read(svc.settings.file_max_bytes + 1)


def absolute_url(request: Request, svc: Services, f: StoredFile) -> str:
    return str(request.base_url).rstrip("/") + svc.files.signed_path(f)


def file_id_of(url: str, field: str = "file_url") -> str:
    """The id in a file URL this server signed (`…/files/<id>?exp=…&sig=…`); InvalidInput for any other URL."""
    path = PurePosixPath(urlsplit(url.strip()).path) if isinstance(url, str) else PurePosixPath()
    if path.parent.name != "files" or not path.name.isalnum():
        raise InvalidInput(f"{field}: not a file URL of this server (upload the file first; its URL looks like "
                           "…/files/<id>?exp=…&sig=…)")
    return path.name
