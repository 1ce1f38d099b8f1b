"""Word documents (.docx): headings as Markdown headings, lists, tables as Markdown tables, in order."""

from __future__ import annotations

import io
import re

from core.ingestion.readers.archive import check_expanded
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section, md_table

LABEL = "Word (.docx)"


def _table_rows(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # merged cells repeat: keep each once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text)
        rows.append(cells)
    return rows


def _paragraph(item, style_names: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    text = item.text.strip()
    if not text:
        return ""
    # Looked up by id in a dict made once: python-docx's `paragraph.style` scans every style of the
    # document for each paragraph without one, which made a 100,000-paragraph file take minutes.
    style = style_names.get(item._p.style or "", "")
    level = re.match(r"Heading (\d)", style)
    if style == "Title":
        return "# " + text
    if level:
        return "#" * min(int(level.group(1)), 6) + " " + text
    return "- " + text if style.startswith("List") else text


def _read_docx(data: bytes, ctx: ReadContext) -> ParsedDocument:
    import docx
    from docx.table import Table

    check_expanded(data, ctx, LABEL)
    document = docx.Document(io.BytesIO(data))
    style_names = {s.style_id: s.name or "" for s in document.styles}
    blocks = [md_table(_table_rows(item)) if isinstance(item, Table) else _paragraph(item, style_names)
              for item in document.iter_inner_content()]
    return ParsedDocument("docx", [Section("\n\n".join(b for b in blocks if b))])


READER = Reader(kind="docx", label=LABEL, extensions=(".docx",), read=_read_docx, zip_member="word/")
