"""Fetching user-given URLs safely: size and time limits, and no private addresses.

A URL typed by a user (or chosen by an agent) must not reach the server's own
network (metadata services, admin ports) unless ALMANAC_ALLOW_PRIVATE_URLS is set.

The check and the connection use the same DNS answer: `PinnedTransport` (httpx) and
`AsyncPinnedTransport` (httpx2, for MCP) resolve each request's host once, check every
address, and connect to the first one checked, with the original Host header and TLS
server name. A DNS answer that changes between a check and a connect (rebinding) cannot
send a request elsewhere. Every client that fetches user-given URLs uses one of them.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

import anyio.to_thread
import httpx
import httpx2

from core.errors import InvalidInput, ProviderError, TooLarge

MAX_REDIRECTS = 5
_PRIVATE_HINT = "fetching it is not allowed (set ALMANAC_ALLOW_PRIVATE_URLS=true to allow it)"


@dataclass
class Fetched:
    url: str
    content: bytes
    content_type: str


def resolve_checked(host: str, port: int, allow_private: bool = False) -> str:
    """The one address to connect to for `host`: resolved once; unless allowed, every answer must be public."""
    host = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise InvalidInput(f"Cannot resolve host '{host}'") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise InvalidInput(f"Cannot resolve host '{host}'")
    if not allow_private:
        for address in addresses:
            if not ipaddress.ip_address(address.partition("%")[0]).is_global:
                raise InvalidInput(f"'{host}' is a private or local address; {_PRIVATE_HINT}")
    return addresses[0]


def check_public(url: str, allow_private: bool = False) -> None:
    """Raise InvalidInput unless `url` is http(s) and (unless allowed) resolves only to public addresses.

    For early, friendly errors (e.g. when a tool is saved); connections are checked again by the pinned
    transports, with the address they then use."""
    try:
        parts = urlparse(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # e.g. a port out of range or a malformed [IPv6] host
        raise InvalidInput(f"Not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"Not an http(s) URL: {url!r}")
    if not allow_private:
        resolve_checked(parts.hostname, port)


def _pin(request: Any, allow_private: bool) -> str:
    """Point an httpx/httpx2 request at the checked address of its host; returns the host."""
    url = request.url
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidInput(f"Not an http(s) URL: {str(url)!r}")
    host = url.host
    address = resolve_checked(host, url.port or (443 if url.scheme == "https" else 80), allow_private)
    request.url = url.copy_with(host=address)  # the Host header was set from the original URL
    if url.scheme == "https":
        request.extensions = {**request.extensions, "sni_hostname": host}  # TLS name and certificate check
    return host


class PinnedTransport(httpx.BaseTransport):
    """httpx transport that connects only to the address it checked. One connection pool per host name,
    so a connection (and its TLS session) is never shared by two names that resolve alike."""

    def __init__(self, allow_private: bool = False):
        self.allow_private = allow_private
        self._pools: dict[str, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = _pin(request, self.allow_private)
        pool = self._pools.setdefault(host, httpx.HTTPTransport(trust_env=False))
        return pool.handle_request(request)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


class AsyncPinnedTransport(httpx2.AsyncBaseTransport):
    """The same for httpx2's async client (the MCP SDK's); DNS runs in a worker thread."""

    def __init__(self, allow_private: bool = False):
        self.allow_private = allow_private
        self._pools: dict[str, httpx2.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = await anyio.to_thread.run_sync(_pin, request, self.allow_private)
        pool = self._pools.setdefault(host, httpx2.AsyncHTTPTransport(trust_env=False))
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


def client(*, allow_private: bool, timeout: float, headers: dict[str, str] | None = None) -> httpx.Client:
    """An httpx client for user-given URLs: pinned, no redirects followed by itself, no proxies from the
    environment (a proxy would resolve the name again)."""
    return httpx.Client(transport=PinnedTransport(allow_private), timeout=timeout, follow_redirects=False,
                        trust_env=False, headers=headers)


def fetch(url: str, *, max_bytes: int, timeout: float = 20.0, allow_private: bool = False) -> Fetched:
    """GET with redirects re-checked hop by hop, a byte limit and a timeout."""
    with client(allow_private=allow_private, timeout=timeout,
                headers={"User-Agent": "Almanac/0.1 (+knowledge base importer)"}) as http:
        for _ in range(MAX_REDIRECTS + 1):
            check_public(url, allow_private=True)  # scheme and host; the address is checked when connecting
            try:
                with http.stream("GET", url) as r:
                    if r.is_redirect:
                        url = urljoin(url, r.headers.get("location", ""))
                        continue
                    if r.status_code >= 400:
                        raise InvalidInput(f"{url} answered HTTP {r.status_code}")
                    body = bytearray()
                    for part in r.iter_bytes():
                        body += part
                        if len(body) > max_bytes:
                            raise TooLarge(f"{url} is larger than {max_bytes / 2**20:.0f} MB")
                    return Fetched(url, bytes(body), r.headers.get("content-type", ""))
            except httpx.TimeoutException as exc:
                raise ProviderError(f"{url} did not answer within {timeout:.0f} s") from exc
            except httpx.HTTPError as exc:
                raise ProviderError(f"Could not fetch {url}: {type(exc).__name__}") from exc
    raise InvalidInput(f"Too many redirects from {url}")
