"""PowerPoint (.pptx): each slide's text top to bottom, tables as Markdown tables, speaker notes;
a slide that is only pictures (a scanned or pasted page) is read by OCR."""

from __future__ import annotations

import io

from core.ingestion.readers.archive import check_expanded
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section, md_table
from core.ingestion.readers.image import check_ocr_pages, flatten, ocr_section

LABEL = "PowerPoint (.pptx)"


def _shapes(shapes):  # type: ignore[no-untyped-def]
    """Shapes top to bottom, left to right; groups opened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _slide(slide) -> tuple[list[str], list[bytes]]:  # type: ignore[no-untyped-def]
    """(text blocks, picture bytes) of one slide, the title first as a heading."""
    title = slide.shapes.title
    blocks = [f"# {title.text_frame.text.strip()}"] if title is not None and title.text_frame.text.strip() else []
    pictures = []
    for shape in _shapes(slide.shapes):
        if title is not None and shape.shape_id == title.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            blocks.append(md_table([[cell.text for cell in row.cells] for row in shape.table.rows]))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame and shape.text_frame.text.strip():
            blocks.append(shape.text_frame.text.strip())
        elif hasattr(shape, "image"):
            pictures.append(shape.image.blob)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = slide.notes_slide.notes_text_frame.text.strip()
        if notes:
            blocks.append(f"Notes: {notes}")
    return [b for b in blocks if b], pictures


def _ocr_pictures(pictures: list[bytes], number: int) -> Section | None:
    from PIL import Image

    found = []
    for blob in pictures:
        with Image.open(io.BytesIO(blob)) as picture:
            section = ocr_section(flatten(picture), {"slide": number})
        if section is not None:
            found.append(section)
    if not found:
        return None
    return Section("\n\n".join(s.text for s in found), {"slide": number, "ocr": [e for s in found for e in s.meta["ocr"]]})


def _read_pptx(data: bytes, ctx: ReadContext) -> ParsedDocument:
    from pptx import Presentation

    check_expanded(data, ctx, LABEL)
    slides = [_slide(slide) for slide in Presentation(io.BytesIO(data)).slides]
    picture_only = [n for n, (blocks, pictures) in enumerate(slides, start=1) if not blocks and pictures]
    check_ocr_pages(sum(len(slides[n - 1][1]) for n in picture_only), ctx, "presentation")
    sections = []
    for number, (blocks, _) in enumerate(slides, start=1):
        if number in picture_only:
            ctx.report(f"Recognising text (OCR) on slide {number}", picture_only.index(number) / len(picture_only))
            section = _ocr_pictures(slides[number - 1][1], number)
            if section is not None:
                sections.append(section)
        elif blocks:
            sections.append(Section("\n\n".join(blocks), {"slide": number}))
    return ParsedDocument("pptx", sections)


READER = Reader(kind="pptx", label=LABEL, extensions=(".pptx", ".ppsx"), read=_read_pptx, zip_member="ppt/")
