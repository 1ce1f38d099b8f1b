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

from sqlalchemy import delete, func, select

from core.chunks import embed_and_store, fill_chunk, refresh_document_counts
from core.embedding import EmbeddingService
from core.errors import AlmanacError
from core.ingestion.cleaning import clean
from core.ingestion.keywords import extract_keywords
from core.ingestion.readers import ParsedDocument, ReadLimits, read_document
from core.ingestion.splitting import split
from core.ingestion.tasks import TaskLost, TaskQueue
from core.schemas import ChunkConfig
from storage.db import Database
from storage.files import BlobStore
from storage.orm import Chunk, Document, KnowledgeBase, Task, UploadFile
from storage.vectors import VectorStore

log = logging.getLogger(__name__)

EMBED_BATCH = 32
READ_START, READ_END, OCR_END = 0.02, 0.1, 0.6
_CHUNK_NS = uuid.UUID("8f7c1d52-3b1e-4a55-9d40-2f6f3c0a9e11")
WARM_UP_TEXT = ("# Warm-up\n\nAlmanac reads, splits and embeds this short text once when it starts, so that the "
                "first real document is not processed cold.\n\n启动时处理这段文字，第一份文档就不必等待加载。")


def chunk_id_for(task_id: str, position: int) -> str:
    return uuid.uuid5(_CHUNK_NS, f"{task_id}:{position}").hex


class Pipeline:
    def __init__(self, db: Database, blobs: BlobStore, vectors: VectorStore, embeddings: EmbeddingService,
                 queue: TaskQueue, read_limits: ReadLimits | None = None, max_chunks: int = 20_000):
        self.db, self.blobs, self.vectors, self.embeddings, self.queue = db, blobs, vectors, embeddings, queue
        self.read_limits = read_limits or ReadLimits()
        self.max_chunks = max_chunks

    def run(self, task: Task) -> None:
        """Process one claimed task to a final state. Never raises."""
        started = time.monotonic()
        try:
            base = READ_END
            if task.indexing_at is None:  # fresh, or interrupted before its chunks were written
                base = self._parse_and_split(task)
            n = self._index(task, base)
            self.queue.finish(task.id, "completed", f"Completed: {n} chunk{'s' * (n != 1)} in {time.monotonic() - started:.1f} s")
        except TaskLost:
            self._discard_if_cancelled(task)
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

    def _read(self, task: Task, name: str, data: bytes) -> tuple[ParsedDocument, float]:
        """The parsed file and the progress reached (OCR reports page by page)."""
        reached = READ_END

        def on_page(message: str, fraction: float) -> None:
            nonlocal reached
            reached = READ_START + (OCR_END - READ_START) * fraction
            self.queue.advance(task.id, progress=reached, message=message)

        self.queue.advance(task.id, state="parsing", progress=READ_START, message=f"Reading {name}")
        parsed = read_document(name, data, limits=self.read_limits, progress=on_page)
        return parsed, max(reached, READ_END)

    def _parse_and_split(self, task: Task) -> float:
        with self.db.session() as s:
            doc = s.get(Document, task.doc_id)
            kb = s.get(KnowledgeBase, task.kb_id)
            if doc is None or kb is None:
                raise TaskLost(task.id)
            upload = s.get(UploadFile, doc.file_id) if doc.file_id else None
            config = ChunkConfig.model_validate(doc.chunk_config or kb.chunk_config)
            name, key = doc.name, upload.storage_key if upload else None
        if key is None:
            raise AlmanacError("The original file of this document is missing")
        parsed, base = self._read(task, name, self.blobs.get(key))
        for section in parsed.sections:
            section.text = clean(section.text, config.preprocess)

        self.queue.advance(task.id, state="splitting", progress=base, message="Splitting into chunks")
        drafts = split(parsed, config.split_config())
        if not drafts:
            raise AlmanacError("No text to index was found in this document")
        if len(drafts) > self.max_chunks:
            raise AlmanacError(
                f"The document would make {len(drafts):,} chunks, more than the limit of {self.max_chunks:,} per "
                "document (setting ALMANAC_MAX_CHUNKS_PER_DOCUMENT); split the file or choose a larger chunk size"
            )
        keywords = (extract_keywords([d.content for d in drafts], top_k=config.keywords_per_chunk)
                    if config.keywords_per_chunk else [[] for _ in drafts])
        self.queue.advance(task.id, progress=_share(base, 0.1), message=f"Writing {len(drafts)} chunks")
        with self.db.session() as s:
            new_ids = [chunk_id_for(task.id, i) for i in range(len(drafts))]
            old_ids = set(s.scalars(select(Chunk.id).where(Chunk.doc_id == task.doc_id))) - set(new_ids)
            s.execute(delete(Chunk).where(Chunk.doc_id == task.doc_id))
            for i, (draft, kws) in enumerate(zip(drafts, keywords, strict=True)):
                chunk = Chunk(id=new_ids[i], tenant_id=task.tenant_id, kb_id=task.kb_id, doc_id=task.doc_id,
                              position=i, meta=draft.meta, enabled=True, embedded=False)
                fill_chunk(chunk, draft.content, kws, list(draft.questions))
                s.add(chunk)
            s.flush()
            refresh_document_counts(s, task.doc_id)
            doc = s.get(Document, task.doc_id)
            doc.kind = parsed.kind
            if parsed.meta:  # what the file says about itself (an e-mail's headers); the user's values win
                doc.meta = {**parsed.meta, **(doc.meta or {})}
        # Committed: the document is full-text searchable from here on.
        self.vectors.delete(task.kb_id, sorted(old_ids))
        return base

    def _index(self, task: Task, base: float) -> int:
        self.queue.advance(task.id, state="indexing", progress=_share(base, 0.17), message="Embedding chunks")
        with self.db.session() as s:
            total = s.scalar(select(func.count(Chunk.id)).where(Chunk.doc_id == task.doc_id)) or 0
            done = total - (s.scalar(select(func.count(Chunk.id)).where(
                Chunk.doc_id == task.doc_id, Chunk.embedded.is_(False))) or 0)
        while True:
            with self.db.session() as s:
                batch = s.scalars(
                    select(Chunk).where(Chunk.doc_id == task.doc_id, Chunk.embedded.is_(False))
                    .order_by(Chunk.position).limit(EMBED_BATCH)
                ).all()
                if not batch:
                    break
                kb = s.get(KnowledgeBase, task.kb_id)
                doc = s.get(Document, task.doc_id)
                if kb is None or doc is None:
                    raise TaskLost(task.id)
                embed_and_store(s, self.embeddings, self.vectors, kb, list(batch), doc.enabled)
            done += len(batch)
            self.queue.advance(task.id, progress=_share(base, 0.17 + 0.82 * done / max(total, 1)),
                               message=f"Embedded {done}/{total} chunks")
        return total

    def _discard_if_cancelled(self, task: Task) -> None:
        """A cancelled run leaves no half-indexed chunks: once it has split, the chunks are its own.

        (Cancelled before the split, the document keeps its previous chunks.)
        """
        with self.db.session() as s:
            current = s.get(Task, task.id)
            if current is None or current.state != "cancelled" or current.splitting_at is None:
                return
            ours = list(s.scalars(select(Chunk.id).where(Chunk.doc_id == task.doc_id)))
            s.execute(delete(Chunk).where(Chunk.doc_id == task.doc_id))
            refresh_document_counts(s, task.doc_id)
        self.vectors.delete(task.kb_id, ours)


def _share(base: float, part: float) -> float:
    """Progress `part` (0..1) of the stages after reading, which start at `base`."""
    return base + (1 - base) * part
