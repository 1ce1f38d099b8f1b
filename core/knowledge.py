"""Knowledge bases: create, list, inspect, update, copy, delete — always within one tenant."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.copying import copy_knowledge_base
from core.embedding import EmbeddingService
from core.documents import release_files
from core.errors import Conflict, InvalidInput, NotFound
from core.naming import free_name
from core.providers.embeddings import EmbedderSpec
from core.schemas import ChunkConfig, KnowledgeBaseInfo, Page, RetrievalConfig
from core.scope import check_paging, load_kb, parse_config
from storage.db import Database
from storage.files import BlobStore
from storage.orm import Assistant, Chunk, Document, KnowledgeBase
from storage.vectors import VectorStore


UPDATABLE = {"name", "description", "icon", "language", "permission", "embedding_model",
             "chunk_config", "retrieval_config", "extra"}


def assistant_counts(s: Session, tenant_id: str) -> Counter[str]:
    """Knowledge base id -> how many of the tenant's assistants and agents use it (in their draft)."""
    rows = s.scalars(select(Assistant.kb_ids).where(Assistant.tenant_id == tenant_id))
    return Counter(kb_id for kb_ids in rows for kb_id in set(kb_ids or []))


def kb_info(s: Session, kb: KnowledgeBase, assistants: Counter[str] | None = None) -> KnowledgeBaseInfo:
    docs, chunks, tokens, chars, size = s.execute(
        select(func.count(Document.id), func.coalesce(func.sum(Document.chunk_count), 0),
               func.coalesce(func.sum(Document.token_count), 0), func.coalesce(func.sum(Document.char_count), 0),
               func.coalesce(func.sum(Document.size), 0))
        .where(Document.kb_id == kb.id)
    ).one()
    return KnowledgeBaseInfo(
        id=kb.id, tenant_id=kb.tenant_id, name=kb.name, description=kb.description, icon=kb.icon,
        language=kb.language, permission=kb.permission, embedding_model=kb.embedding_model,
        embedding_dim=kb.embedding_dim, chunk_config=ChunkConfig.model_validate(kb.chunk_config),
        retrieval_config=RetrievalConfig.model_validate(kb.retrieval_config), extra=kb.extra or {},
        document_count=docs, chunk_count=chunks, token_count=tokens, char_count=chars, size=size,
        hit_count=kb.hit_count,
        assistant_count=(assistants if assistants is not None else assistant_counts(s, kb.tenant_id))[kb.id],
        created_at=kb.created_at, updated_at=kb.updated_at,
    )


