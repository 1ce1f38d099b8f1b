"""Ruled tables on PDF pages, found with pdfplumber and put back in place as Markdown tables.

pdfplumber (pdfminer) is slow next to pypdf, so only pages that draw enough lines or boxes to
hold a ruled table are searched; their text is rebuilt as the text above each table, the table,
and the text below it.
"""

from __future__ import annotations

import io
import logging

from core.ingestion.readers.base import md_table

log = logging.getLogger(__name__)
MIN_RULES = 4  # path objects (lines, rectangles) a page needs before it is searched for tables


def _band(page, top: float, bottom: float) -> str:  # type: ignore[no-untyped-def]
    top, bottom = max(top, 0), min(bottom, page.height)
    if bottom - top < 1:
        return ""
    return (page.crop((0, top, page.width, bottom)).extract_text() or "").strip()


def _page_text(page) -> str | None:  # type: ignore[no-untyped-def]
    tables = sorted(page.find_tables(), key=lambda table: table.bbox[1])
    if not tables:
        return None
    parts, top = [], 0.0
    for table in tables:
        _, table_top, _, table_bottom = table.bbox
        parts.append(_band(page, top, table_top))
        parts.append(md_table([[cell or "" for cell in row] for row in table.extract()]))
        top = max(top, table_bottom)
    parts.append(_band(page, top, page.height))
    return "\n\n".join(p for p in parts if p)


def texts_with_tables(data: bytes, indexes: list[int]) -> dict[int, str]:
    """Page index -> its text with Markdown tables, for the pages of `indexes` that have tables."""
    if not indexes:
        return {}
    import pdfplumber

    out: dict[int, str] = {}
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for index in indexes:
                text = _page_text(pdf.pages[index])
                if text:
                    out[index] = text
    except Exception:  # noqa: BLE001 - tables are a refinement: the plain text layer still stands
        log.warning("table detection failed; the PDF's plain text is used", exc_info=True)
    return out
