"""File readers: bytes in, ParsedDocument (text in reading order, optional table rows) out.

One reader = one module with a `Reader` record, registered once in READERS below. Detection
looks at the content first (a renamed file still works), then at the extension. Readers do no
network I/O; every failure surfaces as an InvalidInput subclass whose message a business user
can act on, and library exceptions never leak out. Limits (unpacked size of zip-based files,
pages recognised by OCR) come in a ReadLimits; OCR progress goes to the `progress` callback.
"""

from __future__ import annotations

from pathlib import PurePath

from core.errors import DocumentReadError, InvalidInput, UnsupportedFile
from core.ingestion.readers import (
    delimited, email_message, epub, excel, html_page, image, json_data, pdf, powerpoint, text, word,
)
from core.ingestion.readers.archive import zip_names
from core.ingestion.readers.base import (
    SECTION_JOINER, Interrupted, ParsedDocument, Progress, ReadContext, Reader, ReadLimits, Section, is_text,
    row_line,
)

__all__ = ["READERS", "SECTION_JOINER", "SUPPORTED_TYPES", "ParsedDocument", "ReadLimits", "Section",
           "detect_type", "read_document", "row_line"]

# Content sniffing follows this order.
READERS: tuple[Reader, ...] = (
    text.TEXT, text.MARKDOWN, pdf.READER, word.READER, html_page.READER, delimited.READER, excel.READER,
    json_data.READER, image.READER, powerpoint.READER, email_message.READER, epub.READER,
)
SUPPORTED_TYPES: tuple[str, ...] = tuple(r.kind for r in READERS)
_BY_KIND = {r.kind: r for r in READERS}
_BY_EXTENSION = {ext: r.kind for r in READERS for ext in r.extensions}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: legacy Office, Outlook .msg, encrypted OOXML
_LEGACY_HINT = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pptx", ".msg": ".eml", ".pps": ".pptx"}
_OFFICE_NAMES = {".docx": "Word", ".xlsx": "Excel", ".xlsm": "Excel", ".pptx": "PowerPoint"}


def _ext(filename: str) -> str:
    return PurePath(filename or "").suffix.lower()


def supported_list() -> str:
    kinds = [r.kind for r in READERS if r is not image.READER]
    return ", ".join(kinds) + ", images (" + ", ".join(e.lstrip(".") for e in image.READER.extensions) + ")"


def _unsupported(ext: str) -> UnsupportedFile:
    shown = f"'{ext}'" if ext else "(no file extension)"
    msg = f"Unsupported file type {shown} (supported: {supported_list()})"
    if ext in _LEGACY_HINT:
        msg += f". Save it as {_LEGACY_HINT[ext]} and upload it again."
    return UnsupportedFile(msg)


def _compound_file(ext: str, data: bytes) -> InvalidInput:
    """Office files with a password are compound files holding an "EncryptedPackage" stream."""
    if "EncryptedPackage".encode("utf-16-le") in data:
        office = _OFFICE_NAMES.get(ext, "Office")
        return DocumentReadError(f"The {office} file is password-protected; remove the password "
                                 "(File › Info › Protect) and upload it again")
    return _unsupported(ext if ext in _LEGACY_HINT else ext or ".doc")


def detect_type(filename: str, data: bytes) -> str:
    """Kind of the file: content signature first (a renamed file still works), then extension."""
    ext = _ext(filename)
    if data.startswith(_OLE):
        raise _compound_file(ext, data)
    if data.startswith(b"PK\x03\x04"):
        names = zip_names(data)
        for reader in READERS:
            if reader.zip_member and any(n.startswith(reader.zip_member) for n in names):
                return reader.kind
    for reader in READERS:
        if reader.sniff is not None and reader.sniff(data, ext):
            return reader.kind
    if ext in _BY_EXTENSION:
        return _BY_EXTENSION[ext]
    if not ext and data and is_text(data):
        return "txt"  # README, LICENSE and similar extension-less text files
    raise _unsupported(ext)


def read_document(filename: str, data: bytes, *, limits: ReadLimits | None = None,
                  progress: Progress | None = None, depth: int = 0) -> ParsedDocument:
    """Parse `data` into text sections (and rows for tables)."""
    kind = detect_type(filename, data)
    if not data or not data.strip():
        raise DocumentReadError("The file is empty")
    reader = _BY_KIND[kind]
    ctx = ReadContext(filename, _ext(filename), limits or ReadLimits(), progress, depth)
    try:
        doc = reader.read(data, ctx)
    except InvalidInput:
        raise
    except Interrupted as exc:
        raise exc.__cause__ from None  # e.g. the task was cancelled: not a problem of the file
    except RecursionError:
        raise DocumentReadError(f"The {reader.label} file is nested too deeply to read") from None
    except Exception as exc:  # any library failure means a corrupt, truncated or mislabelled file
        raise DocumentReadError(
            f"The {reader.label} file is corrupt or truncated and cannot be read"
        ) from exc  # the cause stays on the exception chain for the logs
    doc.sections = [s for s in doc.sections if s.text.strip()]
    if not doc.sections:
        raise DocumentReadError("No text found in the document")
    return doc
