"""WeKnora's shapes of the core objects, and WeKnora's spellings of core settings (both directions).

Times are RFC 3339 in UTC (`2025-04-16T04:15:01.633797Z`); `tenant_id` is the tenant's integer number; metadata
maps carry strings only (WeKnora's clients decode them as map[string]string). Fields WeKnora has and Almanac
does not act on are kept verbatim in the object's `extra["weknora"]` and shown back as they were sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends

from api.common.auth import PrincipalDep, ServicesDep
from api.weknora.errors import bad_request
from core.assistants import ChatSettings
from core.chat import ConversationInfo, MessageInfo
from core.model_configs import ModelConfigInfo
from core.schemas import ChunkInfo, DocumentInfo, KnowledgeBaseInfo, SearchHit
from core.tenants import TenantInfo


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    number: int  # what WeKnora calls tenant_id


def caller(svc: ServicesDep, who: PrincipalDep) -> Caller:
    return Caller(who.tenant_id, svc.tenants.number_of(who.tenant_id))


CallerDep = Annotated[Caller, Depends(caller)]


def ok(data: Any = None, **more: Any) -> dict[str, Any]:
    return {"success": True, **({} if data is None else {"data": data}), **more}


def rfc3339(dt: datetime | None) -> str | None:
    """Stored times are naive UTC."""
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if dt else None


def parse_time(value: str, field: str) -> datetime:
    """An RFC 3339 time with a zone, as naive UTC."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if dt.tzinfo is None:
            raise bad_request(f"{field} needs a time zone (e.g. 2025-04-18T11:57:31+08:00)")
        return dt.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise bad_request(f"Invalid time format for {field}, please use RFC 3339 (e.g. 2025-04-18T11:57:31Z)") \
            from None


