"""Plain text and Markdown (kept as written, so the markdown splitter sees its headings)."""

from __future__ import annotations

from core.ingestion.readers.base import ParsedDocument, Reader, Section, decode

TEXT = Reader(kind="txt", label="text", extensions=(".txt", ".text", ".log"),
              read=lambda data, ctx: ParsedDocument("txt", [Section(decode(data))]))
MARKDOWN = Reader(kind="md", label="Markdown", extensions=(".md", ".markdown"),
                  read=lambda data, ctx: ParsedDocument("md", [Section(decode(data))]))
