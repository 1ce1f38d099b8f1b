"""Fixtures for tool tests: the ToolService, and a real HTTP server on 127.0.0.1 that records what it gets."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from core.tools import ToolContext, ToolService

PAGE_HTML = b"""<!doctype html><html><head><title>Otters</title><script>var hidden = 1;</script></head>
<body><nav>Menu</nav><h1>Sea otters</h1><p>Sea otters hold hands while they sleep.</p>
<ul><li>They use rocks as tools.</li></ul></body></html>"""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body)


Route = Callable[["_Handler", Seen], tuple[int, str, bytes, dict]]  # status, content type, body, extra headers


@dataclass
class LocalServer:
    base_url: str = ""
    requests: list[Seen] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)  # path -> handler, added by tests

    def last(self) -> Seen:
        return self.requests[-1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: LocalServer

    def log_message(self, *args):  # keep test output quiet
        pass

    def _handle(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length) if length else b"")
        self.state.requests.append(seen)
        route = self.state.routes.get(parts.path) or _DEFAULT_ROUTES.get(parts.path)
        if route is None and parts.path.startswith("/users/"):
            route = _DEFAULT_ROUTES["/echo"]
        status, ctype, body, extra = route(self, seen) if route else (404, "text/plain", b"no such page", {})
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _handle


def _echo(_h, seen: Seen):
    body = {"method": seen.method, "path": seen.path, "query": seen.query, "headers": seen.headers,
            "body": seen.body.decode("utf-8", "replace")}
    return 200, "application/json", json.dumps(body).encode(), {}


_DEFAULT_ROUTES: dict[str, Route] = {
    "/echo": _echo,
    "/page.html": lambda _h, _s: (200, "text/html; charset=utf-8", PAGE_HTML, {}),
    "/big": lambda _h, _s: (200, "text/plain", b"x" * 50_000, {}),
    "/picture.png": lambda _h, _s: (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, {}),
    "/missing": lambda _h, _s: (404, "application/json", b'{"error": "no user with that id"}', {}),
    "/redirect": lambda _h, _s: (302, "text/plain", b"", {"Location": "/echo?from=redirect"}),
}


@pytest.fixture
def web():
    """A local HTTP server; `web.routes[path] = fn(handler, seen) -> (status, type, body, headers)` adds pages."""
    state = LocalServer()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def tools(svc) -> ToolService:
    """The ToolService with the default settings (private addresses refused)."""
    return ToolService(svc.db, svc.settings, svc.retrieval)


@pytest.fixture
def open_tools(svc) -> ToolService:
    """The ToolService allowed to reach private addresses (the local test server)."""
    return ToolService(svc.db, svc.settings.model_copy(update={"allow_private_urls": True}), svc.retrieval)


def service_with(svc, **settings) -> ToolService:
    return ToolService(svc.db, svc.settings.model_copy(update=settings), svc.retrieval)


def run_tool(service: ToolService, ref, args: dict, *, tenant: str, kb_ids=(), timeout: float = 10.0):
    """Bind one ref (anything check_refs accepts) and run it once."""
    refs = service.check_refs(tenant, [ref])
    (bound,) = service.bind(refs, ToolContext(tenant_id=tenant, kb_ids=list(kb_ids), timeout=timeout))
    return bound.run(args)
