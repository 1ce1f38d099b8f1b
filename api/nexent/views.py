"""Nexent's shapes of the core objects: conversations and messages, search hits, index statistics, tasks, models.

Nexent's conversation times are epoch milliseconds; its task times here ISO 8601 UTC strings (the spec's
"string"). A document's `path_or_url` is where it came from (its URL or path), else its name.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from core.chat import ConversationInfo, MessageInfo
from core.model_configs import ModelConfigInfo
from core.schemas import DocumentInfo, IngestionTask, KnowledgeBaseInfo, SearchHit
from core.text import human_size

PROCESS_SOURCE = "Almanac"
# Almanac task states -> Nexent's data-process states (indexing = forwarding the chunks into the index).
TASK_STATUS = {"waiting": "WAITING", "parsing": "PROCESSING", "splitting": "PROCESSING", "indexing": "FORWARDING",
               "completed": "COMPLETED", "error": "FAILED", "cancelled": "FAILED"}
OPINION_FLAG = {1: "Y", -1: "N"}
# Almanac model status <-> Nexent's ModelConnectStatusEnum values (its English names accepted too).
CONNECT_STATUS = {"unknown": "未检测", "checking": "检测中", "ok": "可用", "error": "不可用"}
STATUS_OF = {**{v: k for k, v in CONNECT_STATUS.items()},
             "NOT_DETECTED": "unknown", "DETECTING": "checking", "AVAILABLE": "ok", "UNAVAILABLE": "error"}


def millis(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


def iso(dt: datetime | None) -> str | None:
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if dt else None


def path_or_url(doc: DocumentInfo) -> str:
    return doc.source_url or doc.name


# ------------------------------------------------------------------ conversations
def conversation_view(c: ConversationInfo) -> dict[str, Any]:
    return {"conversation_id": c.number, "conversation_title": c.title, "create_time": millis(c.created_at),
            "update_time": millis(c.updated_at)}


def search_item(ref: dict[str, Any]) -> dict[str, Any]:
    """A passage an answer used, as Nexent's source record."""
    name = ref.get("document_name", "")
    return {"title": name, "text": ref.get("content", ""), "source_type": "file", "url": ref.get("url") or name,
            "filename": name, "published_date": None, "score": ref.get("score"), "score_details": {},
            "cite_index": ref.get("index"), "search_type": "knowledge_base_search", "tool_sign": "a"}


def trace_units(trace: list[dict[str, Any]]) -> list[dict[str, str]]:
    """An answer's tool calls and results as Nexent's message units (step, parse, execution logs)."""
    units, step = [], None
    for item in trace:
        if item.get("type") == "tool_call":
            if item.get("step") != step:
                step = item.get("step")
                units.append({"type": "step_count", "content": step_title(int(step or 0) + 1)})
            units.append({"type": "parse", "content": tool_call_text(item.get("name", ""), item.get("arguments"))})
        elif item.get("type") == "tool_result":
            units.append({"type": "execution_logs", "content": tool_result_text(item.get("content", ""))})
    return units


def message_view(m: MessageInfo) -> dict[str, Any]:
    if m.role == "user":
        item: dict[str, Any] = {"role": "user", "message": m.content, "message_id": m.number, "opinion_flag": None}
        if m.attachments:
            item["minio_files"] = [attachment_view(a) for a in m.attachments]
        return item
    units = [*trace_units(m.trace), {"type": "final_answer", "content": m.content}]
    item = {"role": "assistant", "message": units, "message_id": m.number,
            "opinion_flag": OPINION_FLAG.get(m.feedback), "picture": [], "search": []}
    if m.references:
        item["search"] = [search_item(r) for r in m.references]
    return item


def attachment_view(a: dict[str, Any]) -> dict[str, Any]:
    return {"object_name": a.get("file_id", ""), "name": a.get("name", ""), "type": a.get("mime_type", ""),
            "size": a.get("size", 0)}


# ------------------------------------------------------------------ the agent's stream
def frame_data(kind: str, content: Any) -> dict[str, Any]:
    return {"type": kind, "content": content if isinstance(content, str) else json.dumps(content,
                                                                                         ensure_ascii=False)}


def step_title(n: int) -> str:
    return f"\n**Step {n}** \n"


def tool_call_text(name: str, arguments: Any) -> str:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False, indent=1)
    return f"\n🛠️ Used tool {name}\n```json\n{args}\n```\n"


def tool_result_text(content: str) -> str:
    return f"\n📝 Execution Logs\n```text\n{content}\n```\n"


