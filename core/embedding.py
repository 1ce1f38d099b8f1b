"""Embedding with a persistent cache: identical text is embedded once per model."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import InvalidInput
from core.providers.embeddings import EmbedderSpec, available_models, get_embedder
from storage.db import Database, insert_ignore
from storage.orm import EmbeddingCache


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingService:
    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self._queries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = Lock()

    def spec(self, model_id: str) -> EmbedderSpec:
        return EmbedderSpec.parse(
            model_id,
            base_url=self.settings.embedding_base_url or None,
            api_key=self.settings.embedding_api_key or None,
        )

    def embedder(self, model_id: str):  # noqa: ANN201 - an Embedder
        return get_embedder(self.spec(model_id))

    def availability(self, model_id: str) -> Literal["ready", "unconfigured", "unknown"]:
        """Whether this process can embed with a model, without loading it: `ready`, `unconfigured` (an
        OpenAI-compatible model while no embedding server is set) or `unknown` (no provider offers it)."""
        try:
            spec = EmbedderSpec.parse(model_id)
        except InvalidInput:
            return "unknown"
        if spec.provider == "openai":
            return "ready" if self.settings.embedding_base_url or self.settings.embedding_api_key else "unconfigured"
        if spec.provider == "mock":
            return "ready"
        offered = {m["model_id"] for m in available_models()}
        return "ready" if spec.model_id in offered else "unknown"

    def dimension(self, model_id: str) -> int:
        return self.embedder(model_id).dim

    def passages(self, model_id: str, texts: list[str], session: Session | None = None,
                 embed: Callable[[EmbedderSpec, list[str]], np.ndarray] | None = None) -> np.ndarray:
        """(n, dim) vectors; cached vectors are reused, only new text goes to the model.

        Pass the caller's session when it is inside a write transaction: a second connection would
        wait for the caller's own lock on SQLite. Without one, the cache is read and written in two
        short transactions and no transaction is open while the model works. `embed(spec, texts)`
        computes the new vectors elsewhere (ingestion's helper processes); default: here.
        """
        hashes = [text_hash(t) for t in texts]
        if session is None:
            with self.db.session() as s:
                found = self._cached(s, model_id, hashes)
        else:
            found = self._cached(session, model_id, hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in found))
        if missing:
            first_text = dict(zip(hashes, texts, strict=True))
            new_texts = [first_text[h] for h in missing]
            fresh = (embed(self.spec(model_id), new_texts) if embed is not None
                     else self.embedder(model_id).embed_passages(new_texts))
            found.update(zip(missing, np.asarray(fresh, dtype=np.float32), strict=True))
            rows = [{"model": model_id, "content_hash": h, "vector": found[h].tobytes()} for h in missing]
            if session is None:
                with self.db.session() as s:
                    insert_ignore(s, EmbeddingCache.__table__, rows)
            else:
                insert_ignore(session, EmbeddingCache.__table__, rows)
        return np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, 0), dtype=np.float32)

    @staticmethod
    def _cached(session: Session, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            rows = session.execute(
                select(EmbeddingCache.content_hash, EmbeddingCache.vector).where(
                    EmbeddingCache.model == model_id, EmbeddingCache.content_hash.in_(hashes[i : i + 500])
                )
            )
            found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
        return found

    def query(self, model_id: str, text: str) -> np.ndarray:
        """Query vector, with a small in-memory LRU: users often repeat a query."""
        key = (model_id, text)
        with self._lock:
            if key in self._queries:
                self._queries.move_to_end(key)
                return self._queries[key]
        vec = np.asarray(self.embedder(model_id).embed_query(text), dtype=np.float32)
        with self._lock:
            self._queries[key] = vec
            if len(self._queries) > 256:
                self._queries.popitem(last=False)
        return vec
