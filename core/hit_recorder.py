"""Hit counts and the query log, written by a background thread off the search's request path.

A search hands over what it found and returns; the writer drains everything queued since its last
write and stores it in one transaction (increments are summed per chunk, document and knowledge
base, so a burst of searches costs one write). Writes are at least WRITE_EVERY apart: under a steady
stream of searches a writer that started again at once would hold SQLite's one write lock most of
the time, and ingestion's writes would queue behind it. `flush()` waits until all handed-over searches are
stored; `close()` flushes and stops, and runs at interpreter exit too, so nothing is lost on shutdown.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import update

from storage.db import Database
from storage.orm import Chunk, Document, KnowledgeBase, QueryLog

log = logging.getLogger(__name__)
IDLE_EXIT_S = 5.0  # the writer thread ends after this long without work (and starts again on demand)
WRITE_EVERY = 1.0  # seconds between two writes while searches keep coming (flush and close skip the wait)
_LIVE: weakref.WeakSet[HitRecorder] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At interpreter exit, store what is still queued."""
    for recorder in list(_LIVE):
        recorder.close()


@dataclass(frozen=True)
class SearchRecord:
    tenant_id: str
    kb_ids: tuple[str, ...]
    query: str
    mode: str
    source: str
    top_k: int
    elapsed_ms: float
    hits: tuple[tuple[str, str, str], ...]  # (chunk id, document id, knowledge base id) per hit


class HitRecorder:
    def __init__(self, db: Database):
        self.db = db
        self._queue: queue.Queue[SearchRecord | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._now = threading.Event()  # flush or close: write without waiting out WRITE_EVERY
        self._closed = False
        _LIVE.add(self)

    def add(self, record: SearchRecord) -> None:
        if self._closed:  # after close there is no writer: store it here and now
            self._write([record])
            return
        with self._lock:  # the same lock as the writer's idle exit: a record is never left without a writer
            self._queue.put(record)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hit-recorder", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Wait until every record handed over so far is stored."""
        self._now.set()
        self._queue.join()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
                self._now.set()
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            self._now.clear()  # a flush from here on finds its records in this batch or wakes the next
            batch = [first]
            while True:  # everything that arrived meanwhile goes into the same transaction
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            try:
                if records:
                    self._write(records)
            except Exception:
                log.exception("storing %d search records failed", len(records))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(records) < len(batch):  # the close marker
                return
            self._now.wait(WRITE_EVERY)

    def _write(self, records: list[SearchRecord]) -> None:
        chunks, docs, kbs = Counter(), Counter(), Counter()
        for r in records:
            for chunk_id, doc_id, kb_id in r.hits:
                chunks[chunk_id] += 1
                docs[doc_id] += 1
                kbs[kb_id] += 1
        with self.db.session() as s:
            # Sorted, so that concurrent writers (other processes) lock rows in the same order.
            for table, counts in ((Chunk, chunks), (Document, docs), (KnowledgeBase, kbs)):
                by_n: dict[int, list[str]] = {}
                for key, n in sorted(counts.items()):
                    by_n.setdefault(n, []).append(key)
                for n, ids in by_n.items():
                    # updated_at stays: a hit is not an edit of the chunk, document or knowledge base.
                    s.execute(update(table).where(table.id.in_(ids))
                              .values(hit_count=table.hit_count + n, updated_at=table.updated_at))
            for r in records:
                for kb_id in r.kb_ids:
                    s.add(QueryLog(tenant_id=r.tenant_id, kb_id=kb_id, query=r.query[:2000], mode=r.mode,
                                   source=r.source, top_k=r.top_k, elapsed_ms=r.elapsed_ms,
                                   result_count=sum(1 for h in r.hits if h[2] == kb_id)))
