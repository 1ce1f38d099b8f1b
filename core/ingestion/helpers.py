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


def _start_helper(nice: int) -> None:
    """In each helper: lower priority, leave Ctrl-C to the server, die when the server dies, and load the
    readers, splitters and embedders now rather than during the first document."""
    if nice:
        os.nice(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
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


class ProcessHelpers:
    """A pool of `processes` helper processes at `nice`, started on first use."""

    def __init__(self, processes: int, nice: int):
        self.processes, self.nice = max(1, processes), nice
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def read(self, name: str, path: Path, preprocess: list[str], limits: Any = None, progress: Any = None) -> Any:
        """As InlineHelpers.read, without page-by-page progress (a callback cannot cross into the helper)."""
        return self._call(read, name, str(path), preprocess, limits)

    def split(self, parsed: Any, chunk_config: dict, max_chunks: int = 20_000) -> Prepared:
        return self._call(split, parsed, chunk_config, max_chunks)

    def embed(self, spec: Any, texts: list[str]) -> np.ndarray:
        return self._call(embed_passages, spec, texts)

    def start(self) -> None:
        """Start the helpers now, in the background, so the first document does not wait for them."""
        threading.Thread(target=self._warm_up, name="ingest-helpers-start", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self._call(_ready)
        except (HelpersStopped, AlmanacError):  # stopped meanwhile, or will be restarted by the first task
            pass

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise HelpersStopped()
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.processes, mp_context=_HelperContext(),
                                                 initializer=_start_helper, initargs=(self.nice,))
            return self._pool

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        pool = self._executor()
        try:
            try:
                future: Future[T] = pool.submit(fn, *args)
            except RuntimeError as exc:  # shut down meanwhile (stopping, or broken by another call)
                raise BrokenProcessPool(str(exc)) from None
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._closed:
                    raise HelpersStopped() from None
                if self._pool is pool:  # the next call starts fresh helpers
                    self._pool = None
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
        # ProcessPoolExecutor has no public way to stop work in progress before Python 3.14.
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
