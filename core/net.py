"""Fetching user-given URLs safely: size and time limits, and no private addresses.

A URL typed by a user (or chosen by an agent) must not reach the server's own
network (metadata services, admin ports) unless ALMANAC_ALLOW_PRIVATE_URLS is set.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlparse

import httpx

from core.errors import InvalidInput, ProviderError, TooLarge

MAX_REDIRECTS = 5


@dataclass
class Fetched:
    url: str
    content: bytes
    content_type: str


def check_public(url: str, allow_private: bool = False) -> None:
    """Raise InvalidInput unless `url` is http(s) and (unless allowed) resolves only to public addresses."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"Not an http(s) URL: {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise InvalidInput(f"Cannot resolve host '{parts.hostname}'") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global:
            raise InvalidInput(f"'{parts.hostname}' is a private or local address; fetching it is not allowed "
                               "(set ALMANAC_ALLOW_PRIVATE_URLS=true to allow it)")


def fetch(url: str, *, max_bytes: int, timeout: float = 20.0, allow_private: bool = False) -> Fetched:
    """GET with redirects re-checked hop by hop, a byte limit and a timeout."""
    with httpx.Client(timeout=timeout, follow_redirects=False,
                      headers={"User-Agent": "Almanac/0.1 (+knowledge base importer)"}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_public(url, allow_private)
            try:
                with client.stream("GET", url) as r:
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
                    return Fetched(str(r.url), bytes(body), r.headers.get("content-type", ""))
            except httpx.TimeoutException as exc:
                raise ProviderError(f"{url} did not answer within {timeout:.0f} s") from exc
            except httpx.HTTPError as exc:
                raise ProviderError(f"Could not fetch {url}: {type(exc).__name__}") from exc
    raise InvalidInput(f"Too many redirects from {url}")
