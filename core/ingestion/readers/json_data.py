"""JSON and JSON Lines: a list of flat records becomes table rows, anything else "path: value" lines."""

from __future__ import annotations

import json
from typing import Any

from core.errors import DocumentReadError
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section, cell_text, decode, row_line

MAX_DEPTH = 64


def _flatten(value: Any, path: str, out: list[str], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise DocumentReadError("The JSON file is nested too deeply to read")
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out, depth + 1)
    else:
        shown = "" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, bool) else str(value)
        out.append(f"{path or 'value'}: {shown}")


def _read_json(data: bytes, ctx: ReadContext) -> ParsedDocument:
    text = decode(data).lstrip("\ufeff")
    try:
        value = json.loads(text)
    except ValueError:
        try:  # JSON Lines: one value per line
            value = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise DocumentReadError(
                f"The JSON file is not valid JSON (line {getattr(exc, 'lineno', '?')})"
            ) from None
    flat_records = (
        isinstance(value, list)
        and value
        and all(isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values()) for v in value)
    )
    if flat_records:
        headers = list(dict.fromkeys(k for rec in value for k in rec))
        rows = [{str(h): cell_text(rec.get(h)) for h in headers} for rec in value]
        metas = [{"row": i} for i in range(1, len(rows) + 1)]
        body = "\n".join(row_line(r) for r in rows)
        return ParsedDocument("json", [Section(body)], rows=rows, row_meta=metas)
    lines: list[str] = []
    _flatten(value, "", lines)
    return ParsedDocument("json", [Section("\n".join(lines))])


def _sniff(data: bytes, ext: str) -> bool:
    if ext in (".md", ".markdown", ".csv", ".tsv") or data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(data.decode("utf-8-sig"))
        return True
    except (ValueError, RecursionError):
        return False


READER = Reader(kind="json", label="JSON", extensions=(".json", ".jsonl"), read=_read_json, sniff=_sniff)
