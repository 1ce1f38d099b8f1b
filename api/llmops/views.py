"""LLMOps' shapes of the core objects: Unix-second times, paged lists, datasets, documents, segments,
queries, upload files and tools. (Apps are in app_config.py.)"""

from __future__ import annotations

import math
import mimetypes
import uuid
from datetime import UTC, datetime
from typing import Any

from core.files import StoredFile
from core.schemas import ChunkInfo, DocumentInfo, KnowledgeBaseInfo, Page, QueryLogEntry
from core.tools import ProviderInfo, ToolInfo

APP_SOURCES = ("chat", "agent")  # query-log sources that are an app answering; everything else is a hit test


def ts(dt: datetime | None) -> int:
    """Unix seconds (stored times are naive UTC); 0 for "not yet", as LLMOps writes it."""
    return int(dt.replace(tzinfo=UTC).timestamp()) if dt else 0


def paged(items: list[Any], page: Page) -> dict[str, Any]:
    return {"list": items, "paginator": {"current_page": page.page, "page_size": page.page_size,
                                         "total_page": math.ceil(page.total / page.page_size),
                                         "total_record": page.total}}


def mime_of(extension: str) -> str:
    return mimetypes.guess_type(f"file.{extension}")[0] or "application/octet-stream"


# ------------------------------------------------------------------ datasets
def dataset_view(kb: KnowledgeBaseInfo) -> dict[str, Any]:
    return {"id": kb.id, "name": kb.name, "icon": kb.icon, "description": kb.description,
            "document_count": kb.document_count, "character_count": kb.char_count, "word_count": kb.char_count,
            "hit_count": kb.hit_count, "related_app_count": kb.assistant_count, "app_count": kb.assistant_count,
            "created_at": ts(kb.created_at), "updated_at": ts(kb.updated_at)}


def query_view(q: QueryLogEntry) -> dict[str, Any]:
    return {"id": q.id, "dataset_id": q.kb_id, "query": q.query,
            "source": "app" if q.source in APP_SOURCES else "hit_testing", "created_at": ts(q.created_at)}


# ------------------------------------------------------------------ documents
def document_status(doc: DocumentInfo) -> tuple[str, str]:
    """(status, error) in LLMOps' terms: a document never asked to be processed is still waiting."""
    task = doc.task
    if task is None:
        return "waiting", ""
    if task.state == "cancelled":
        return "error", task.error or "Processing was cancelled"
    if task.state == "error":
        return "error", task.error or task.message
    return task.state, ""


def document_view(doc: DocumentInfo) -> dict[str, Any]:
    status, error = document_status(doc)
    return {"id": doc.id, "dataset_id": doc.kb_id, "name": doc.name, "segment_count": doc.chunk_count,
            "character_count": doc.char_count, "hit_count": doc.hit_count, "position": doc.position,
            "enabled": doc.enabled and status == "completed", "disabled_at": ts(doc.disabled_at), "status": status,
            "error": error, "created_at": ts(doc.created_at), "updated_at": ts(doc.updated_at)}


def batch_item(doc: DocumentInfo) -> dict[str, Any]:
    """One document's progress: the stage times of its latest ingestion task (0 = not reached)."""
    status, error = document_status(doc)
    task = doc.task
    finished = ts(task.finished_at) if task else 0
    return {"id": doc.id, "name": doc.name, "size": doc.size, "extension": doc.kind, "mime_type": mime_of(doc.kind),
            "position": doc.position, "segment_count": doc.chunk_count,
            "completed_segment_count": doc.embedded_count or 0, "error": error, "status": status,
            "processing_started_at": ts(task.parsing_at) if task else 0,
            "parsing_completed_at": ts(task.splitting_at) if task else 0,
            "splitting_completed_at": ts(task.indexing_at) if task else 0,
            "completed_at": finished if status == "completed" else 0,
            "stopped_at": finished if status == "error" else 0, "created_at": ts(doc.created_at)}


# ------------------------------------------------------------------ segments
def segment_status(chunk: ChunkInfo, doc: DocumentInfo | None = None) -> tuple[str, str]:
    """completed once its vector is stored; before that it is being indexed, or failed with its document."""
    if chunk.embedded:
        return "completed", ""
    if doc is not None and document_status(doc)[0] == "error":
        return "error", document_status(doc)[1]
    return "indexing", ""


def segment_view(chunk: ChunkInfo, doc: DocumentInfo | None = None) -> dict[str, Any]:
    status, error = segment_status(chunk, doc)
    return {"id": chunk.id, "document_id": chunk.doc_id, "dataset_id": chunk.kb_id, "position": chunk.position + 1,
            "content": chunk.content, "keywords": list(chunk.keywords), "character_count": chunk.char_count,
            "token_count": chunk.token_count, "hit_count": chunk.hit_count, "hash": chunk.content_hash,
            "enabled": chunk.enabled and status == "completed", "disabled_at": ts(chunk.disabled_at),
            "status": status, "error": error, "created_at": ts(chunk.created_at), "updated_at": ts(chunk.updated_at)}


def hit_view(chunk: ChunkInfo, score: float) -> dict[str, Any]:
    return {**segment_view(chunk), "score": round(score, 4),
            "document": {"id": chunk.doc_id, "name": chunk.document_name, "extension": chunk.document_kind,
                         "mime_type": mime_of(chunk.document_kind)}}


# ------------------------------------------------------------------ files
def file_view(f: StoredFile, url: str) -> dict[str, Any]:
    return {"id": f.id, "account_id": f.tenant_id, "name": f.name, "key": f.key, "size": f.size,
            "extension": f.extension, "mime_type": f.mime_type, "url": url, "created_at": ts(f.created_at)}


# ------------------------------------------------------------------ tools
def builtin_tool_view(t: ToolInfo) -> dict[str, Any]:
    return {"name": t.name, "label": t.label, "description": t.description,
            "inputs": [i.model_dump() for i in t.inputs], "params": [p.model_dump() for p in t.params]}


def builtin_provider_view(p: ProviderInfo, *, with_tools: bool = True) -> dict[str, Any]:
    view = {"name": p.name, "label": p.label, "description": p.description, "background": p.background,
            "category": p.category, "icon": f"/builtin-tools/{p.name}/icon", "created_at": ts(p.created_at)}
    if with_tools:
        view["tools"] = [builtin_tool_view(t) for t in p.tools]
    return view


def api_tool_id(provider_id: str, tool_name: str) -> str:
    """A stable id per provider and tool name (tools are rows of their provider, not of their own)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"almanac:api-tool:{provider_id}:{tool_name}"))


def api_tool_view(provider_id: str, t: ToolInfo) -> dict[str, Any]:
    return {"id": api_tool_id(provider_id, t.name), "name": t.name, "description": t.description,
            "inputs": [i.model_dump() for i in t.inputs]}


def api_provider_view(p: ProviderInfo, *, with_schema: bool = False) -> dict[str, Any]:
    view = {"id": p.id, "name": p.name, "icon": p.icon, "description": p.description,
            "headers": [dict(h) for h in p.headers], "created_at": ts(p.created_at)}
    if with_schema:
        view["openapi_schema"] = p.config.get("openapi_schema", "")
    else:
        view["tools"] = [api_tool_view(p.id, t) for t in p.tools]
    return view