class KnowledgeService:
    def __init__(self, db: Database, vectors: VectorStore, blobs: BlobStore, embeddings: EmbeddingService,
                 settings: Settings, on_queued: Callable[[], None] = lambda: None):
        self.db, self.vectors, self.blobs, self.embeddings = db, vectors, blobs, embeddings
        self.settings = settings
        self.on_queued = on_queued  # wakes the in-process workers (a copy may queue documents)

    def _check_name(self, s: Session, tenant_id: str, name: str, exclude_id: str | None = None,
                    rename: bool = False) -> str:
        """The name, trimmed; a taken name (case-insensitive) is a Conflict, or with `rename` becomes `name(1)`."""
        name = (name or "").replace("\x00", "").strip()
        if not name:
            raise InvalidInput("Knowledge base name must not be empty")

        def taken(candidate: str) -> bool:
            q = select(KnowledgeBase.id).where(KnowledgeBase.tenant_id == tenant_id,
                                               KnowledgeBase.name_key == candidate.casefold())
            return bool(s.scalar(q.where(KnowledgeBase.id != exclude_id) if exclude_id else q))

        if rename:
            name = free_name(name, taken)
        elif taken(name):
            raise Conflict(f"A knowledge base named '{name}' already exists")
        if len(name) > 255:
            raise InvalidInput("Knowledge base name is longer than 255 characters")
        return name

    @staticmethod
    def _check_lengths(language: str | None, permission: str | None) -> None:
        if language is not None and len(language) > 32:
            raise InvalidInput("language is longer than 32 characters")
        if permission is not None and len(permission) > 16:
            raise InvalidInput("permission is longer than 16 characters")

    def _check_model(self, model_id: str) -> str:
        EmbedderSpec.parse(model_id)  # raises InvalidInput for an unknown provider
        return model_id

    def create(self, tenant_id: str, name: str, *, description: str = "", icon: str = "",
               language: str = "English", permission: str = "me", embedding_model: str = "",
               chunk_config: dict | None = None, retrieval_config: dict | None = None,
               extra: dict | None = None, rename_duplicate: bool = False) -> KnowledgeBaseInfo:
        """A new knowledge base; a taken name is a Conflict, or with `rename_duplicate` becomes `name(1)`."""
        chunking = parse_config(ChunkConfig, chunk_config)
        retrieval = parse_config(RetrievalConfig, retrieval_config)
        model = self._check_model(embedding_model or self.settings.embedding_model)
        self._check_lengths(language, permission)
        with self.db.session() as s:
            name = self._check_name(s, tenant_id, name, rename=rename_duplicate)
            kb = KnowledgeBase(
                tenant_id=tenant_id, name=name, name_key=name.casefold(), description=description or "",
                icon=icon or "", language=language or "English", permission=permission or "me",
                embedding_model=model, chunk_config=chunking.model_dump(),
                retrieval_config=retrieval.model_dump(), extra=extra or {},
            )
            s.add(kb)
            s.flush()
            return kb_info(s, kb)

    def get(self, tenant_id: str, kb_id: str) -> KnowledgeBaseInfo:
        with self.db.session() as s:
            return kb_info(s, load_kb(s, tenant_id, kb_id))

    def require(self, tenant_id: str, kb_id: str) -> None:
        """NotFound unless the tenant has this knowledge base (get without the counts: a check per request)."""
        with self.db.session() as s:
            load_kb(s, tenant_id, kb_id)

    def find(self, tenant_id: str, name: str) -> KnowledgeBaseInfo:
        """The tenant's knowledge base named `name` (case-insensitive); NotFound otherwise."""
        with self.db.session() as s:
            kb = s.scalar(select(KnowledgeBase).where(KnowledgeBase.tenant_id == tenant_id,
                                                      KnowledgeBase.name_key == (name or "").strip().casefold()))
            if kb is None:
                raise NotFound(f"Knowledge base '{name}' not found", kind="knowledge_base", ident=name)
            return kb_info(s, kb)

    def list(self, tenant_id: str, *, search: str = "", page: int = 1, page_size: int = 30,
             order_by: str = "created_at", desc: bool = True, kb_id: str = "", name: str = "") -> Page:
        check_paging(page, page_size)
        if order_by not in ("created_at", "updated_at", "name"):
            raise InvalidInput("order_by must be one of: created_at, updated_at, name")
        q = select(KnowledgeBase).where(KnowledgeBase.tenant_id == tenant_id)
        if search:
            q = q.where(KnowledgeBase.name_key.contains(search.casefold(), autoescape=True))
        if kb_id:
            q = q.where(KnowledgeBase.id == kb_id)
        if name:
            q = q.where(KnowledgeBase.name_key == name.casefold())
        col = getattr(KnowledgeBase, "name_key" if order_by == "name" else order_by)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(col.desc() if desc else col.asc(), KnowledgeBase.id)
                             .offset((page - 1) * page_size).limit(page_size)).all()
            counts = assistant_counts(s, tenant_id)
            return Page(items=[kb_info(s, kb, counts) for kb in rows], total=total, page=page, page_size=page_size)

    def update(self, tenant_id: str, kb_id: str, **changes: Any) -> KnowledgeBaseInfo:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidInput(f"Cannot update: {', '.join(sorted(unknown))}")
        self._check_lengths(changes.get("language"), changes.get("permission"))
        with self.db.session() as s:
            kb = load_kb(s, tenant_id, kb_id)
            if "name" in changes:
                kb.name = self._check_name(s, tenant_id, changes.pop("name"), exclude_id=kb.id)
                kb.name_key = kb.name.casefold()
            if "embedding_model" in changes:
                model = self._check_model(changes.pop("embedding_model") or self.settings.embedding_model)
                if model != kb.embedding_model:
                    if s.scalar(select(func.count(Chunk.id)).where(Chunk.kb_id == kb.id)):
                        raise Conflict("The embedding model cannot change while the knowledge base has chunks "
                                       "(their vectors would not be comparable); delete its documents first")
                    kb.embedding_model, kb.embedding_dim = model, None
            if "chunk_config" in changes:
                merged = {**kb.chunk_config, **(changes.pop("chunk_config") or {})}
                kb.chunk_config = parse_config(ChunkConfig, merged).model_dump()
            if "retrieval_config" in changes:
                merged = {**kb.retrieval_config, **(changes.pop("retrieval_config") or {})}
                kb.retrieval_config = parse_config(RetrievalConfig, merged).model_dump()
            if "extra" in changes:
                kb.extra = {**(kb.extra or {}), **(changes.pop("extra") or {})}
            for field, value in changes.items():
                setattr(kb, field, value if value is not None else getattr(kb, field))
            s.flush()
            return kb_info(s, kb)

    def delete(self, tenant_id: str, kb_id: str) -> None:
        """Rows go at once (cascade); the vector collection is dropped in the background."""
        with self.db.session() as s:
            kb = load_kb(s, tenant_id, kb_id)
            file_ids = [f for f in s.scalars(select(Document.file_id).where(Document.kb_id == kb.id)) if f]
            s.delete(kb)
            s.flush()
            release_files(s, self.blobs, file_ids)
        threading.Thread(target=self.vectors.drop, args=(kb_id,), name=f"drop-{kb_id}", daemon=True).start()

    def copy(self, tenant_id: str, kb_id: str, new_name: str = "", *, into: str = "") -> KnowledgeBaseInfo:
        """A new knowledge base with the same settings, documents, chunks and vectors; with `into`, the documents
        the existing knowledge base `into` does not have yet are added to it (it keeps its settings)."""
        return copy_knowledge_base(self, tenant_id, kb_id, new_name, into)
