"""Vector store: one Chroma collection per knowledge base, cosine space.

Embedded (PersistentClient in the data dir) by default, a Chroma server when
ALMANAC_CHROMA_URL is set. We always pass our own embeddings: Chroma's default
embedding function would try to download a model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np

from core.errors import Unavailable


def _collection_name(kb_id: str) -> str:
    return f"kb_{kb_id}"


class VectorStore:
    def __init__(self, path: Path | None = None, url: str = ""):
        self._path, self._url = path, url
        self._client = None
        self._lock = threading.Lock()
        self._opening = threading.Event()
        self._collections: dict[str, object] = {}  # handles are cheap to keep, costly to look up per query

    @property
    def client(self):  # noqa: ANN201 - chromadb client type differs per mode
        # Created on first use: importing/connecting Chroma costs time and, for a server, I/O.
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings

                settings = Settings(anonymized_telemetry=False, allow_reset=False)
                if self._url:
                    u = urlparse(self._url)
                    try:
                        self._client = chromadb.HttpClient(
                            host=u.hostname or "localhost",
                            port=u.port or (443 if u.scheme == "https" else 8000),
                            ssl=u.scheme == "https",
                            settings=settings,
                        )
                    except ValueError as exc:  # chromadb's words for "no server there (yet)"
                        raise Unavailable(f"The vector store (Chroma server at {self._url}) cannot be reached "
                                          f"right now: {exc}") from exc
                else:
                    assert self._path is not None
                    self._path.mkdir(parents=True, exist_ok=True, mode=0o700)  # owner-only, as the whole data dir
                    self._client = chromadb.PersistentClient(path=str(self._path), settings=settings)
            return self._client

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A Chroma server that cannot be reached (down, restarting) raises Unavailable, not httpx's errors."""
        try:
            yield
        except (httpx.TransportError, ConnectionError) as exc:
            raise Unavailable(f"The vector store (Chroma server at {self._url}) cannot be reached right now "
                              f"({type(exc).__name__}); try again shortly") from exc

    def open_in_background(self) -> None:
        """Start opening the client in another thread: importing Chroma takes about a second, which
        a caller can spend meanwhile (embedding a query runs in native code, off the GIL)."""
        if self._client is None and not self._opening.is_set():
            self._opening.set()
            threading.Thread(target=self._open_quietly, name="chroma-open", daemon=True).start()

    def _open_quietly(self) -> None:
        try:
            self.client  # noqa: B018 - the property opens it
        except Exception:  # noqa: BLE001 - the caller's own use of the client raises it
            self._opening.clear()

    def _collection(self, kb_id: str):  # noqa: ANN202
        col = self._collections.get(kb_id)
        if col is None:
            with self._reachable():
                col = self.client.get_or_create_collection(
                    _collection_name(kb_id), embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
                )
            self._collections[kb_id] = col
        return col

    def upsert(self, kb_id: str, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        if len(ids):
            col = self._collection(kb_id)
            with self._reachable():
                col.upsert(ids=list(ids), embeddings=vectors, metadatas=list(metadatas))

    def set_metadata(self, kb_id: str, ids: Sequence[str], metadatas: Sequence[dict]) -> None:
        """Update filter fields (e.g. `enabled`) of vectors that exist; unknown ids are ignored."""
        if not ids:
            return
        col = self._collection(kb_id)
        with self._reachable():
            present = set(col.get(ids=list(ids), include=[])["ids"])
            keep = [(i, m) for i, m in zip(ids, metadatas, strict=True) if i in present]
            # Chroma refuses more records per call than its max batch size (a document of many chunks).
            size = self.client.get_max_batch_size()
            size = size if size > 0 else max(len(keep), 1)
            for start in range(0, len(keep), size):
                part = keep[start : start + size]
                col.update(ids=[i for i, _ in part], metadatas=[m for _, m in part])

    def delete(self, kb_id: str, ids: Sequence[str]) -> None:
        if ids:
            col = self._collection(kb_id)
            with self._reachable():
                col.delete(ids=list(ids))

    def drop(self, kb_id: str) -> None:
        self._collections.pop(kb_id, None)
        try:
            self.client.delete_collection(_collection_name(kb_id))
        except Exception:  # noqa: BLE001 - already gone is fine
            pass

    def query(self, kb_id: str, vector: np.ndarray, n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity (1 - cosine distance)."""
        if n <= 0:
            return []
        col = self._collection(kb_id)
        with self._reachable():
            res = col.query(query_embeddings=[vector], n_results=n, where=where or None, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def get_vectors(self, kb_id: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        col = self._collection(kb_id)
        with self._reachable():
            res = col.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(res["ids"], res["embeddings"], strict=True)}

    def count(self, kb_id: str) -> int:
        col = self._collection(kb_id)
        with self._reachable():
            return col.count()

    def health(self) -> dict:
        try:
            self.client.heartbeat()
            return {"ok": True, "mode": "server" if self._url else "embedded"}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return {"ok": False, "mode": "server" if self._url else "embedded", "error": str(exc)}
