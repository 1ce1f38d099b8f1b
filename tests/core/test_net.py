"""DNS rebinding: the address that was checked is the address connected to, for every outbound path.

A resolver answers a public address the first time and 127.0.0.1 afterwards. Checking with one answer
and connecting with the next (what resolving twice does) would reach the internal server; with pinned
resolution the request goes to the checked address, which the test routes to a stand-in "public" server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx
import pytest

from core import net
from core.errors import InvalidInput, ProviderError
from core.tools import openapi, web
from core.tools.mcp import MCPConfig, list_tools

HOST = "rebind.example"
PUBLIC_IP = "8.8.8.8"


@dataclass
class Server:
    body: bytes
    port: int = 0
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    """(the stand-in for the public address, the internal server the rebinding points at)."""
    made, stops = [], []
    for body in (b"public page", b"internal secret"):
        state = Server(body)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self, state=state):  # noqa: N802 - http.server's naming
                state.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(state.body)))
                self.end_headers()
                self.wfile.write(state.body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append(state)
        stops.append(server)
    yield made[0], made[1]
    for server in stops:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rebinding(monkeypatch, servers):
    """DNS that answers PUBLIC_IP once, then 127.0.0.1; connections to PUBLIC_IP reach the public stand-in."""
    public, _ = servers
    answers = iter([PUBLIC_IP])
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    connected: list[str] = []

    def getaddrinfo(host, port, *args, **kw):
        if host != HOST:
            return real_getaddrinfo(host, port, *args, **kw)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    def create_connection(address, *args, **kw):
        host, port = address[0], address[1]
        connected.append(host)
        if host == PUBLIC_IP:
            return real_connect(("127.0.0.1", public.port), *args, **kw)
        return real_connect(address, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return connected


def test_pinning_keeps_the_host_header_and_tls_name(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, port, *a, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))])
    request = httpx.Request("GET", "https://rebind.example/page?q=1", headers={"X-Test": "1"})
    assert net._pin(request, allow_private=False) == HOST
    assert (request.url.host, request.url.path, request.url.query) == (PUBLIC_IP, "/page", b"q=1")
    assert request.headers["host"] == HOST and request.extensions["sni_hostname"] == HOST


def test_every_answer_must_be_public(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in (PUBLIC_IP, "10.0.0.5")])
    with pytest.raises(InvalidInput, match="private or local address"):
        net.resolve_checked(HOST, 80)
    assert net.resolve_checked(HOST, 80, allow_private=True) == PUBLIC_IP


def test_url_import_connects_to_the_checked_address(svc, tenant, servers, rebinding):
    public, internal = servers
    kb = svc.knowledge.create(tenant, "Imports")
    doc = svc.documents.import_url(tenant, kb.id, f"http://{HOST}:{internal.port}/notes.txt", parse=False)
    assert svc.documents.download(tenant, doc.id)[1] == b"public page"
    assert doc.source_url == f"http://{HOST}:{internal.port}/notes.txt"
    assert internal.paths == [] and public.paths == ["/notes.txt"]
    assert "127.0.0.1" not in rebinding


@pytest.mark.parametrize("call", ["http_tool", "web_reader"])
def test_http_tools_connect_to_the_checked_address(servers, rebinding, call):
    public, internal = servers
    url = f"http://{HOST}:{internal.port}/page"
    if call == "http_tool":
        reply = web.send("GET", url, allow_private=False, timeout=5, max_bytes=1000)
        assert (reply.body, reply.url) == (b"public page", url)
    else:
        assert net.fetch(url, max_bytes=1000).content == b"public page"
    assert internal.paths == [] and public.paths == ["/page"]
    assert "127.0.0.1" not in rebinding


def test_openapi_tools_connect_to_the_checked_address(servers, rebinding):
    public, internal = servers
    schema = {"server": f"http://{HOST}:{internal.port}", "description": "Dictionary", "paths": {"/suggest": {
        "get": {"operationId": "suggest", "description": "Look up",
                "parameters": [{"name": "q", "in": "query", "required": True, "type": "str"}]}}}}
    spec = openapi.parse(json.dumps(schema))
    result = openapi.call(spec.server, spec.operation("suggest"), {"q": "otter"}, {}, allow_private=False, timeout=5)
    assert result.content == "public page"
    assert internal.paths == [] and public.paths == ["/suggest?q=otter"]


def test_mcp_over_http_connects_to_the_checked_address(monkeypatch, servers, rebinding):
    """MCP's client is async (httpx2 over anyio): the connection goes to the checked address only."""
    _, internal = servers
    tried: list[str] = []

    async def refuse(remote_host, remote_port, **kw):
        tried.append(remote_host)
        raise ConnectionRefusedError(f"nothing at {remote_host}:{remote_port} in this test")

    monkeypatch.setattr(anyio, "connect_tcp", refuse)
    with pytest.raises(ProviderError, match="unreachable"):
        list_tools(MCPConfig(transport="http", url=f"http://{HOST}:{internal.port}/mcp"), timeout=5)
    assert tried and set(tried) == {PUBLIC_IP}
    assert internal.paths == []


def test_mcp_refuses_a_private_address_when_connecting(servers):
    _, internal = servers
    with pytest.raises(InvalidInput, match="private or local address"):
        list_tools(MCPConfig(transport="http", url=f"http://127.0.0.1:{internal.port}/mcp"), timeout=5)
    assert internal.paths == []
