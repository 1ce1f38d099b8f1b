"""A real HTTP server speaking the OpenAI protocol on 127.0.0.1, for tests of the real `openai` client.

    with MockOpenAIServer(api_key="sk-test") as srv:
        srv.script([Reply(text="Hello"), Reply(status=429)])
        ... OpenAI(base_url=srv.base_url, api_key="sk-test") ...
        srv.requests  # [{"method", "path", "headers", "body"}]

Scripted replies are consumed by POST /v1/chat/completions in order (a client retry consumes the
next one); unscripted requests get `mock_answer(messages)`, the same text as the in-process mock
(which also translates a fixed glossary of phrases for cross-language search), or a `responder`'s.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from core.providers.llm import mock_answer, mock_tool_calls

_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                404: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error"}


@dataclass
class Reply:
    text: str | None = None  # None: the default answer built from the request
    tool_calls: list[dict] = field(default_factory=list)  # [{"name", "arguments": str | dict, "id"?}]
    status: int = 200
    error_message: str | None = None
    delay_first: float = 0.0  # seconds before the response headers
    delay_chunk: float = 0.0  # seconds between stream chunks
    usage: dict | None = None  # default: word counts
    finish_reason: str | None = None  # default: "tool_calls" / "stop" / "length"
    drop_after: int | None = None  # stream only: the connection is cut after this many content pieces


def _words(text: str) -> int:
    return len(text.split())


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def hash_vector(text: str, dim: int = 64) -> list[float]:
    """A deterministic unit vector from the words of `text` (similar texts share dimensions)."""
    v = np.zeros(dim, dtype=np.float64)
    for w in re.findall(r"\w+", text.lower()) or [text]:
        v[int.from_bytes(hashlib.sha1(w.encode()).digest()[:4], "big") % dim] += 1.0
    return (v / (np.linalg.norm(v) or 1.0)).tolist()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, each reply waits ~40 ms

    def log_message(self, *args):  # keep test output quiet
        pass

    # -- plumbing
    def _send_json(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None = None):
        headers = {"retry-after-ms": "10", "x-should-retry": "true"} if status == 429 or status >= 500 else {}
        self._send_json(status, {"error": {"message": message, "type": _ERROR_TYPES.get(status, "error"),
                                           "param": None, "code": code}}, headers)

    def _read(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = json.loads(raw) if raw else {}
        self.server.owner.requests.append({"method": self.command, "path": self.path,
                                           "headers": dict(self.headers), "body": body})
        return body

    def _authorised(self) -> bool:
        key = self.server.owner.api_key
        got = self.headers.get("Authorization", "")
        if key is None or got == f"Bearer {key}":
            return True
        # Like OpenAI, echo the key back: the client under test must not pass it on.
        self._error(401, f"Incorrect API key provided: {got.removeprefix('Bearer ')}.", "invalid_api_key")
        return False

    # -- routes
    def do_GET(self):
        self._read()
        if not self._authorised():
            return
        if self.path.rstrip("/") == "/v1/models":
            names = self.server.owner.models or ["mock-model"]
            return self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "mock"} for m in names]})
        self._error(404, f"No route {self.path}")

    def do_POST(self):
        try:
            body = self._read()
        except ValueError:
            return self._error(400, "Body is not JSON")
        if not self._authorised():
            return
        route = self.path.rstrip("/")
        try:
            if route == "/v1/chat/completions":
                return self._chat(body)
            if route == "/v1/embeddings":
                return self._embeddings(body)
            if route == "/v1/rerank":
                return self._rerank(body)
            self._error(404, f"No route {self.path}")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _embeddings(self, body: dict):
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dim = int(body.get("dimensions") or 64)
        data = [{"object": "embedding", "index": i, "embedding": hash_vector(str(t), dim)}
                for i, t in enumerate(inputs)]
        n = sum(_words(str(t)) for t in inputs)
        self._send_json(200, {"object": "list", "data": data, "model": body.get("model", ""),
                              "usage": {"prompt_tokens": n, "total_tokens": n}})

    def _rerank(self, body: dict):
        q = set(re.findall(r"\w+", str(body.get("query", "")).lower()))
        docs = [d if isinstance(d, str) else d.get("text", "") for d in body.get("documents") or []]
        results = [{"index": i, "relevance_score": len(q & set(re.findall(r"\w+", d.lower()))) / (len(q) or 1)}
                   for i, d in enumerate(docs)]
        results.sort(key=lambda r: -r["relevance_score"])
        self._send_json(200, {"model": body.get("model", ""), "results": results})

    def _chat(self, body: dict):
        owner = self.server.owner
        reply = owner._next_reply()
        if reply.delay_first and owner._stopping.wait(reply.delay_first):
            return
        model = body.get("model", "")
        if reply.status != 200:
            return self._error(reply.status, reply.error_message or f"Mock error {reply.status}")
        if owner.models is not None and model not in owner.models:
            return self._error(404, f"The model `{model}` does not exist or you do not have access to it.",
                               "model_not_found")
        messages = body.get("messages") or []
        if reply == Reply() and body.get("tools"):  # unscripted: the mock model decides which tools to call
            reply = Reply(text="", tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments}
                                               for c in mock_tool_calls(messages, body["tools"])])
            reply = reply if reply.tool_calls else Reply()
        if reply.text is None:
            text = (owner.responder(messages) if owner.responder else None) or mock_answer(messages)
        else:
            text = reply.text
        pieces = re.findall(r"\S+\s*", text)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        if max_tokens and len(pieces) > max_tokens and not reply.tool_calls:
            pieces, finish = pieces[:max_tokens], "length"
        text = "".join(pieces)
        calls = [{"id": c.get("id") or f"call_{i}", "type": "function",
                  "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                               else json.dumps(c["arguments"])}} for i, c in enumerate(reply.tool_calls)]
        prompt = sum(_words(_text(m.get("content"))) for m in messages)
        usage = reply.usage or {"prompt_tokens": prompt, "completion_tokens": len(pieces),
                                "total_tokens": prompt + len(pieces)}
        base = {"id": "chatcmpl-mock", "created": int(time.time()), "model": model}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text or None}
            if calls:
                message["tool_calls"] = calls
            return self._send_json(200, {**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": message, "finish_reason": finish}]})
        self._stream(base, pieces, calls, finish, usage, reply.delay_chunk,
                     bool((body.get("stream_options") or {}).get("include_usage")), reply.drop_after)

    def _stream(self, base, pieces, calls, finish, usage, delay, include_usage, drop_after=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        stopping = self.server.owner._stopping

        def send(obj):
            if delay and stopping.wait(delay):
                raise BrokenPipeError
            data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
            frame = b"data: " + data + b"\n\n"
            self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            self.wfile.flush()

        def chunk(delta, finish_reason=None):
            return {**base, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        send(chunk({"role": "assistant", "content": ""}))
        for n, p in enumerate(pieces):
            if n == drop_after:  # the provider fails mid-answer: the body just ends, unfinished
                self.close_connection = True
                return
            send(chunk({"content": p}))
        for i, c in enumerate(calls):  # name first, then the arguments in a few pieces, like OpenAI
            send(chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                        "function": {"name": c["function"]["name"], "arguments": ""}}]}))
            args = c["function"]["arguments"]
            for j in range(0, len(args), 5):
                send(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[j:j + 5]}}]}))
        send(chunk({}, finish))
        if include_usage:
            send({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping (timeout tests) must not block stop()
    owner: MockOpenAIServer

    def handle_error(self, request, client_address):  # clients closing connections is normal here
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class MockOpenAIServer:
    def __init__(self, api_key: str | None = None, models: list[str] | None = None,
                 responder: Callable[[list[dict]], str | None] | None = None):
        self.api_key = api_key  # None: any Authorization accepted
        self.models = models  # None: any model name accepted; else others get 404
        self.responder = responder  # unscripted replies: its text when it returns one, else mock_answer's
        self.requests: list[dict] = []
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, replies: list[Reply]) -> MockOpenAIServer:
        with self._lock:
            self._replies.extend(replies)
        return self

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if self._replies else Reply()

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].rstrip("/") == "/v1/chat/completions"]

    def start(self) -> MockOpenAIServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)  # port 0: a free port, safe under -n
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="mock-openai")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MockOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def mock_llm():
    """A started MockOpenAIServer (no key required, any model name) for one test."""
    with MockOpenAIServer() as server:
        yield server
