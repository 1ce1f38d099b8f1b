"""Chunks: list, edit, add, enable/disable, delete.

Every change updates the row (and with it the keyword index, which the database keeps
in step) and the vector store together, so search never returns stale text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.embedding import EmbeddingService, text_hash
from core.errors import Conflict, InvalidInput
from core.ingestion.keywords import extract_keywords
from core.scope import check_paging, load_document, load_kb, load_owned
from core.schemas import ACTIVE_STATES, ChunkConfig, ChunkInfo, Page
from core.text import count_tokens, search_tokens
from storage.db import Database
from storage.orm import Chunk, Document, KnowledgeBase, new_id, utcnow
from storage.vectors import VectorStore

# Manual chunks: about 8,000 tokens of English (the largest chunk size), far less than a megabyte.
MAX_CHUNK_CHARS = 30_000
MAX_LIST_ITEMS = 100  # keywords or questions of one chunk
MAX_ITEM_CHARS = 1_000


def embedding_text(content: str, questions: list[str]) -> str:
    """What a chunk's vector represents: its questions (when any) and its content."""
    return "\n".join([*questions, content])


def stored_content(content: str) -> str:
    return content.replace("\x00", "")  # PostgreSQL text cannot hold NUL


def derived_fields(content: str, keywords: list[str], questions: list[str]) -> dict:
    """The content (as stored) and the columns derived from it: hash, analysed tokens, counts."""
    content = stored_content(content)
    return {"content": content, "content_hash": text_hash(embedding_text(content, questions)),
            "search_text": " ".join(search_tokens(" ".join([content, *keywords, *questions]))),
            "token_count": count_tokens(content), "char_count": len(content)}


def fill_chunk(chunk: Chunk, content: str, keywords: list[str], questions: list[str]) -> None:
    """Set content and everything derived from it."""
    for name, value in derived_fields(content, keywords, questions).items():
        setattr(chunk, name, value)
    chunk.keywords = keywords
    chunk.questions = questions


def vector_metadata(chunk: Chunk, doc_enabled: bool) -> dict:
    return {"doc_id": chunk.doc_id, "enabled": bool(chunk.enabled and doc_enabled)}


def refresh_document_counts(s: Session, doc_id: str) -> None:
    n, tokens, chars = s.execute(
        select(func.count(Chunk.id), func.coalesce(func.sum(Chunk.token_count), 0),
               func.coalesce(func.sum(Chunk.char_count), 0)).where(Chunk.doc_id == doc_id)
    ).one()
    s.execute(update(Document).where(Document.id == doc_id)
              .values(chunk_count=n, token_count=tokens, char_count=chars))


def embed_and_store(s: Session, embeddings: EmbeddingService, vectors: VectorStore, kb: KnowledgeBase,
                    chunks: list[Chunk], doc_enabled: bool) -> None:
    """Embed chunks (cache first), write their vectors, and mark them embedded."""
    if not chunks:
        return
    vecs = embeddings.passages(kb.embedding_model, [embedding_text(c.content, c.questions) for c in chunks], s)
    if kb.embedding_dim is None:
        kb.embedding_dim = int(vecs.shape[1])
    vectors.upsert(kb.id, [c.id for c in chunks], vecs, [vector_metadata(c, doc_enabled) for c in chunks])
    for c in chunks:
        c.embedded = True


def chunk_info(c: Chunk, document_name: str = "", document_kind: str = "") -> ChunkInfo:
    return ChunkInfo(
        id=c.id, kb_id=c.kb_id, doc_id=c.doc_id, document_name=document_name, document_kind=document_kind,
        position=c.position, content=c.content, keywords=list(c.keywords or []), questions=list(c.questions or []),
        meta=dict(c.meta or {}), token_count=c.token_count, char_count=c.char_count, enabled=c.enabled,
        embedded=c.embedded, hit_count=c.hit_count, created_at=c.created_at, updated_at=c.updated_at,
        content_hash=c.content_hash, disabled_at=c.disabled_at,
    )


def set_chunk_enabled(chunk: Chunk, enabled: bool) -> None:
    if chunk.enabled != bool(enabled):
        chunk.enabled, chunk.disabled_at = bool(enabled), None if enabled else utcnow()


def auto_keywords(kb: KnowledgeBase, content: str) -> list[str]:
    """Keywords for a chunk written by hand, as ingestion would pick them for this knowledge base."""
    per_chunk = ChunkConfig.model_validate(kb.chunk_config or {}).keywords_per_chunk
    return extract_keywords([content], top_k=per_chunk)[0] if per_chunk else []


