"""Nexent's image proxy (/api/proxy/image): a remote image as base64, fetched behind the private-address guard
(core/net.py) within ALMANAC_IMAGE_PROXY_MAX_MB. The content must be an image; its type is what the bytes show.
Failures answer Nexent's `{"success": false, "error"}` with a real status.
"""

from __future__ import annotations

import base64
import io

from fastapi import APIRouter, Query
from PIL import Image, UnidentifiedImageError

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import ProxyRoute
from core.errors import InvalidInput
from core.net import fetch

router = APIRouter(prefix="/api/proxy", tags=["Nexent: image proxy"], route_class=ProxyRoute)
FETCH_TIMEOUT_S = 15.0


def image_type(data: bytes) -> str:
    """The image's mime type; InvalidInput when the bytes are not a readable image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format or ""
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput("The URL does not point to a readable image") from None
    return Image.MIME.get(kind, f"image/{kind.lower()}")


@router.get("/image", summary="A remote image as base64 (public addresses only, size-limited)")
def proxy_image(svc: ServicesDep, who: PrincipalDep, url: str = Query(min_length=1, max_length=4096)) -> dict:
    got = fetch(url.strip(), max_bytes=svc.settings.image_proxy_max_mb * 2**20, timeout=FETCH_TIMEOUT_S,
                allow_private=svc.settings.allow_private_urls)
    return {"success": True, "base64": base64.b64encode(got.content).decode("ascii"),
            "content_type": image_type(got.content)}
