"""File readers: bytes in, ParsedDocument (text in reading order + optional table rows) out.

Pure functions, no network. Every failure surfaces as an InvalidInput subclass whose
message a business user can act on; library exceptions never leak out.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from core.errors import DocumentReadError, InvalidInput, UnsupportedFile


@dataclass
class Section:
    text: str
    meta: dict = field(default_factory=dict)  # {"page": 3} (1-based), {"sheet": "Sheet1"}, ...


@dataclass
class ParsedDocument:
    kind: str  # one of SUPPORTED_TYPES
    sections: list[Section]  # text in reading order
    rows: list[dict[str, str]] | None = None  # tabular sources: header -> cell
    row_meta: list[dict] | None = None  # parallel to rows: {"row": 2, "sheet": "S1"}

    @property
    def text(self) -> str:
        return SECTION_JOINER.join(s.text for s in self.sections)


SECTION_JOINER = "\n\n"
SUPPORTED_TYPES: tuple[str, ...] = ("txt", "md", "pdf", "docx", "html", "csv", "xlsx", "json")
_EXTENSIONS = {
    ".txt": "txt", ".text": "txt", ".log": "txt",
    ".md": "md", ".markdown": "md",
    ".pdf": "pdf", ".docx": "docx",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".csv": "csv", ".tsv": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".json": "json", ".jsonl": "json",
}
_LEGACY_HINT = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pdf", ".pptx": ".pdf"}
_HTML_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S)
_MAX_JSON_DEPTH = 64
_KIND_NAMES = {"txt": "text", "md": "Markdown", "pdf": "PDF", "docx": "Word (.docx)", "html": "HTML",
               "csv": "CSV", "xlsx": "Excel (.xlsx)", "json": "JSON"}


def _ext(filename: str) -> str:
    return PurePath(filename or "").suffix.lower()


def _unsupported(ext: str) -> UnsupportedFile:
    shown = f"'{ext}'" if ext else "(no file extension)"
    msg = f"Unsupported file type {shown} (supported: {', '.join(SUPPORTED_TYPES)})"
    if ext in _LEGACY_HINT:
        msg += f". Save it as {_LEGACY_HINT[ext]} and upload it again."
    return UnsupportedFile(msg)


def detect_type(filename: str, data: bytes) -> str:
    """Kind of the file: content signature first (a renamed file still works), then extension."""
    ext = _ext(filename)
    head = data[:4096]
    if head.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            names = []
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"[") and ext not in (".md", ".markdown", ".csv", ".tsv"):
        try:
            json.loads(data.decode("utf-8-sig"))
            return "json"
        except (ValueError, RecursionError):
            pass
    if _HTML_START.match(head):
        return "html"
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if not ext and data:
        try:
            _decode(data)
            return "txt"  # README, LICENSE and similar extension-less text files
        except InvalidInput:
            pass
    raise _unsupported(ext)


def read_document(filename: str, data: bytes) -> ParsedDocument:
    """Parse `data` into text sections (and rows for tables)."""
    kind = detect_type(filename, data)
    if not data or not data.strip():
        raise DocumentReadError("The file is empty")
    try:
        doc = _READERS[kind](data, _ext(filename))
    except InvalidInput:
        raise
    except RecursionError:
        raise DocumentReadError(f"The {_KIND_NAMES[kind]} file is nested too deeply to read") from None
    except Exception as exc:  # any library failure means a corrupt, truncated or mislabelled file
        raise DocumentReadError(
            f"The {_KIND_NAMES[kind]} file is corrupt or truncated and cannot be read"
        ) from exc  # the cause stays on the exception chain for the logs
    doc.sections = [s for s in doc.sections if s.text.strip()]
    if not doc.sections:
        raise DocumentReadError("No text found in the document")
    return doc


# --- text decoding --------------------------------------------------------------------


def _decode(data: bytes) -> str:
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


def _garbage_ratio(text: str) -> float:
    """Share of control / unassigned characters: high means we decoded binary data."""
    sample = text[:20000]
    bad = sum(1 for ch in sample if ch not in "\t\n\r\f" and unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs"))
    return bad / len(sample) if sample else 0.0


# --- readers --------------------------------------------------------------------------


def _read_pdf(data: bytes, ext: str) -> ParsedDocument:
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
    sections = []
    for number, page in enumerate(pages, start=1):
        try:
            text = (page.extract_text() or "").replace("\x00", "").strip()
        except Exception:  # one damaged page should not cost the rest of the document
            continue
        if text:
            sections.append(Section(text, {"page": number}))
    if not sections:
        raise DocumentReadError("No text found in PDF (scanned images are not supported yet)")
    return ParsedDocument("pdf", sections)


def _md_table(rows: list[list[str]]) -> str:
    """Render cells as a markdown table so the table/markdown splitters can find it."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    clean = [[" ".join(c.split()).replace("|", "/") for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(clean[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in clean[1:]]
    return "\n".join(lines)


