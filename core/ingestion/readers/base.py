"""What every reader shares: the parsed shape, the registration record, limits and helpers."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import DocumentReadError, InvalidInput, UnsupportedFile

SECTION_JOINER = "\n\n"


@dataclass
class Section:
    text: str
    # {"page": 3} (1-based), {"sheet": "Sheet1"}, {"slide": 2}, {"chapter": "..."}, and for a page
    # read by OCR {"ocr": [{"page": 3, "confidence": 0.97}]} (a list, so chunks spanning pages keep each).
    meta: dict = field(default_factory=dict)


@dataclass
class ParsedDocument:
    kind: str  # a registered reader's kind
    sections: list[Section]  # text in reading order
    rows: list[dict[str, str]] | None = None  # tabular sources: header -> cell
    row_meta: list[dict] | None = None  # parallel to rows: {"row": 2, "sheet": "S1"}
    meta: dict = field(default_factory=dict)  # about the whole document, e.g. an e-mail's headers

    @property
    def text(self) -> str:
        return SECTION_JOINER.join(s.text for s in self.sections)


@dataclass(frozen=True)
class ReadLimits:
    """Bounds that keep one hostile or huge file from holding a worker (see core/config.py)."""

    max_expanded_bytes: int = 200 * 2**20  # uncompressed size of a zip-based file (docx, xlsx, pptx, epub)
    max_ocr_pages: int = 200  # pages (or images) recognised by OCR in one document


Progress = Callable[[str, float], None]  # (message, fraction of the reading step done)


class Interrupted(Exception):
    """The progress callback raised (e.g. the task was cancelled): re-raised as its cause."""


@dataclass
class ReadContext:
    filename: str
    ext: str  # lower-case suffix with the dot, "" when none
    limits: ReadLimits = field(default_factory=ReadLimits)
    progress: Progress | None = None
    depth: int = 0  # documents inside documents (e-mail attachments)

    def report(self, message: str, fraction: float) -> None:
        if self.progress is None:
            return
        try:
            self.progress(message, max(0.0, min(1.0, fraction)))
        except Exception as exc:
            raise Interrupted(message) from exc


@dataclass(frozen=True)
class Reader:
    """One file kind. Registered once in readers/__init__.py; detection looks at these fields."""

    kind: str
    label: str  # how a business user calls it, for messages: "Word (.docx)"
    extensions: tuple[str, ...]
    read: Callable[[bytes, ReadContext], ParsedDocument]
    sniff: Callable[[bytes, str], bool] | None = None  # (data, ext): recognises the content whatever its name
    zip_member: str = ""  # a member name prefix that identifies a zip-based kind ("word/")


# --- helpers for readers -------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, then GB18030 (common for Chinese files)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif b"\x00" in data[:8192]:
        raise UnsupportedFile("The file looks binary, not text; upload a text, PDF or Office file")
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _garbage_ratio(text) <= 0.02:
            return text.replace("\r\n", "\n").replace("\r", "\n")
    raise DocumentReadError("Could not decode the text; save the file as UTF-8 and upload it again")


def is_text(data: bytes) -> bool:
    try:
        decode(data)
        return True
    except InvalidInput:
        return False


def _garbage_ratio(text: str) -> float:
    """Share of control / unassigned characters: high means we decoded binary data."""
    sample = text[:20000]
    bad = sum(1 for ch in sample if ch not in "\t\n\r\f" and unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs"))
    return bad / len(sample) if sample else 0.0


def md_table(rows: list[list[str]]) -> str:
    """Cells as one Markdown table (first row = header), so splitting keeps it whole or by rows."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    clean = [[" ".join(c.split()).replace("|", "/") for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(clean[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in clean[1:]]
    return "\n".join(lines)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 from a spreadsheet means 3
    return " ".join(str(value).split())


def row_line(row: dict[str, str]) -> str:
    """One table row as text: "col: value; col: value" (empty cells left out)."""
    return "; ".join(f"{k}: {v}" for k, v in row.items() if v)


def _unique_headers(raw: list[Any]) -> list[str]:
    headers: list[str] = []
    for i, h in enumerate(raw, start=1):
        name = " ".join(str(h if h is not None else "").split()) or f"column_{i}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base}_{n}", n + 1
        headers.append(name)
    return headers


def tabulate(records: list[tuple[int, list[Any]]], base_meta: dict) -> tuple[list[dict[str, str]], list[dict], str]:
    """(row number, cells) with the header first -> (rows, row_meta, one text line per row).

    Row numbers are the ones the user sees in Excel / a text editor (header = its own row).
    """
    if not records:
        return [], [], ""
    width = max(len(r) for _, r in records)
    header = records[0][1]
    headers = _unique_headers(list(header) + [None] * (width - len(header)))
    rows, metas, lines = [], [], []
    for number, rec in records[1:]:
        cells = [cell_text(v) for v in rec]
        if not any(cells):
            continue
        row = dict(zip(headers, cells + [""] * (width - len(cells))))
        rows.append(row)
        metas.append({**base_meta, "row": number})
        lines.append(row_line(row))
    return rows, metas, "\n".join(lines)
