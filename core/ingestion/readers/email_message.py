"""E-mail (.eml): headers as document metadata, the body (HTML cleaned), each attachment read as
its own section with its name."""

from __future__ import annotations

import re

from core.errors import DocumentReadError, InvalidInput
from core.ingestion.readers.base import ParsedDocument, ReadContext, Reader, Section
from core.ingestion.readers.html_page import html_to_text

HEADERS = ("subject", "from", "to", "cc", "date")
MAX_DEPTH = 3  # e-mails attached to e-mails attached to e-mails
_HEADER_LINE = re.compile(rb"^(received|return-path|from|to|subject|date|message-id|mime-version|delivered-to):",
                          re.I | re.M)


def _body(msg) -> str:  # type: ignore[no-untyped-def]
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return html_to_text(content)[1] if part.get_content_type() == "text/html" else content.strip()


def _attachment_bytes(part) -> bytes:  # type: ignore[no-untyped-def]
    content = part.get_content()
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, bytes):
        return content
    return content.as_bytes()  # an attached e-mail


def _attachments(msg, ctx: ReadContext) -> tuple[list[Section], list[str]]:  # type: ignore[no-untyped-def]
    """Sections of the readable attachments, and the names of the ones that could not be read."""
    from core.ingestion.readers import read_document

    sections, skipped = [], []
    for number, part in enumerate(msg.iter_attachments(), start=1):
        default = f"attachment-{number}" + (".eml" if part.get_content_type() == "message/rfc822" else "")
        name = part.get_filename() or default
        try:
            if ctx.depth >= MAX_DEPTH:
                raise DocumentReadError("nested too deeply")
            inner = read_document(name, _attachment_bytes(part), limits=ctx.limits, progress=ctx.progress,
                                  depth=ctx.depth + 1)
        except InvalidInput:
            skipped.append(name)
            continue
        for i, section in enumerate(inner.sections):
            text = f"Attachment: {name}\n\n{section.text}" if i == 0 else section.text
            sections.append(Section(text, {"attachment": name, **section.meta}))
    return sections, skipped


def _read_eml(data: bytes, ctx: ReadContext) -> ParsedDocument:
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.default).parsebytes(data)
    headers = {h: " ".join(str(msg[h]).split()) for h in HEADERS if msg[h] is not None and str(msg[h]).strip()}
    if not headers:
        raise DocumentReadError("The e-mail has no headers (From, To, Subject, Date); export it again as .eml")
    head = "\n".join(f"{h.capitalize()}: {v}" for h, v in headers.items())
    attachments, skipped = _attachments(msg, ctx)
    meta = {**headers, **({"unreadable_attachments": skipped} if skipped else {})}
    return ParsedDocument("eml", [Section(f"{head}\n\n{_body(msg)}".strip()), *attachments], meta=meta)


def _sniff(data: bytes, ext: str) -> bool:
    """Extension-less files that start with at least two mail headers."""
    return ext == "" and len(_HEADER_LINE.findall(data[:4096].split(b"\r\n\r\n")[0].split(b"\n\n")[0])) >= 2


READER = Reader(kind="eml", label="e-mail (.eml)", extensions=(".eml",), read=_read_eml, sniff=_sniff)
