"""The CPU-heavy steps of ingestion — reading and splitting a file, embedding its passages — and where they run.

Background ingestion hands them to helper processes at a lower CPU priority (`ALMANAC_INGEST_NICE`), so
searches and chat in the server process come first: the kernel gives the cores to the server's threads
whenever they want them, and the helpers' Python work (parsing, splitting, jieba) never holds the
server's GIL. The server process keeps only the short steps: database writes and vector upserts.
`bench/load.py` measures the effect. The CLI's `ingest --wait` and the tests run the same functions in
the calling thread (`InlineHelpers`).

Helpers are spawned (forking a process that runs Chroma's and OpenMP's threads is unsafe) without the
parent's `__main__`: they need nothing of the server, the CLI or a script, and must not run it again
(as spawn would: `api_server.py` builds the whole app on import). They die with the server.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from core.errors import AlmanacError

log = logging.getLogger(__name__)
T = TypeVar("T")


class HelpersStopped(Exception):
    """The helpers were shut down (the server is stopping): the task goes back to the queue."""


@dataclass
class PreparedChunk:
    content: str
    meta: dict
    keywords: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)  # search_text, content_hash, token_count, char_count


@dataclass
class Prepared:
    kind: str
    chunks: list[PreparedChunk]
    meta: dict = field(default_factory=dict)  # what the file says about itself (an e-mail's headers)


def read(name: str, path: str, preprocess: list[str], limits: Any = None, progress: Any = None) -> Any:
    """The file's text sections (a ParsedDocument, read within `limits`), cleaned by the `preprocess` rules."""
    from core.ingestion.cleaning import clean
    from core.ingestion.readers import read_document

    parsed = read_document(name, Path(path).read_bytes(), limits=limits, progress=progress)
    for section in parsed.sections:
        section.text = clean(section.text, preprocess)
    return parsed


def split(parsed: Any, chunk_config: dict, max_chunks: int = 20_000) -> Prepared:
    """Chunks of a ParsedDocument, with their keywords and derived search fields; more than `max_chunks`
    fails (before the keywords: a bomb must not hold the helper)."""
    from core.chunks import derived_fields
    from core.ingestion.keywords import extract_keywords
    from core.ingestion.splitting import split as split_document
    from core.schemas import ChunkConfig

    config = ChunkConfig.model_validate(chunk_config)
    drafts = split_document(parsed, config.split_config())
    if not drafts:
        raise AlmanacError("No text to index was found in this document")
    if len(drafts) > max_chunks:
        raise AlmanacError(
            f"The document would make {len(drafts):,} chunks, more than the limit of {max_chunks:,} per "
            "document (setting ALMANAC_MAX_CHUNKS_PER_DOCUMENT); split the file or choose a larger chunk size"
        )
    keywords = (extract_keywords([d.content for d in drafts], top_k=config.keywords_per_chunk)
                if config.keywords_per_chunk else [[] for _ in drafts])
    chunks = []
    for draft, kws in zip(drafts, keywords, strict=True):
        derived = derived_fields(draft.content, kws, list(draft.questions))
        chunks.append(PreparedChunk(content=derived.pop("content"), meta=draft.meta, keywords=kws,
                                    questions=list(draft.questions), derived=derived))
    return Prepared(kind=parsed.kind, chunks=chunks, meta=dict(parsed.meta or {}))


def embed_passages(spec: Any, texts: list[str]) -> np.ndarray:
    """Passage vectors with the embedder of `spec` (an EmbedderSpec), loaded once per process."""
    from core.providers.embeddings import get_embedder

    return np.asarray(get_embedder(spec).embed_passages(texts), dtype=np.float32)


class InlineHelpers:
    """The steps in the calling thread, at its priority."""

    def read(self, name: str, path: Path, preprocess: list[str], limits: Any = None, progress: Any = None) -> Any:
        return read(name, str(path), preprocess, limits, progress)

    def split(self, parsed: Any, chunk_config: dict, max_chunks: int = 20_000) -> Prepared:
        return split(parsed, chunk_config, max_chunks)

    def embed(self, spec: Any, texts: list[str]) -> np.ndarray:
        return embed_passages(spec, texts)

    def close(self) -> None:
        pass


class _HelperProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        # Spawn passes the parent's __main__ for the child to import again; a bare module means "none".
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            super().start()
        finally:
            sys.modules["__main__"] = main


class _HelperContext(multiprocessing.context.SpawnContext):
    Process = _HelperProcess


_reports: Any = None  # in a helper: the queue that takes reading progress back to the server


def _start_helper(nice: int, reports: Any, server: int) -> None:
    """In each helper: lower priority, leave Ctrl-C to the server, die when the server dies, and load the
    readers, splitters and embedders now rather than during the first document."""
    global _reports
    _reports = reports
    if nice:
        os.nice(nice)
    # One OpenMP thread per helper (read when the embedding engine loads): a team of threads waits at every
    # barrier for a member the kernel has set aside for the server's searches, and spins meanwhile.
    # ProcessHelpers.embed shares a document's passages out among the helpers instead.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The server's pid comes from the server: one that died while this helper was still starting is not our
    # parent any more, and waiting for getppid() to change from what it is now would wait forever.
    threading.Thread(target=_exit_with_parent, args=(server,), name="parent-watch", daemon=True).start()
    from core.ingestion.readers import ParsedDocument, Section
    from core.schemas import ChunkConfig

    sample = "Warm-up: the tokenizer, the sentence splitter and the keyword extractor load once. 预热一下。"
    split(ParsedDocument(kind="txt", sections=[Section(sample)]), ChunkConfig().model_dump())


