"""The file storage service: files a tenant uploads for later use (a knowledge base, a tool, an icon), not yet
documents, served to browsers by expiring signed URLs.

Files are rows of `upload_files` (purpose `file` or `image`) over the content-addressed blob store, the same
rows document originals use: a document made from an upload points at its row, and deleting the upload
while documents use it hands the row over to them (purpose `document`), so they keep their original.

Limits come from the settings: size (`file_max_mb`) and extensions (`file_extensions`, `image_extensions`).
Images are sniffed with Pillow: the content must be an image of the kind its extension claims, and its mime
type is the one the content shows. A signed URL is `/files/<id>?exp=<unix time>&sig=<HMAC of id and exp>`;
whoever holds it may read the file until `exp`, and nobody can make one for another file or a later time.
"""

from __future__ import annotations

import io
import mimetypes
import time
from datetime import datetime
from pathlib import PurePath

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel
from sqlalchemy import func, or_, select

from core.config import Settings
from core.documents import UPLOAD_PURPOSES, safe_name
from core.errors import Forbidden, InvalidInput, NotFound, TooLarge
from core.schemas import Page
from core.scope import check_paging
from core.secrets import Sealer
from storage.db import Database
from storage.files import BlobStore
from storage.orm import Document, UploadFile

# Pillow's format name -> the extensions that may carry it.
IMAGE_FORMATS = {"JPEG": ("jpg", "jpeg"), "PNG": ("png",), "GIF": ("gif",), "WEBP": ("webp",)}


class StoredFile(BaseModel):
    id: str
    tenant_id: str
    name: str
    size: int
    extension: str  # without the dot, lower case
    mime_type: str
    purpose: str  # file | image
    folder: str  # where it was filed ("" = none)
    sha256: str
    key: str  # where the blob store keeps it
    created_at: datetime


def stored_file(row: UploadFile) -> StoredFile:
    return StoredFile(id=row.id, tenant_id=row.tenant_id, name=row.name, size=row.size,
                      extension=extension_of(row.name), mime_type=row.mime_type, purpose=row.purpose, folder=row.folder or "",
                      sha256=row.sha256, key=row.storage_key,
                      created_at=row.created_at)


def clean_folder(folder: str) -> str:
    """A folder path: slash-separated names, no empty, `.` or `..` parts; InvalidInput otherwise."""
    parts = [p.strip() for p in (folder or "").replace("\\", "/").replace("\x00", "").strip("/ ").split("/")]
    if parts == [""]:
        return ""
    if any(p in ("", ".", "..") for p in parts) or len("/".join(parts)) > 255:
        raise InvalidInput(f"folder: {folder!r} is not a folder path (names separated by /, at most 255 characters)")
    return "/".join(parts)


def extension_of(name: str) -> str:
    return PurePath(name).suffix.lstrip(".").lower()


