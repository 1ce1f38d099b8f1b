"""RAGFlow's HTTP API (/api/v1): router assembly and what its modules share.

Shapes follow RAGFlow: `{"code": 0, "data": ...}` on success, `{"code": <RetCode>, "message": ...}`
otherwise (api/errors.py), datasets = knowledge bases, documents, chunks, chats = assistants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter

from api.errors import RAGFLOW_DATA, DialectError, RagflowRoute
from api.ragflow_parsers import CANONICAL, core_chunk_config, default_parser_config, method_of
from core.container import Services
from core.errors import NotFound
from core.schemas import DocumentInfo, KnowledgeBaseInfo, TaskInfo
from storage.orm import utcnow

ORDER_FIELDS = {"create_time": "created_at", "update_time": "updated_at"}


def ok(data: Any = None) -> dict[str, Any]:
    return {"code": 0} if data is None else {"code": 0, "data": data}


def data_error(message: str) -> DialectError:
    return DialectError(RAGFLOW_DATA, message)


def ms(dt: datetime | None) -> int | None:
    """RAGFlow's create_time: milliseconds since the epoch (stored times are naive UTC)."""
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000) if dt else None


def http_date(dt: datetime | None) -> str | None:
    """RAGFlow's create_date: `Thu, 24 Oct 2024 09:14:07 GMT`."""
    return format_datetime(dt.replace(tzinfo=UTC), usegmt=True) if dt else None


def order_field(orderby: str) -> str:
    if orderby not in ORDER_FIELDS:
        raise DialectError(101, f"Field: <orderby> - Message: <Input should be 'create_time' or 'update_time'> "
                                f"- Value: <{orderby}>")
    return ORDER_FIELDS[orderby]


# ------------------------------------------------------------------ ownership
def own_dataset(svc: Services, tenant_id: str, dataset_id: str) -> KnowledgeBaseInfo:
    try:
        return svc.knowledge.get(tenant_id, dataset_id)
    except NotFound:
        raise data_error(f"You don't own the dataset {dataset_id}.") from None


def own_document(svc: Services, tenant_id: str, dataset_id: str, document_id: str) -> DocumentInfo:
    """A document of this dataset (the dataset must be the caller's)."""
    own_dataset(svc, tenant_id, dataset_id)
    try:
        doc = svc.documents.get(tenant_id, document_id)
    except NotFound:
        doc = None
    if doc is None or doc.kb_id != dataset_id:
        raise data_error(f"You don't own the document {document_id}.")
    return doc


# ------------------------------------------------------------------ views
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
        "language": kb.language, "embedding_model": kb.embedding_model, "permission": kb.permission,
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
    end = task.finished_at or utcnow()
    duration = round(max(0.0, (end - task.created_at).total_seconds()), 3)
    run = RUN_STATES.get(task.state, "RUNNING")
    message = task.message + (f"\n{task.error}" if task.error and task.error not in task.message else "")
    return {"run": run, "progress": -1.0 if run == "FAIL" else (1.0 if run == "DONE" else float(task.progress)),
            "progress_msg": message.strip(), "process_begin_at": http_date(task.created_at),
            "process_duration": duration, "process_duation": duration}  # RAGFlow's misspelling too


def document_settings(doc: DocumentInfo, kb: KnowledgeBaseInfo) -> tuple[str, dict[str, Any]]:
    kb_method, kb_config = dataset_settings(kb)
    if doc.chunk_config is None:
        return kb_method, kb_config
    method = method_of(doc.chunk_config, kb_method)
    config = dict(kb_config) if method == kb_method else default_parser_config(method)
    if method in ("naive", "knowledge_graph"):
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
        raise DialectError(101, f"parser_config: {exc}") from None


def build_router() -> APIRouter:
    from api import (
        openai_compat,
        ragflow_agents,
        ragflow_chats,
        ragflow_chunks,
        ragflow_datasets,
        ragflow_documents,
        ragflow_retrieval,
        ragflow_sessions,
    )

    router = APIRouter(prefix="/api/v1", route_class=RagflowRoute)
    for module in (ragflow_datasets, ragflow_documents, ragflow_chunks, ragflow_retrieval, ragflow_chats,
                   ragflow_sessions, ragflow_agents):
        router.include_router(module.router)
    router.include_router(openai_compat.ragflow_router)  # /api/v1/chats_openai/{chat_id}/chat/completions
    return router
