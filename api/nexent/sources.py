"""Where Nexent's documents come from, for tasks, index documents and file uploads: a URL (fetched behind the
private-address guard), a file of the file storage (its object name; never a path on the server's disk), or
text given inline. A batch is checked whole before anything is made, and what a failing batch made is removed.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.container import Services
from core.errors import InvalidInput
from core.schemas import ChunkConfig, DocumentInfo, KnowledgeBaseInfo
from core.scope import parse_config

# Nexent's (Unstructured's) chunking strategies -> Almanac's split methods; Almanac's own names work too.
CHUNKING = {"basic": "general", "by_title": "markdown", "none": "one"}
TEXT_EXTENSIONS = (".txt", ".text", ".log", ".md", ".markdown")
MAX_BATCH = 1000


class Source(BaseModel):
    """One document to make (Nexent's TaskRequest)."""

    model_config = ConfigDict(extra="ignore")
    source: str = Field(min_length=1, max_length=2_000_000)
    source_type: Literal["file", "url", "text"] = "file"
    chunking_strategy: str | None = None
    index_name: str = Field(min_length=1, max_length=255)
    additional_params: dict[str, Any] = Field(default_factory=dict)


class TextItem(BaseModel):
    """Text ready to index (an item of Nexent's IndexingRequest.results)."""

    model_config = ConfigDict(extra="ignore")
    text: str = ""
    source: str = Field("", max_length=4096)
    source_type: str = "file"
    metadata: dict[str, Any] = Field(default_factory=dict)


def chunk_config(strategy: str | None, params: dict[str, Any], kb: KnowledgeBaseInfo) -> dict[str, Any] | None:
    """The document's own chunking over the knowledge base's, or None for the knowledge base's as it is."""
    config: dict[str, Any] = {k: params[k] for k in ("chunk_size", "chunk_overlap") if k in params}
    if strategy:
        config["method"] = CHUNKING.get(strategy, strategy)
    return {**kb.chunk_config.model_dump(), **config} if config else None


def text_name(name: str) -> str:
    """A name the text reader reads: text kept under another extension (report.pdf) is stored as report.pdf.txt."""
    name = PurePath(name.replace("\\", "/")).name.strip() or "document"
    return name if name.lower().endswith(TEXT_EXTENSIONS) else f"{name}.txt"


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def add_source(svc: Services, tenant_id: str, kb: KnowledgeBaseInfo, item: Source) -> DocumentInfo:
    config = chunk_config(item.chunking_strategy, item.additional_params, kb)
    if item.source_type == "url":
        return svc.documents.import_url(tenant_id, kb.id, item.source, chunk_config=config)
    if item.source_type == "text":
        name = str(item.additional_params.get("filename") or "text.txt")
        (doc,) = svc.documents.upload(tenant_id, kb.id, [(text_name(name), item.source.encode("utf-8"))],
                                      chunk_config=config)
        return doc
    _, (doc,) = svc.documents.add_files(tenant_id, kb.id, [item.source], chunk_config=config)
    return doc


def add_text(svc: Services, tenant_id: str, kb: KnowledgeBaseInfo, item: TextItem) -> DocumentInfo:
    meta = {k: v for k in ("title", "author", "date", "languages") if (v := item.metadata.get(k))}
    name = str(item.metadata.get("filename") or PurePath(item.source).name or item.metadata.get("title") or "")
    (doc,) = svc.documents.upload(tenant_id, kb.id, [(text_name(name), item.text.encode("utf-8"))],
                                  source_type="url" if is_url(item.source) else "local", source_url=item.source,
                                  meta=meta)
    return doc


def add_all(svc: Services, tenant_id: str, items: list[Source | TextItem],
            kb: KnowledgeBaseInfo | None = None) -> list[DocumentInfo]:
    """Documents from every item (each queued for ingestion), or none when one fails."""
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"At most {MAX_BATCH} sources are accepted at once")
    targets = [kb or svc.knowledge.find(tenant_id, item.index_name) for item in items]  # NotFound before any change
    for item, target in zip(items, targets, strict=True):
        if isinstance(item, Source):
            chunk = chunk_config(item.chunking_strategy, item.additional_params, target)
            if chunk:
                parse_config(ChunkConfig, chunk)  # InvalidInput names the problem
        elif not item.text.strip():
            raise InvalidInput("Each result needs its text")
    made: list[DocumentInfo] = []
    try:
        for item, target in zip(items, targets, strict=True):
            made.append(add_source(svc, tenant_id, target, item) if isinstance(item, Source)
                        else add_text(svc, tenant_id, target, item))
    except Exception:
        if made:
            svc.documents.delete(tenant_id, [d.id for d in made])
        raise
    return made