def duration_text(done: dict[str, Any]) -> str:
    seconds = float(done.get("latency_ms") or 0) / 1000
    tokens = int(done.get("prompt_tokens") or 0) + int(done.get("completion_tokens") or 0)
    return f'<span style="color: #bbbbc2; font-size: 12px;">Duration:{seconds:.2f}s · {tokens} tokens</span> '


# ------------------------------------------------------------------ indices
def index_stats(kb: KnowledgeBaseInfo, size: int, summary: bool = False) -> dict[str, Any]:
    """Nexent's base_info / search_performance, with the spec's docs / size in base_info (and beside it with
    `summary`, as the list shows them)."""
    base = {"doc_count": kb.document_count, "chunk_count": kb.chunk_count, "store_size": human_size(size, sep=""),
            "process_source": PROCESS_SOURCE, "embedding_model": kb.embedding_model,
            "embedding_dim": kb.embedding_dim, "creation_date": iso(kb.created_at), "update_date": iso(kb.updated_at),
            "docs": kb.document_count, "size": human_size(size, sep="")}
    stats = {"base_info": base, "search_performance": {"hit_count": kb.hit_count, "hits": kb.hit_count}}
    return {**stats, "docs": base["docs"], "size": base["size"]} if summary else stats


INDEX_FIELDS = {"id": "keyword", "title": "text", "filename": "keyword", "path_or_url": "keyword",
                "language": "keyword", "author": "keyword", "date": "date", "content": "text",
                "process_source": "keyword", "embedding_model_name": "keyword", "file_size": "long",
                "create_time": "date", "embedding": "dense_vector"}


def file_view(doc: DocumentInfo) -> dict[str, Any]:
    return {"path_or_url": path_or_url(doc), "file": doc.name, "filename": doc.name, "file_size": doc.size,
            "create_time": iso(doc.created_at), "status": TASK_STATUS.get(doc.status, "WAITING"),
            "chunk_count": doc.chunk_count, "source_type": "url" if doc.source_type == "url" else "file",
            "error": doc.task.error if doc.task and doc.task.error else None}


def hit_view(hit: SearchHit, index: str, doc: DocumentInfo | None, score: float) -> dict[str, Any]:
    """A search result with the fields of a document in Nexent's index."""
    meta = doc.meta if doc else {}
    return {"id": hit.chunk_id, "title": str(meta.get("title") or hit.document_name), "filename": hit.document_name,
            "path_or_url": path_or_url(doc) if doc else hit.document_name, "content": hit.content,
            "language": meta.get("language"), "author": meta.get("author"), "date": meta.get("date"),
            "process_source": PROCESS_SOURCE, "embedding_model_name": None, "file_size": doc.size if doc else 0,
            "create_time": iso(doc.created_at) if doc else None,
            "source_type": "url" if doc and doc.source_type == "url" else "file", "score": score, "index": index}


# ------------------------------------------------------------------ tasks
def task_view(t: IngestionTask) -> dict[str, Any]:
    return {"id": t.id, "task_id": t.id, "status": TASK_STATUS[t.state].lower(), "created_at": iso(t.created_at),
            "updated_at": iso(t.updated_at), "error": t.error or None, "progress": round(t.progress, 4),
            "message": t.message}


def task_details(t: IngestionTask, index: str) -> dict[str, Any]:
    result = {"index_name": index, "path_or_url": t.source_url or t.document_name, "filename": t.document_name,
              "source_type": "url" if t.source_type == "url" else "file", "file_size": t.size,
              "chunks": t.chunk_count, "stages": {"waiting": iso(t.created_at), "parsing": iso(t.parsing_at),
                                                  "splitting": iso(t.splitting_at), "indexing": iso(t.indexing_at),
                                                  "finished": iso(t.finished_at)}}
    return {**task_view(t), "results": result}


def index_task_view(t: IngestionTask) -> dict[str, Any]:
    return {"path_or_url": t.source_url or t.document_name, "file": t.document_name, "file_size": t.size,
            "create_time": iso(t.created_at), "status": TASK_STATUS[t.state], "task_id": t.id,
            "progress": round(t.progress, 4)}


# ------------------------------------------------------------------ models
def model_view(m: ModelConfigInfo) -> dict[str, Any]:
    repo, _, _ = m.model.rpartition("/")
    return {"model_id": m.id, "model_name": m.model, "model_repo": repo, "display_name": m.name,
            "model_type": m.type, "model_factory": m.provider, "base_url": m.base_url, "api_key": m.api_key_masked,
            "max_tokens": int(m.params.get("max_tokens") or 0), "connect_status": CONNECT_STATUS.get(m.status, "未检测"),
            "is_default": m.is_default, "description": m.description}


def ok(data: Any = None, message: str = "success", code: int = 0) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}