def sniff_image(name: str, data: bytes) -> str:
    """The image's mime type; InvalidInput unless `data` is a whole image of the kind its extension names."""
    ext = extension_of(name)
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            img.verify()  # a truncated or corrupt file fails here
    except Image.DecompressionBombError:
        raise InvalidInput(f"file: '{name}' has too many pixels to be accepted as an image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(f"file: '{name}' is not a readable image (JPEG, PNG, GIF or WebP)") from None
    if ext not in IMAGE_FORMATS.get(fmt, ()):
        raise InvalidInput(f"file: '{name}' contains a {fmt or 'unknown'} image, not what .{ext} promises: "
                           f"rename it .{IMAGE_FORMATS.get(fmt, ('?',))[0]}")
    return Image.MIME.get(fmt, f"image/{fmt.lower()}")


class FileService:
    def __init__(self, db: Database, blobs: BlobStore, settings: Settings, sealer: Sealer):
        self.db, self.blobs, self.settings, self.sealer = db, blobs, settings, sealer

    # ------------------------------------------------------------------ storing
    def _check(self, name: str, data: bytes, image: bool) -> tuple[str, str]:
        """(clean name, mime type); InvalidInput / TooLarge for what the settings do not allow."""
        try:
            name = safe_name(name)
        except InvalidInput as exc:
            raise InvalidInput(f"file: {exc.message}") from None
        ext = extension_of(name)
        allowed = self.settings.allowed_image_extensions if image else self.settings.allowed_file_extensions
        if ext not in allowed:
            what = "Images" if image else "Files"
            raise InvalidInput(f"file: .{ext or '(none)'} is not accepted ({what.lower()} may be "
                               f"{', '.join(sorted(allowed))})")
        if not data:
            raise InvalidInput(f"file: '{name}' is empty")
        if len(data) > self.settings.file_max_bytes:
            raise TooLarge(f"file: '{name}' is {len(data) / 2**20:.1f} MB; the limit is {self.settings.file_max_mb} MB")
        if image or ext in self.settings.allowed_image_extensions:
            return name, sniff_image(name, data)
        return name, mimetypes.guess_type(name)[0] or "application/octet-stream"

    def save(self, tenant_id: str, name: str, data: bytes, *, image: bool = False, folder: str = "") -> StoredFile:
        """Store an upload (an image when `image`: image extensions only, content checked), filed in `folder`."""
        name, mime = self._check(name, data, image)
        folder = clean_folder(folder)
        blob = self.blobs.put(data)
        with self.db.session() as s:
            row = UploadFile(tenant_id=tenant_id, name=name, size=len(data), mime_type=mime, sha256=blob.sha256,
                             storage_key=blob.key, purpose="image" if image else "file", folder=folder)
            s.add(row)
            s.flush()
            return stored_file(row)

    # ------------------------------------------------------------------ reading
    @staticmethod
    def _load(s, tenant_id: str | None, file_id: str) -> UploadFile:
        row = s.get(UploadFile, file_id) if isinstance(file_id, str) and file_id else None
        if row is None or row.purpose not in UPLOAD_PURPOSES or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFound(f"File '{file_id}' not found", kind="upload_file", ident=str(file_id))
        return row

    def get(self, tenant_id: str, file_id: str) -> StoredFile:
        with self.db.session() as s:
            return stored_file(self._load(s, tenant_id, file_id))

    def read(self, tenant_id: str, file_id: str) -> tuple[StoredFile, bytes]:
        info = self.get(tenant_id, file_id)
        return info, self.blobs.get(info.key)

    def list(self, tenant_id: str, *, prefix: str = "", purpose: str | None = None, page: int = 1,
             page_size: int = 20) -> Page:
        """The tenant's uploads whose name, or folder/name, starts with `prefix` (case-insensitive), newest first."""
        check_paging(page, page_size)
        q = select(UploadFile).where(UploadFile.tenant_id == tenant_id,
                                     UploadFile.purpose.in_([purpose] if purpose else UPLOAD_PURPOSES))
        if prefix:
            q = q.where(or_(func.lower(UploadFile.name).startswith(prefix.lower(), autoescape=True),
                            func.lower(UploadFile.folder + "/" + UploadFile.name).startswith(prefix.lower(),
                                                                                           autoescape=True)))
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(UploadFile.created_at.desc(), UploadFile.id)
                             .offset((page - 1) * page_size).limit(page_size)).all()
            return Page(items=[stored_file(r) for r in rows], total=total, page=page, page_size=page_size)

    def delete(self, tenant_id: str, file_id: str) -> None:
        """Gone from the tenant's uploads; documents made from it keep it as their original."""
        with self.db.session() as s:
            row = self._load(s, tenant_id, file_id)
            if s.scalar(select(Document.id).where(Document.file_id == row.id).limit(1)):
                row.purpose = "document"  # released with the last document (core/documents.release_files)
                return
            key = row.storage_key
            s.delete(row)
            s.flush()
            if not s.scalar(select(UploadFile.id).where(UploadFile.storage_key == key).limit(1)):
                self.blobs.delete(key)

    # ------------------------------------------------------------------ signed URLs
    def signed_path(self, file: StoredFile, ttl_s: int | None = None) -> str:
        """`/files/<id>?exp=...&sig=...`, readable by anyone until it expires (images live longer: icons)."""
        if ttl_s is None:
            ttl_s = self.settings.image_url_ttl_s if file.purpose == "image" else self.settings.file_url_ttl_s
        exp = int(time.time()) + ttl_s
        return f"/files/{file.id}?exp={exp}&sig={self.sealer.sign(f'file:{file.id}:{exp}')}"

    def open_signed(self, file_id: str, exp: str, sig: str) -> tuple[StoredFile, bytes]:
        """The file a signed URL names; Forbidden when the signature is wrong or the link has expired."""
        if not exp.isdigit() or not self.sealer.verify(f"file:{file_id}:{exp}", sig):
            raise Forbidden("This file link is not valid")
        if int(exp) < time.time():
            raise Forbidden("This file link has expired")
        with self.db.session() as s:
            info = stored_file(self._load(s, None, file_id))
        return info, self.blobs.get(info.key)
