"""CSV and TSV: the delimiter is sniffed; each data row keeps its line number."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.errors import DocumentReadError
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section, decode, tabulate


def _read_csv(data: bytes, ctx: ReadContext) -> ParsedDocument:
    text = decode(data)
    sample = text[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if ctx.ext == ".tsv" else csv.excel
    records = [
        (n, r) for n, r in enumerate(csv.reader(io.StringIO(text), dialect), start=1) if any(c.strip() for c in r)
    ]
    rows, metas, body = tabulate(records, {})
    if not rows:
        raise DocumentReadError("The CSV file has a header row but no data rows")
    return ParsedDocument("csv", [Section(body)], rows=rows, row_meta=metas)


READER = Reader(kind="csv", label="CSV", extensions=(".csv", ".tsv"), read=_read_csv)
