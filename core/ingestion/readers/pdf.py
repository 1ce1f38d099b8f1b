"""PDF: the text layer page by page; pages without one (scans, photos of pages) go through OCR.

A page needs OCR when it has no text layer, or a scrap of one (fewer than MIN_TEXT_CHARS visible
characters, e.g. a stamped page number) while pictures cover at least MIN_IMAGE_SHARE of it; in
a mixed PDF only those pages are recognised. They are rendered with PDFium at about 170 dpi (the
OCR model works at <= 2000 px anyway); a blank rendering is skipped. Pages that draw lines are
searched for ruled tables, which become Markdown tables (pdf_tables.py).
"""

from __future__ import annotations

import io
import threading

from core.errors import DocumentReadError
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section
from core.ingestion.readers.image import check_ocr_pages, ocr_section
from core.ingestion.readers.pdf_tables import MIN_RULES, texts_with_tables

MIN_TEXT_CHARS = 32
MIN_IMAGE_SHARE = 0.3
RENDER_LONG_SIDE = 2000  # pixels
_PDFIUM = threading.Lock()  # PDFium is not thread-safe; rendering one page takes ~0.1 s


def _text_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data))
    try:  # owner-only protection (empty user password) is still readable
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password")
        pages = list(reader.pages)
    except (FileNotDecryptedError, DependencyError):
        raise DocumentReadError(
            "The PDF is encrypted or password-protected; remove the protection and upload it again"
        ) from None
    texts = []
    for page in pages:
        try:
            texts.append((page.extract_text() or "").replace("\x00", "").strip())
        except Exception:  # one damaged page should not cost the rest of the document
            texts.append("")
    return texts


def _image_share(page) -> float:  # type: ignore[no-untyped-def]
    """Share of the page covered by pictures (overlaps counted twice; enough to tell a scan)."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    area = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        area += max(0.0, min(right, width) - max(left, 0)) * max(0.0, min(top, height) - max(bottom, 0))
    return area / max(width * height, 1.0)


def _has_rules(page) -> bool:  # type: ignore[no-untyped-def]
    import pypdfium2.raw as pdfium_c

    objects = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2)
    return sum(1 for _, _ in zip(range(MIN_RULES), objects)) >= MIN_RULES


def _inspect(data: bytes, texts: list[str]) -> tuple[list[int], list[int]]:
    """(pages that need OCR, pages with text that may hold a ruled table), by PDFium's page objects."""
    import pypdfium2 as pdfium

    scanned, ruled = [], []
    with _PDFIUM:
        pdf = pdfium.PdfDocument(data)
        try:
            for index, text in enumerate(texts):
                chars = len("".join(text.split()))
                page = pdf[index]
                try:
                    if chars < MIN_TEXT_CHARS and (chars == 0 or _image_share(page) >= MIN_IMAGE_SHARE):
                        scanned.append(index)
                    elif _has_rules(page):
                        ruled.append(index)
                finally:
                    page.close()
        finally:
            pdf.close()
    return scanned, ruled


def _render(data: bytes, index: int):  # type: ignore[no-untyped-def]
    """Page `index` (0-based) as a PIL image, or None when it is blank."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(data)
        try:
            page = pdf[index]
            width, height = page.get_size()
            scale = min(200 / 72, RENDER_LONG_SIDE / max(width, height, 1))
            image = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
        finally:
            pdf.close()
    low, _ = image.convert("L").getextrema()
    return None if low > 230 else image  # no ink anywhere: nothing to recognise


def _read_pdf(data: bytes, ctx: ReadContext) -> ParsedDocument:
    texts = _text_pages(data)
    scanned, ruled = _inspect(data, texts)
    for index, text in texts_with_tables(data, ruled).items():
        texts[index] = text
    check_ocr_pages(len(scanned), ctx, "PDF")
    recognised: dict[int, Section] = {}
    for done, index in enumerate(scanned):
        ctx.report(f"Recognising text (OCR) on page {index + 1} ({done + 1}/{len(scanned)} scanned pages)",
                   done / len(scanned))
        image = _render(data, index)
        section = ocr_section(image, {"page": index + 1}) if image is not None else None
        if section is not None:
            recognised[index] = section
    sections = [recognised.get(i) or Section(text, {"page": i + 1}) for i, text in enumerate(texts)]
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise DocumentReadError("No text found in the PDF: its pages have no text layer and text recognition "
                                "(OCR) found none; upload a sharper scan (150 dpi or more)")
    return ParsedDocument("pdf", sections)


READER = Reader(kind="pdf", label="PDF", extensions=(".pdf",), read=_read_pdf,
                sniff=lambda data, ext: data[:1024].lstrip()[:5] == b"%PDF-")
