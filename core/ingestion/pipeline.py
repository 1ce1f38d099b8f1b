"""One document's journey: read -> clean -> split -> index.

After `splitting` the new chunks replace the old ones in a single transaction, so the
document is full-text searchable at once; `indexing` then embeds them in batches and
marks each batch embedded, so a restarted task continues where it stopped. Chunk ids
are derived from (task, position): redoing a stage rewrites the same ids and can
never duplicate a chunk.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy import delete, func, insert, select, update

from core.chunks import embedding_text, refresh_document_counts, vector_metadata
from core.embedding import EmbeddingService
from core.errors import AlmanacError, Unavailable
from core.ingestion.helpers import HelpersStopped, InlineHelpers, ProcessHelpers
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
Helpers = InlineHelpers | ProcessHelpers
_CHUNK_NS = uuid.UUID("8f7c1d52-3b1e-4a55-9d40-2f6f3c0a9e11")


def chunk_id_for(task_id: str, position: int) -> str:
    return uuid.uuid5(_CHUNK_NS, f"{task_id}:{position}").hex


class Pipeline:
    def __init__(self, db: Database, blobs: BlobStore, vectors: VectorStore, embeddings: EmbeddingService,
                 queue: TaskQueue):
        self.db, self.blobs, self.vectors, self.embeddings, self.queue = db, blobs, vectors, embeddings, queue
        self.inline = InlineHelpers()

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
            if task.indexing_at is None:  # fresh, or interrupted before its chunks were written
                self._parse_and_split(task, helpers)
            n = self._index(task, helpers)
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

    def _parse_and_split(self, task: Task, helpers: Helpers) -> None:
        with self.db.session() as s:
            doc = s.get(Document, task.doc_id)
            kb = s.get(KnowledgeBase, task.kb_id)
            if doc is None or kb is None:
                raise TaskLost(task.id)
            upload = s.get(UploadFile, doc.file_id) if doc.file_id else None
            config = ChunkConfig.model_validate(doc.chunk_config or kb.chunk_config)
            name, key = doc.name, upload.storage_key if upload else None
        self.queue.advance(task.id, state="parsing", progress=0.02, message=f"Reading {name}")
        if key is None or not self.blobs.path(key).exists():
            raise AlmanacError("The original file of this document is missing")
        parsed = helpers.read(name, self.blobs.path(key), list(config.preprocess))

        self.queue.advance(task.id, state="splitting", progress=0.1, message="Splitting into chunks")
        prepared = helpers.split(parsed, config.model_dump())
        self.queue.advance(task.id, progress=0.2, message=f"Writing {len(prepared.chunks)} chunks")
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
            s.execute(update(Document).where(Document.id == task.doc_id).values(kind=prepared.kind))
        # Committed: the document is full-text searchable from here on.

    def _index(self, task: Task, helpers: Helpers) -> int:
        self.queue.advance(task.id, state="indexing", progress=0.25, message="Embedding chunks")
        with self.db.session() as s:
            total = s.scalar(select(func.count(Chunk.id)).where(Chunk.doc_id == task.doc_id)) or 0
            done = total - (s.scalar(select(func.count(Chunk.id)).where(
                Chunk.doc_id == task.doc_id, Chunk.embedded.is_(False))) or 0)
        while n := self._embed_batch(task, helpers):
            done += n
            self.queue.advance(task.id, progress=0.25 + 0.74 * done / max(total, 1),
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