def _exit_with_parent(parent: int) -> None:
    """A server killed outright (kill -9) takes its helpers along, even one busy with a huge file.
    (Not PR_SET_PDEATHSIG: it fires when the thread that started the helper ends, not the process.)"""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _ready() -> bool:
    return True


def _read_reporting(call: int, name: str, path: str, preprocess: list[str], limits: Any) -> Any:
    """read() in a helper, its progress sent back tagged with the caller's number."""
    return read(name, path, preprocess, limits, lambda message, fraction: _reports.put((call, message, fraction)))


class ProcessHelpers:
    """A pool of `processes` helper processes at `nice`, started on first use."""

    def __init__(self, processes: int, nice: int):
        self.processes, self.nice = max(1, processes), nice
        self._pool: ProcessPoolExecutor | None = None
        self._reports: Any = None  # the current pool's progress queue (a listener thread serves it)
        self._listeners: dict[int, Callable[[str, float], None]] = {}
        self._listeners_lock = threading.Lock()  # no report is passed on once its read has returned
        self._calls = itertools.count()
        self._lock = threading.Lock()
        self._closed = False

    def read(self, name: str, path: Path, preprocess: list[str], limits: Any = None, progress: Any = None) -> Any:
        """As InlineHelpers.read; page-by-page progress comes back to `progress` in a listener thread (which
        cannot stop the helper: an error it raises, e.g. the task was cancelled, is seen at the next step)."""
        if progress is None:
            return self._call(read, name, str(path), preprocess, limits)
        call = next(self._calls)
        with self._listeners_lock:
            self._listeners[call] = progress
        try:
            return self._call(_read_reporting, call, name, str(path), preprocess, limits)
        finally:
            with self._listeners_lock:
                del self._listeners[call]

    def split(self, parsed: Any, chunk_config: dict, max_chunks: int = 20_000) -> Prepared:
        return self._call(split, parsed, chunk_config, max_chunks)

    def embed(self, spec: Any, texts: list[str]) -> np.ndarray:
        """As InlineHelpers.embed, the texts shared out among the helpers (each embeds on one core)."""
        size = max(1, -(-len(texts) // self.processes))
        parts = [texts[i : i + size] for i in range(0, len(texts), size)]
        return np.concatenate(self._run([(embed_passages, spec, part) for part in parts]))

    def start(self) -> None:
        """Start the helpers now, in the background, so the first document does not wait for them."""
        threading.Thread(target=self._warm_up, name="ingest-helpers-start", daemon=True).start()

    def _warm_up(self) -> None:
        try:  # calls side by side: the pool starts a helper for each (it starts one only when none is idle)
            self._run([(_ready,)] * self.processes)
        except (HelpersStopped, AlmanacError):  # stopped meanwhile, or will be restarted by the first task
            pass

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise HelpersStopped()
            if self._pool is None:
                context = _HelperContext()
                self._reports = context.SimpleQueue()
                threading.Thread(target=self._pass_reports, args=(self._reports,), name="ingest-helpers-progress",
                                 daemon=True).start()
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_helper,
                                                 initargs=(self.nice, self._reports, os.getpid()))
            return self._pool

    def _pass_reports(self, reports: Any) -> None:
        """Hand each progress report to the read that is waiting for it, until the pool ends (None)."""
        while (report := reports.get()) is not None:
            call, message, fraction = report
            with self._listeners_lock:
                listener = self._listeners.get(call)
                try:
                    if listener is not None:
                        listener(message, fraction)
                except Exception:  # noqa: BLE001 - progress is best effort; the read's caller carries on
                    log.debug("a progress report failed", exc_info=True)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return self._run([(fn, *args)])[0]

    def _run(self, calls: list[tuple]) -> list:
        """The results of (function, *args) calls run side by side in the helpers, in order."""
        pool = self._executor()
        try:
            try:
                futures: list[Future] = [pool.submit(*call) for call in calls]
            except RuntimeError as exc:  # shut down meanwhile (stopping, or broken by another call)
                raise BrokenProcessPool(str(exc)) from None
            return [future.result() for future in futures]
        except BrokenProcessPool as exc:
            with self._lock:
                if self._closed:
                    raise HelpersStopped() from None
                if self._pool is pool:  # the next call starts fresh helpers
                    self._pool = None
                    self._reports.put(None)
            pool.shutdown(wait=False, cancel_futures=True)
            log.warning("an ingestion helper process stopped: %s", exc)
            raise AlmanacError("The process reading this document stopped unexpectedly (too large for the "
                               "memory available?)") from None

    def close(self) -> None:
        """Stop at once: running calls fail with HelpersStopped, the helper processes are killed."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is None:
            return
        self._reports.put(None)
        # ProcessPoolExecutor has no public way to stop work in progress before Python 3.14.
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
