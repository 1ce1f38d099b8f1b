"""One document's journey: read -> clean -> split -> index.

After `splitting` the new chunks replace the old ones in a single transaction, so the
document is full-text searchable at once; `indexing` then embeds them in batches and
marks each batch embedded, so a restarted task continues where it stopped. Chunk ids
are derived from (task, position): redoing a stage rewrites the same ids and can
never duplicate a chunk.

Progress: reading takes 0.02..0.1, or up to 0.6 when pages are recognised by OCR (reported per
page); the later stages share what is left, so progress never goes backwards.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from core.chunks import embedding_text, refresh_document_counts, vector_metadata
from core.embedding import EmbeddingService
from core.errors import AlmanacError, Unavailable
from core.ingestion.helpers import HelpersStopped, InlineHelpers, ProcessHelpers
from core.ingestion.keywords import extract_keywords
from core.ingestion.readers import ReadLimits, read_document
from core.ingestion.splitting import split
from core.ingestion.tasks import TaskLost, TaskQueue
from core.schemas import ChunkConfig
from storage.db import UNREACHABLE, Database, unavailable
from storage.files import BlobStore
from storage.orm import Chunk, Document, KnowledgeBase, Task, UploadFile, utcnow
from storage.vectors import VectorStore

log = logging.getLogger(__name__)

# Chunks per embedding round: each round's vector upsert holds the server's GIL (Chroma's bindings do),
# so small rounds keep searches from waiting long behind one.
EMBED_BATCH = 16
READ_START, READ_END, OCR_END = 0.02, 0.1, 0.6
Helpers = InlineHelpers | ProcessHelpers
_CHUNK_NS = uuid.UUID("8f7c1d52-3b1e-4a55-9d40-2f6f3c0a9e11")
WARM_UP_TEXT = ("# Warm-up\n\nAlmanac reads, splits and embeds this short text once when it starts, so that the "
                "first real document is not processed cold.\n\n启动时处理这段文字，第一份文档就不必等待加载。")


def chunk_id_for(task_id: str, position: int) -> str:
    return uuid.uuid5(_CHUNK_NS, f"{task_id}:{position}").hex


class Pipeline:
    def __init__(self, db: Database, blobs: BlobStore, vectors: VectorStore, embeddings: EmbeddingService,
                 queue: TaskQueue, read_limits: ReadLimits | None = None, max_chunks: int = 20_000):
        self.db, self.blobs, self.vectors, self.embeddings, self.queue = db, blobs, vectors, embeddings, queue
        self.inline = InlineHelpers()
        self.read_limits = read_limits or ReadLimits()
        self.max_chunks = max_chunks

    def run(self, task: Task, helpers: Helpers | None = None) -> None:
        """Process one claimed task to a final state, with the CPU-heavy steps on `helpers` (default: here).

        Never raises, except Unavailable when the database or the vector store cannot be reached: the
        task is then still claimed and unfinished, and the caller runs it again later (it resumes)."""
        try:
            self._run(task, helpers or self.inline)
        except UNREACHABLE as exc:  # also from the bookkeeping after a failure
            raise unavailable(exc) from exc

    def _run(self, task: Task, helpers: Helpers) -> None:
        started = time.monotonic()
        try:
            base = READ_END
            if task.indexing_at is None:  # fresh, or interrupted before its chunks were written
                base = self._parse_and_split(task, helpers)
            n = self._index(task, helpers, base)
            self.queue.finish(task.id, "completed", f"Completed: {n} chunk{'s' * (n != 1)} in "
                                                    f"{time.monotonic() - started:.1f} s")
        except HelpersStopped:
            pass  # the server is stopping; the workers put the task back in the queue
        except TaskLost:
            self._discard_if_cancelled(task)
        except (Unavailable, *UNREACHABLE):
            raise  # not the document's fault: the task is run again later
        except AlmanacError as exc:
            self.queue.finish(task.id, "error", "Failed", error=exc.message)
        except Exception as exc:  # noqa: BLE001 - any failure must end the task, not the worker
            log.exception("ingestion task %s failed", task.id)
            self.queue.finish(task.id, "error", "Failed", error=f"Unexpected error: {type(exc).__name__}: {exc}")

    def warm_up(self) -> None:
        """Load what the first document needs, once, in the calling thread: LlamaIndex's splitters, the tokenizer,
        jieba with its keyword tables, the default embedding model. Cold, these took 25-40 s of a first small
        document on 2 busy cores (bench/first_document.py). Nothing is stored; a failure is only logged."""
        started = time.monotonic()
        try:
            parsed = read_document("warm-up.md", WARM_UP_TEXT.encode())
            drafts = split(parsed, ChunkConfig().split_config())
            extract_keywords([d.content for d in drafts])
            embedder = self.embeddings.embedder(self.embeddings.settings.embedding_model)
            embedder.embed_passages([d.content for d in drafts])
            embedder.embed_query("warm-up")
        except Exception:  # noqa: BLE001 - the first document will report any real problem itself
            log.warning("warm-up failed; the first document will load what it needs", exc_info=True)
            return
        log.info("ingestion warmed up in %.1f s", time.monotonic() - started)

    def _read(self, task: Task, name: str, key: str, preprocess: list[str], helpers: Helpers) -> tuple[Any, float]:
        """The parsed, cleaned file and the progress reached (OCR reports page by page)."""
        reached = READ_END

        def on_page(message: str, fraction: float) -> None:
            nonlocal reached
            reached = READ_START + (OCR_END - READ_START) * fraction
            self.queue.advance(task.id, progress=reached, message=message)

        self.queue.advance(task.id, state="parsing", progress=READ_START, message=f"Reading {name}")
        parsed = helpers.read(name, self.blobs.path(key), preprocess, self.read_limits, on_page)
        return parsed, max(reached, READ_END)

    def _parse_and_split(self, task: Task, helpers: Helpers) -> float:
        with self.db.session() as s:
            doc = s.get(Document, task.doc_id)
            kb = s.get(KnowledgeBase, task.kb_id)
            if doc is None or kb is None:
                raise TaskLost(task.id)
            upload = s.get(UploadFile, doc.file_id) if doc.file_id else None
            config = ChunkConfig.model_validate(doc.chunk_config or kb.chunk_config)
            name, key = doc.name, upload.storage_key if upload else None
        if key is None or not self.blobs.path(key).exists():
            raise AlmanacError("The original file of this document is missing")
        parsed, base = self._read(task, name, key, list(config.preprocess), helpers)

        self.queue.advance(task.id, state="splitting", progress=base, message="Splitting into chunks")
        prepared = helpers.split(parsed, config.model_dump(), self.max_chunks)
        self.queue.advance(task.id, progress=_share(base, 0.1), message=f"Writing {len(prepared.chunks)} chunks")
        now = utcnow()
        rows = [{"id": chunk_id_for(task.id, i), "tenant_id": task.tenant_id, "kb_id": task.kb_id,
                 "doc_id": task.doc_id, "position": i, "content": c.content, "keywords": c.keywords,
                 "questions": c.questions, "meta": c.meta, "enabled": True, "embedded": False, "hit_count": 0,
                 "created_at": now, "updated_at": now, **c.derived} for i, c in enumerate(prepared.chunks)]
        with self.db.session() as s:
            old_ids = set(s.scalars(select(Chunk.id).where(Chunk.doc_id == task.doc_id))) - {r["id"] for r in rows}
        # The old chunks' vectors go first: if anything below fails, a retry finds the old rows and does it again.
        self.vectors.delete(task.kb_id, sorted(old_ids))
        with self.db.session() as s:  # one short write: everything above was computed before it began
            s.execute(delete(Chunk).where(Chunk.doc_id == task.doc_id))
            for start in range(0, len(rows), 1000):
                s.execute(insert(Chunk), rows[start : start + 1000])
            refresh_document_counts(s, task.doc_id)
            doc = s.get(Document, task.doc_id)
            doc.kind = prepared.kind
            if prepared.meta:  # what the file says about itself (an e-mail's headers); the user's values win
                doc.meta = {**prepared.meta, **(doc.meta or {})}
        # Committed: the document is full-text searchable from here on.
        return base

    def _index(self, task: Task, helpers: Helpers, base: float) -> int:
        self.queue.advance(task.id, state="indexing", progress=_share(base, 0.17), message="Embedding chunks")
        with self.db.session() as s:
            total = s.scalar(select(func.count(Chunk.id)).where(Chunk.doc_id == task.doc_id)) or 0
            done = total - (s.scalar(select(func.count(Chunk.id)).where(
                Chunk.doc_id == task.doc_id, Chunk.embedded.is_(False))) or 0)
        while n := self._embed_batch(task, helpers):
            done += n
            self.queue.advance(task.id, progress=_share(base, 0.17 + 0.82 * done / max(total, 1)),
                               message=f"Embedded {done}/{total} chunks")
        return total

    def _embed_batch(self, task: Task, helpers: Helpers) -> int:
        """Embed the next few chunks; how many (0: none was left). The model works outside any transaction,
        the vectors are stored before the chunks are marked embedded (a crash in between redoes them)."""
        with self.db.session() as s:
            kb = s.get(KnowledgeBase, task.kb_id)
            doc = s.get(Document, task.doc_id)
            if kb is None or doc is None:
                raise TaskLost(task.id)
            batch = s.execute(
                select(Chunk.id, Chunk.doc_id, Chunk.content, Chunk.questions, Chunk.enabled)
                .where(Chunk.doc_id == task.doc_id, Chunk.embedded.is_(False))
                .order_by(Chunk.position).limit(EMBED_BATCH)
            ).all()
            model, dim, doc_enabled = kb.embedding_model, kb.embedding_dim, doc.enabled
        if not batch:
            return 0
        vecs = self.embeddings.passages(model, [embedding_text(c.content, c.questions) for c in batch],
                                        embed=helpers.embed)
        self.vectors.upsert(task.kb_id, [c.id for c in batch], vecs, [vector_metadata(c, doc_enabled) for c in batch])
        with self.db.session() as s:
            s.execute(update(Chunk).where(Chunk.id.in_([c.id for c in batch])).values(embedded=True))
            if dim is None:
                s.execute(update(KnowledgeBase).where(KnowledgeBase.id == task.kb_id,
                                                      KnowledgeBase.embedding_dim.is_(None))
                          .values(embedding_dim=int(vecs.shape[1])))
        return len(batch)

    def _discard_if_cancelled(self, task: Task) -> None:
        """A cancelled run leaves no half-indexed chunks: once it has split, the chunks are its own.

        (Cancelled before the split, the document keeps its previous chunks.)
        """
        with self.db.session() as s:
            current = s.get(Task, task.id)
            if current is None or current.state != "cancelled" or current.splitting_at is None:
                return
            ours = list(s.scalars(select(Chunk.id).where(Chunk.doc_id == task.doc_id)))
            self.vectors.delete(task.kb_id, ours)  # before the rows go: a failure leaves both for a retry
            s.execute(delete(Chunk).where(Chunk.doc_id == task.doc_id))
            refresh_document_counts(s, task.doc_id)


def _share(base: float, part: float) -> float:
    """Progress `part` (0..1) of the stages after reading, which start at `base`."""
    return base + (1 - base) * part