def _read_docx(data: bytes, ext: str) -> ParsedDocument:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells, seen = [], set()
                for cell in row.cells:  # merged cells repeat: keep each once
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(cell.text)
                rows.append(cells)
            blocks.append(_md_table(rows))
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title":
            text = "# " + text
        elif level:
            text = "#" * min(int(level.group(1)), 6) + " " + text
        elif style.startswith("List"):
            text = "- " + text
        blocks.append(text)
    return ParsedDocument("docx", [Section("\n\n".join(b for b in blocks if b))])


_HTML_DROP = ("script", "style", "nav", "footer", "noscript", "template", "svg", "iframe")
_HTML_BLOCKS = ("p", "div", "section", "article", "main", "header", "aside", "blockquote",
                "pre", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "address", "hr", "form")


def _read_html(data: bytes, ext: str) -> ParsedDocument:
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(data, "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup(list(_HTML_DROP) + ["head"]):
        tag.decompose()
    for table in soup.find_all("table"):
        rows = [[c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
        table.replace_with(NavigableString(f"\n\n{_md_table(rows)}\n\n"))
    for level in range(1, 7):
        for h in soup.find_all(f"h{level}"):
            h.replace_with(NavigableString(f"\n\n{'#' * level} {h.get_text(' ', strip=True)}\n\n"))
    for li in soup.find_all("li"):
        li.insert(0, NavigableString("\n- "))
    for br in soup.find_all("br"):
        br.replace_with(NavigableString("\n"))
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_after(NavigableString("\n\n"))
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if title and not text.startswith(f"# {title}"):
        text = f"# {title}\n\n{text}"
    return ParsedDocument("html", [Section(text, {"title": title} if title else {})])


def _unique_headers(raw: list[Any]) -> list[str]:
    headers: list[str] = []
    for i, h in enumerate(raw, start=1):
        name = " ".join(str(h if h is not None else "").split()) or f"column_{i}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base}_{n}", n + 1
        headers.append(name)
    return headers


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 from a spreadsheet means 3
    return " ".join(str(value).split())


def row_line(row: dict[str, str]) -> str:
    """One table row as text: "col: value; col: value" (empty cells left out)."""
    return "; ".join(f"{k}: {v}" for k, v in row.items() if v)


def _tabulate(records: list[tuple[int, list[Any]]], base_meta: dict) -> tuple[list[dict[str, str]], list[dict], str]:
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
        cells = [_cell(v) for v in rec]
        if not any(cells):
            continue
        row = dict(zip(headers, cells + [""] * (width - len(cells))))
        rows.append(row)
        metas.append({**base_meta, "row": number})
        lines.append(row_line(row))
    return rows, metas, "\n".join(lines)


def _read_csv(data: bytes, ext: str) -> ParsedDocument:
    text = _decode(data)
    sample = text[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if ext == ".tsv" else csv.excel
    records = [
        (n, r) for n, r in enumerate(csv.reader(io.StringIO(text), dialect), start=1) if any(c.strip() for c in r)
    ]
    rows, metas, body = _tabulate(records, {})
    if not rows:
        raise DocumentReadError("The CSV file has a header row but no data rows")
    return ParsedDocument("csv", [Section(body)], rows=rows, row_meta=metas)


def _read_xlsx(data: bytes, ext: str) -> ParsedDocument:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sections, all_rows, all_meta = [], [], []
    try:
        for ws in wb.worksheets:
            records = [
                (n, list(values))
                for n, values in enumerate(ws.iter_rows(values_only=True), start=1)
                if any(v is not None and str(v).strip() for v in values)
            ]
            rows, metas, body = _tabulate(records, {"sheet": ws.title})
            if body:
                sections.append(Section(body, {"sheet": ws.title}))
                all_rows += rows
                all_meta += metas
    finally:
        wb.close()
    if not all_rows:
        raise DocumentReadError("The workbook has no data rows (a header row plus at least one row is needed)")
    return ParsedDocument("xlsx", sections, rows=all_rows, row_meta=all_meta)


def _flatten(value: Any, path: str, out: list[str], depth: int = 0) -> None:
    if depth > _MAX_JSON_DEPTH:
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


def _read_json(data: bytes, ext: str) -> ParsedDocument:
    text = _decode(data).lstrip("\ufeff")
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
        rows = [{str(h): _cell(rec.get(h)) for h in headers} for rec in value]
        metas = [{"row": i} for i in range(1, len(rows) + 1)]
        body = "\n".join(row_line(r) for r in rows)
        return ParsedDocument("json", [Section(body)], rows=rows, row_meta=metas)
    lines: list[str] = []
    _flatten(value, "", lines)
    return ParsedDocument("json", [Section("\n".join(lines))])


_READERS = {
    "txt": lambda data, ext: ParsedDocument("txt", [Section(_decode(data))]),
    "md": lambda data, ext: ParsedDocument("md", [Section(_decode(data))]),  # markdown kept as is
    "pdf": _read_pdf, "docx": _read_docx,
    "html": _read_html, "csv": _read_csv, "xlsx": _read_xlsx, "json": _read_json,
}