def _clean_list(values: Any, what: str, verbatim: bool = False) -> list[str]:
    """A list of strings: trimmed, blanks dropped (or `verbatim`, as written)."""
    if values is None:
        return []
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"{what} must be a list of strings")
    cleaned = list(values) if verbatim else [v.strip() for v in values if v.strip()]
    if len(cleaned) > MAX_LIST_ITEMS:
        raise InvalidInput(f"A chunk can have at most {MAX_LIST_ITEMS} {what}, got {len(cleaned)}")
    if any(len(v) > MAX_ITEM_CHARS for v in cleaned):
        raise InvalidInput(f"Each of the {what} can be at most {MAX_ITEM_CHARS:,} characters long")
    return cleaned


def _check_content(content: str) -> str:
    """The content as written (RAGFlow reads it back verbatim), when it is neither blank nor too long."""
    if not (content or "").strip():
        raise InvalidInput("Chunk content must not be empty")
    if len(content) > MAX_CHUNK_CHARS:
        raise InvalidInput(f"Chunk content is {len(content):,} characters long; the limit is {MAX_CHUNK_CHARS:,}. "
                           "Split it into several chunks.")
    return content


class ChunkService:
    def __init__(self, db: Database, vectors: VectorStore, embeddings: EmbeddingService):
        self.db, self.vectors, self.embeddings = db, vectors, embeddings

    @staticmethod
    def _load(s: Session, tenant_id: str, chunk_id: str, doc_id: str | None = None) -> Chunk:
        return load_owned(s, Chunk, chunk_id, tenant_id, "Chunk", doc_id=doc_id)

    def list(self, tenant_id: str, doc_id: str, *, keyword: str = "", page: int = 1, page_size: int = 30,
             chunk_id: str = "", enabled: bool | None = None) -> Page:
        check_paging(page, page_size)
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id)
            q = select(Chunk).where(Chunk.doc_id == doc.id)
            if keyword:
                like = f"%{keyword}%"
                q = q.where(or_(Chunk.content.ilike(like), func.lower(Chunk.search_text).contains(keyword.lower())))
            if chunk_id:
                q = q.where(Chunk.id == chunk_id)
            if enabled is not None:
                q = q.where(Chunk.enabled == enabled)
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(Chunk.position).offset((page - 1) * page_size).limit(page_size)).all()
            return Page(items=[chunk_info(c, doc.name) for c in rows], total=total, page=page, page_size=page_size)

    def page_of(self, tenant_id: str, chunk_id: str, page_size: int) -> int:
        """The 1-based list page a chunk appears on (for jumping to it from a search hit)."""
        with self.db.session() as s:
            c = self._load(s, tenant_id, chunk_id)
            before = s.scalar(select(func.count(Chunk.id)).where(Chunk.doc_id == c.doc_id,
                                                                Chunk.position < c.position)) or 0
            return before // page_size + 1

    def get_many(self, tenant_id: str, chunk_ids: list[str]) -> list[ChunkInfo]:
        """The tenant's chunks among `chunk_ids`, in that order (unknown ids are left out)."""
        if not chunk_ids:
            return []
        with self.db.session() as s:
            rows = s.execute(select(Chunk, Document.name, Document.kind).join(Document, Document.id == Chunk.doc_id)
                             .where(Chunk.id.in_(chunk_ids), Chunk.tenant_id == tenant_id)).all()
            found = {c.id: chunk_info(c, name, kind) for c, name, kind in rows}
        return [found[cid] for cid in chunk_ids if cid in found]

    def get(self, tenant_id: str, chunk_id: str, *, doc_id: str | None = None) -> ChunkInfo:
        """The tenant's chunk; with `doc_id`, only a chunk of that document."""
        with self.db.session() as s:
            c = self._load(s, tenant_id, chunk_id, doc_id)
            return chunk_info(c, s.get(Document, c.doc_id).name)

    def add(self, tenant_id: str, doc_id: str, content: str, *, keywords: list[str] | None = None,
            questions: list[str] | None = None, meta: dict | None = None) -> ChunkInfo:
        """A chunk at the end of the document; keywords None = picked from the content as ingestion would.
        Content and keywords are kept as written (RAGFlow reads them back verbatim)."""
        content = _check_content(content)
        picked, questions = keywords is None, _clean_list(questions, "questions")
        keywords = _clean_list(keywords, "keywords", verbatim=True)
        with self.db.session() as s:
            model = load_kb(s, tenant_id, load_document(s, tenant_id, doc_id).kb_id).embedding_model
        self._embed_first(model, content, questions)
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id)
            if doc.task is not None and doc.task.state in ACTIVE_STATES:
                raise Conflict(f"'{doc.name}' is still being processed: its chunks will be replaced when it "
                               "finishes; add chunks after that")
            kb = load_kb(s, tenant_id, doc.kb_id)
            keywords = auto_keywords(kb, content) if picked else keywords
            last = s.scalar(select(func.max(Chunk.position)).where(Chunk.doc_id == doc.id))
            chunk = Chunk(id=new_id(), tenant_id=tenant_id, kb_id=kb.id, doc_id=doc.id,
                          position=(last if last is not None else -1) + 1, meta=meta or {}, enabled=True)
            fill_chunk(chunk, content, keywords, questions)
            s.add(chunk)
            s.flush()
            embed_and_store(s, self.embeddings, self.vectors, kb, [chunk], doc.enabled)
            refresh_document_counts(s, doc.id)
            s.flush()
            return chunk_info(chunk, doc.name)

    def update(self, tenant_id: str, chunk_id: str, *, content: str | None = None,
               keywords: list[str] | None = None, questions: list[str] | None = None,
               meta: dict | None = None, enabled: bool | None = None, pick_keywords: bool = False) -> ChunkInfo:
        """Change what is given (None keeps it); with `pick_keywords` and no keywords, they are picked anew
        from the content. Re-embedded and re-indexed before it returns."""
        content = _check_content(content) if content is not None else None
        if content is not None or questions is not None:
            with self.db.session() as s:
                chunk = self._load(s, tenant_id, chunk_id)
                model, old_content, old_questions = load_kb(s, tenant_id, chunk.kb_id).embedding_model, \
                    chunk.content, list(chunk.questions)
            self._embed_first(model, content if content is not None else old_content,
                              _clean_list(questions, "questions") if questions is not None else old_questions)
        with self.db.session() as s:
            chunk = self._load(s, tenant_id, chunk_id)
            doc = s.get(Document, chunk.doc_id)
            kb = load_kb(s, tenant_id, chunk.kb_id)
            new_content = content if content is not None else chunk.content  # kept as written
            new_keywords = _clean_list(keywords, "keywords", verbatim=True) if keywords is not None else \
                auto_keywords(kb, new_content) if pick_keywords else list(chunk.keywords)
            new_questions = _clean_list(questions, "questions") if questions is not None else list(chunk.questions)
            old_hash = chunk.content_hash
            fill_chunk(chunk, new_content, new_keywords, new_questions)
            if meta is not None:
                chunk.meta = {**(chunk.meta or {}), **meta}
            if enabled is not None:
                set_chunk_enabled(chunk, enabled)
            if chunk.content_hash != old_hash or not chunk.embedded:
                embed_and_store(s, self.embeddings, self.vectors, kb, [chunk], doc.enabled)
            elif enabled is not None:
                self.vectors.set_metadata(kb.id, [chunk.id], [vector_metadata(chunk, doc.enabled)])
            refresh_document_counts(s, doc.id)
            s.flush()
            return chunk_info(chunk, doc.name)

    def _embed_first(self, model: str, content: str, questions: list[str]) -> None:
        """Embed (into the cache) before the write transaction begins, so it stays short: inside it,
        embed_and_store finds the vector cached."""
        self.embeddings.passages(model, [embedding_text(stored_content(content), questions)])

    def set_enabled(self, tenant_id: str, chunk_ids: list[str], enabled: bool) -> None:
        with self.db.session() as s:
            for cid in chunk_ids:
                chunk = self._load(s, tenant_id, cid)
                set_chunk_enabled(chunk, enabled)
                doc = s.get(Document, chunk.doc_id)
                self.vectors.set_metadata(chunk.kb_id, [chunk.id], [vector_metadata(chunk, doc.enabled)])

    def delete(self, tenant_id: str, chunk_ids: list[str]) -> int:
        """Delete the given chunks (all must belong to the tenant, else nothing is deleted)."""
        with self.db.session() as s:
            chunks = [self._load(s, tenant_id, cid) for cid in dict.fromkeys(chunk_ids)]
            by_kb: dict[str, list[str]] = {}
            for c in chunks:
                by_kb.setdefault(c.kb_id, []).append(c.id)
            for kb_id, ids in by_kb.items():  # first: when the vector store is down, nothing is deleted
                self.vectors.delete(kb_id, ids)
            for c in chunks:
                s.delete(c)
            s.flush()
            for doc_id in {c.doc_id for c in chunks}:
                refresh_document_counts(s, doc_id)
        return len(chunks)

    def delete_all(self, tenant_id: str, doc_id: str) -> int:
        with self.db.session() as s:
            doc = load_document(s, tenant_id, doc_id)
            ids = list(s.scalars(select(Chunk.id).where(Chunk.doc_id == doc.id)))
        return self.delete(tenant_id, ids)
