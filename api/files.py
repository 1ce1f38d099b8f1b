"""Files of the file storage service (core/files.py) behind expiring signed URLs: `/files/<id>?exp=&sig=`.

Public: the signature is the permission (links go into <img> tags and downloads, which send no credential).
Images whose content was checked are shown inline; anything else downloads as an attachment, so an uploaded
page or script is never rendered as part of this site.
"""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Response

from api.common.auth import ServicesDep
from core.errors import Forbidden, NotFound

router = APIRouter(tags=["files"])
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}  # what core/files.py sniffs


@router.get("/files/{file_id}", summary="A stored file, by its signed URL", response_class=Response)
def signed_file(svc: ServicesDep, file_id: str, exp: str = "", sig: str = "") -> Response:
    try:
        info, data = svc.files.open_signed(file_id, exp, sig)
    except Forbidden as exc:
        raise HTTPException(403, exc.message) from None
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    disposition = "inline" if info.mime_type in INLINE_TYPES else "attachment"
    headers = {"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(info.name)}",
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
               "Cache-Control": f"private, max-age={max(0, min(int(exp) - int(time.time()), 3600))}"}
    return Response(data, media_type=info.mime_type, headers=headers)
