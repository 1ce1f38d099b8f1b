"""Images (png, jpg, webp, bmp, tiff; every frame of a multi-page tiff) read by OCR."""

from __future__ import annotations

import io
from collections.abc import Iterator

from core.errors import DocumentReadError
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section


def check_ocr_pages(count: int, ctx: ReadContext, what: str) -> None:
    limit = ctx.limits.max_ocr_pages
    if count and not limit:
        raise DocumentReadError(f"The {what} needs text recognition (OCR), which is turned off on this server "
                                "(setting ALMANAC_OCR_MAX_PAGES is 0)")
    if count > limit:
        raise DocumentReadError(
            f"The {what} has {count:,} pages that need text recognition (OCR), more than the limit of "
            f"{limit:,} per document (setting ALMANAC_OCR_MAX_PAGES); split it into smaller files"
        )


def ocr_section(image, where: dict) -> Section | None:  # type: ignore[no-untyped-def]
    """One page, slide or picture through OCR -> a section that records OCR and its confidence.

    `where` locates it: {"page": 3}, {"slide": 2}, or {} for a single image."""
    from core.ingestion.ocr import recognize

    found = recognize(image)
    if not found.text.strip():
        return None
    return Section(found.text, {**where, "ocr": [{**where, "confidence": found.confidence}]})


def flatten(image):  # type: ignore[no-untyped-def]
    """RGB on white: transparent pixels would otherwise turn black and hide dark text."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)  # phone photos are stored sideways
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def _frames(data: bytes) -> Iterator:  # type: ignore[type-arg]
    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as image:
        for frame in ImageSequence.Iterator(image):
            yield flatten(frame)


def _read_image(data: bytes, ctx: ReadContext) -> ParsedDocument:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as probe:
            count = getattr(probe, "n_frames", 1)
    except Image.DecompressionBombError:
        raise DocumentReadError("The image has too many pixels to read safely; scale it down and upload it again") from None
    check_ocr_pages(count, ctx, "image")
    sections = []
    for number, frame in enumerate(_frames(data), start=1):
        ctx.report(f"Recognising text (OCR) on page {number}/{count}" if count > 1 else "Recognising text (OCR)",
                   (number - 1) / count)
        section = ocr_section(frame, {"page": number} if count > 1 else {})
        if section:
            sections.append(section)
    if not sections:
        raise DocumentReadError(
            "No text was recognised in the image; upload a sharper, well-lit scan or photo (150 dpi or more)"
        )
    return ParsedDocument("image", sections)


def _sniff(data: bytes, ext: str) -> bool:
    head = data[:16]
    return (head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
            or (head[:2] == b"BM" and head[6:10] == b"\x00" * 4))  # BMP: "BM", size, four zero bytes


READER = Reader(kind="image", label="image", read=_read_image, sniff=_sniff,
                extensions=(".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"))
