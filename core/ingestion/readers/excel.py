"""Excel workbooks (.xlsx): every sheet's rows, with sheet name and row number."""

from __future__ import annotations

import io

from core.errors import DocumentReadError
from core.ingestion.readers.archive import check_expanded
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section, tabulate

LABEL = "Excel (.xlsx)"


def _read_xlsx(data: bytes, ctx: ReadContext) -> ParsedDocument:
    import openpyxl

    check_expanded(data, ctx, LABEL)
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sections, all_rows, all_meta = [], [], []
    try:
        for ws in wb.worksheets:
            records = [
                (n, list(values))
                for n, values in enumerate(ws.iter_rows(values_only=True), start=1)
                if any(v is not None and str(v).strip() for v in values)
            ]
            rows, metas, body = tabulate(records, {"sheet": ws.title})
            if body:
                sections.append(Section(body, {"sheet": ws.title}))
                all_rows += rows
                all_meta += metas
    finally:
        wb.close()
    if not all_rows:
        raise DocumentReadError("The workbook has no data rows (a header row plus at least one row is needed)")
    return ParsedDocument("xlsx", sections, rows=all_rows, row_meta=all_meta)


READER = Reader(kind="xlsx", label=LABEL, extensions=(".xlsx", ".xlsm"), read=_read_xlsx, zip_member="xl/")