def strings(meta: dict[str, Any] | None, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Metadata as WeKnora's clients read it: every value a string (JSON for numbers, lists and objects)."""
    return {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in (meta or {}).items() if k not in skip}


def verbatim(extra: dict[str, Any] | None) -> dict[str, Any]:
    return dict((extra or {}).get("weknora") or {})


# ------------------------------------------------------------------ tenants
def tenant_view(t: TenantInfo) -> dict[str, Any]:
    return {"id": t.number, "name": t.name, "description": t.description, "api_key": t.api_key, "status": "active",
            "created_at": rfc3339(t.created_at), "updated_at": rfc3339(t.updated_at)}


# ------------------------------------------------------------------ knowledge bases
def kb_view(kb: KnowledgeBaseInfo, number: int) -> dict[str, Any]:
    saved = verbatim(kb.extra)
    chunking = kb.chunk_config
    separators = saved.get("separators")
    if separators is None or [re.escape(s) for s in separators] != chunking.separators:
        separators = list(chunking.separators)  # set elsewhere (regular expressions)
    same_model = saved.get("embedding_model") == kb.embedding_model
    return {
        "id": kb.id, "name": kb.name, "description": kb.description, "tenant_id": number,
        "chunking_config": {"chunk_size": chunking.chunk_size, "chunk_overlap": chunking.chunk_overlap,
                            "separators": separators, "enable_multimodal": bool(saved.get("enable_multimodal"))},
        "image_processing_config": saved.get("image_processing_config") or {"model_id": ""},
        "embedding_model_id": saved["embedding_model_id"] if same_model else kb.embedding_model,
        "summary_model_id": saved.get("summary_model_id", ""),
        "config": {"chunk_size": chunking.chunk_size, "chunk_overlap": chunking.chunk_overlap},
        "knowledge_count": kb.document_count, "chunk_count": kb.chunk_count,
        "created_at": rfc3339(kb.created_at), "updated_at": rfc3339(kb.updated_at),
    }


def chunking_changes(chunking: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """WeKnora's chunking_config -> (core chunk_config changes, fields kept verbatim). Zero or null values
    (what a client sends for fields it does not set) change nothing."""
    core: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    if chunking.get("chunk_size"):
        core["chunk_size"] = chunking["chunk_size"]
    if chunking.get("chunk_overlap") is not None:
        core["chunk_overlap"] = chunking["chunk_overlap"]
    separators = chunking.get("separators")
    if separators is not None:
        if not isinstance(separators, list) or not all(isinstance(s, str) and s for s in separators):
            raise bad_request("chunking_config.separators must be a list of non-empty strings")
        core["separators"], kept["separators"] = [re.escape(s) for s in separators], separators
    if chunking.get("enable_multimodal") is not None:
        kept["enable_multimodal"] = bool(chunking["enable_multimodal"])
    return core, kept


# ------------------------------------------------------------------ knowledge (documents)
PARSE_STATUS = {"waiting": "pending", "parsing": "processing", "splitting": "processing", "indexing": "processing",
                "completed": "completed", "error": "failed", "cancelled": "failed", "unstart": "pending"}


def knowledge_view(doc: DocumentInfo, number: int, embedding_model_id: str = "") -> dict[str, Any]:
    task = doc.task
    done = task is not None and task.state == "completed"
    error = (task.error or ("Processing was cancelled" if task.state == "cancelled" else "")) if task else ""
    return {
        "id": doc.id, "tenant_id": number, "knowledge_base_id": doc.kb_id,
        "type": "url" if doc.source_type == "url" else "file", "title": doc.name, "description": "",
        "source": doc.source_url, "parse_status": PARSE_STATUS.get(doc.status, "processing"),
        "enable_status": "enabled" if doc.enabled and done else "disabled", "embedding_model_id": embedding_model_id,
        "file_name": doc.name, "file_type": doc.kind, "file_size": doc.size, "file_path": "",
        "metadata": strings(doc.meta), "chunk_count": doc.chunk_count,
        "created_at": rfc3339(doc.created_at), "updated_at": rfc3339(doc.updated_at),
        "processed_at": rfc3339(task.finished_at) if done else None, "error_message": error,
    }


# ------------------------------------------------------------------ chunks and search results
IMAGE_INFO = "image_info"  # a chunk's image information (WeKnora's JSON string), kept in its metadata


def chunk_view(c: ChunkInfo, number: int) -> dict[str, Any]:
    return {"id": c.id, "tenant_id": number, "knowledge_id": c.doc_id, "knowledge_base_id": c.kb_id,
            "content": c.content, "chunk_index": c.position, "is_enabled": c.enabled, "chunk_type": "text",
            "metadata": strings(c.meta, skip=(IMAGE_INFO,)), IMAGE_INFO: str(c.meta.get(IMAGE_INFO, "")),
            "created_at": rfc3339(c.created_at), "updated_at": rfc3339(c.updated_at)}


def search_result(h: SearchHit) -> dict[str, Any]:
    return {"id": h.chunk_id, "content": h.content, "knowledge_id": h.doc_id, "knowledge_base_id": h.kb_id,
            "chunk_index": h.position, "knowledge_title": h.document_name, "knowledge_filename": h.document_name,
            "score": round(h.score, 6), "chunk_type": "text", "metadata": strings(h.meta, skip=(IMAGE_INFO,)),
            IMAGE_INFO: str(h.meta.get(IMAGE_INFO, ""))}


def reference_view(ref: dict[str, Any]) -> dict[str, Any]:
    """A passage an answer used (core/prompting.passage), as WeKnora's knowledge_references."""
    return {"id": ref.get("chunk_id", ""), "content": ref.get("content", ""), "knowledge_id": ref.get("doc_id", ""),
            "knowledge_base_id": ref.get("kb_id", ""), "knowledge_title": ref.get("document_name", ""),
            "seq": ref.get("index", 0), "score": ref.get("score", 0.0), "chunk_type": "text"}


# ------------------------------------------------------------------ models
TYPES = {"llm": "llm", "knowledgeqa": "llm", "chat": "llm", "summary": "llm", "vllm": "llm",
         "embedding": "embedding", "rerank": "rerank", "stt": "stt", "tts": "tts"}
TYPE_NAMES = {"llm": "LLM", "embedding": "EMBEDDING", "rerank": "RERANK", "stt": "STT", "tts": "TTS"}
# WeKnora's sources are a place (local: Ollama; remote: an API): both speak the OpenAI protocol here.
SOURCES = {"local": "openai", "remote": "openai", "internal": "openai", "external": "openai", "ollama": "openai"}
CONNECTION = ("model", "base_url", "api_key")


def model_type(value: str) -> str:
    found = TYPES.get((value or "").strip().lower())
    if found is None:
        raise bad_request(f"Unknown model type '{value}' (use LLM, EMBEDDING, RERANK, STT or TTS)")
    return found


def model_provider(source: str) -> str:
    source = (source or "").strip().lower()
    return SOURCES.get(source, source)


def model_parameters(parameters: dict[str, Any] | None) -> dict[str, Any]:
    """WeKnora's `parameters` -> core fields: model, base_url, api_key and the rest as params."""
    parameters = dict(parameters or {})
    fields = {k: parameters.pop(k) for k in CONNECTION if parameters.get(k) is not None}
    if not all(isinstance(v, str) for v in fields.values()):
        raise bad_request(f"parameters.{', '.join(CONNECTION)} must be strings")
    embedding = parameters.pop("embedding_parameters", None) or {}
    if not isinstance(embedding, dict):
        raise bad_request("parameters.embedding_parameters must be an object")
    if embedding.get("dimension"):
        parameters["dimension"] = embedding["dimension"]
    return {**fields, "params": parameters}


def model_view(m: ModelConfigInfo, number: int) -> dict[str, Any]:
    parameters = {"model": m.model, "base_url": m.base_url, "api_key": m.api_key_masked, **m.params}
    return {"id": m.id, "tenant_id": number, "name": m.name, "type": TYPE_NAMES.get(m.type, m.type.upper()),
            "source": m.provider.upper(), "description": m.description, "parameters": parameters,
            "is_default": m.is_default, "status": m.status, "created_at": rfc3339(m.created_at),
            "updated_at": rfc3339(m.updated_at)}


# ------------------------------------------------------------------ sessions and their strategy
FALLBACKS = {"FIXED_RESPONSE": "fixed_response", "FIXED": "fixed_response", "NO_FALLBACK": "model",
             "MODEL": "model"}
# Sent to the LLM as given: summary_parameters' sampling fields.
SAMPLING = ("temperature", "top_p", "frequency_penalty", "presence_penalty")
# Kept verbatim (Almanac has no such knob): shown back as sent.
KEPT = ("rerank_model_id", "rerank_threshold", "no_match_prefix")
KEPT_SUMMARY = ("top_k", "repeat_penalty", "context_template", "no_match_prefix", "seed", "max_completion_tokens")
WEKNORA_SESSION = {"prompt": {"opener": "", "empty_response": ""}}  # no greeting; the fallback decides


def session_settings(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A WeKnora session strategy -> (core ChatSettings sections, fields kept verbatim). Zero values that a
    client sends for what it does not set (top k, max tokens, empty ids) change nothing."""
    strategy: dict[str, Any] = {}
    prompt: dict[str, Any] = {}
    llm: dict[str, Any] = {}
    kept = {k: fields[k] for k in KEPT if fields.get(k) is not None}
    if fields.get("max_rounds") is not None:
        strategy["max_rounds"] = fields["max_rounds"]
    if fields.get("enable_rewrite") is not None:
        strategy["query_rewrite"] = fields["enable_rewrite"]
    if fields.get("fallback_strategy"):
        name = str(fields["fallback_strategy"]).strip().upper()
        if name not in FALLBACKS:
            raise bad_request("fallback_strategy must be FIXED_RESPONSE or NO_FALLBACK")
        strategy["fallback_strategy"], kept["fallback_strategy"] = FALLBACKS[name], fields["fallback_strategy"]
    if fields.get("fallback_response") is not None:
        strategy["fallback_response"] = fields["fallback_response"]
    if fields.get("embedding_top_k"):
        prompt["top_k"] = fields["embedding_top_k"]
    if fields.get("rerank_top_k"):
        prompt["top_n"] = fields["rerank_top_k"]
    thresholds = {k: fields[k] for k in ("keyword_threshold", "vector_threshold") if fields.get(k) is not None}
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in thresholds.values()):
        raise bad_request("keyword_threshold and vector_threshold must be numbers from 0 to 1")
    if thresholds:  # Almanac fuses both scores into one: the lower threshold keeps what either would keep
        prompt["similarity_threshold"] = min(thresholds.values())
        kept.update(thresholds)
    if fields.get("summary_model_id"):
        llm["model_id"] = fields["summary_model_id"]
    summary = fields.get("summary_parameters") or {}
    if not isinstance(summary, dict):
        raise bad_request("summary_parameters must be an object")
    llm.update({k: summary[k] for k in SAMPLING if summary.get(k) is not None})
    if summary.get("max_tokens"):
        llm["max_tokens"] = summary["max_tokens"]
    if summary.get("prompt"):
        prompt["system"] = summary["prompt"]
    kept_summary = {k: summary[k] for k in KEPT_SUMMARY if summary.get(k) is not None}
    if kept_summary:
        kept["summary_parameters"] = kept_summary
    sections = {k: v for k, v in (("strategy", strategy), ("prompt", prompt), ("llm", llm)) if v}
    return sections, kept


def session_view(c: ConversationInfo, number: int, settings: ChatSettings | None = None) -> dict[str, Any]:
    view = {"id": c.id, "tenant_id": number, "knowledge_base_id": c.kb_ids[0] if c.kb_ids else "",
            "title": c.title, "description": "", "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at)}
    if settings is None:
        return view
    kept = verbatim(c.extra)
    s, p, llm = settings.strategy, settings.prompt, settings.llm
    summary = {"max_tokens": llm.max_tokens or 0, "top_p": llm.top_p, "top_k": 0, "frequency_penalty":
               llm.frequency_penalty, "presence_penalty": llm.presence_penalty, "repeat_penalty": 1.0,
               "prompt": p.system, "context_template": "", "no_match_prefix": "", "temperature": llm.temperature,
               "seed": 0, "max_completion_tokens": llm.max_tokens or 0, **(kept.get("summary_parameters") or {})}
    return {**view, "max_rounds": s.max_rounds, "enable_rewrite": s.query_rewrite,
            "fallback_strategy": kept.get("fallback_strategy") or
            ("FIXED_RESPONSE" if s.fallback_strategy == "fixed_response" else "NO_FALLBACK"),
            "fallback_response": s.fallback_response, "embedding_top_k": p.top_k,
            "keyword_threshold": kept.get("keyword_threshold", p.similarity_threshold),
            "vector_threshold": kept.get("vector_threshold", p.similarity_threshold),
            "rerank_model_id": kept.get("rerank_model_id", ""), "rerank_top_k": p.top_n,
            "rerank_threshold": kept.get("rerank_threshold", 0.0), "summary_model_id": llm.model_id,
            "summary_parameters": summary, "no_match_prefix": kept.get("no_match_prefix", "")}


# ------------------------------------------------------------------ messages
def message_views(messages: list[MessageInfo]) -> list[dict[str, Any]]:
    """Oldest first; a question and its answer share a request_id (the answer's id, also the id of its stream)."""
    out = []
    for i, m in enumerate(messages):
        following = messages[i + 1] if i + 1 < len(messages) else None
        answer = following if m.role == "user" and following is not None and following.role == "assistant" else m
        refs = [{**reference_view(r), "knowledge_tite": r.get("document_name", "")} for r in m.references]
        out.append({"id": m.id, "session_id": m.conversation_id, "request_id": answer.id, "content": m.content,
                    "role": m.role, "knowledge_references": refs if m.role == "assistant" else None,
                    "is_completed": m.completed, "created_at": rfc3339(m.created_at),
                    "updated_at": rfc3339(m.created_at)})
    return out
