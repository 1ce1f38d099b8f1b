"""HTTP for tools: any method, headers and body, with the private-address guard on every hop
(core/net.py's pinned client: the address checked is the address connected to).

core/net.fetch covers GETs of whole files (it refuses what is too large); tools also POST and
would rather read the first megabyte of a long answer than fail, so the body is cut at
`max_bytes` and marked as truncated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from core import net
from core.errors import InvalidInput, ProviderError
from core.net import MAX_REDIRECTS, check_public

USER_AGENT = "Almanac/0.1 (+agent tool)"
MAX_TEXT_CHARS = 8000  # what a tool hands the LLM at most


@dataclass
class Reply:
    status: int
    url: str  # after redirects
    content_type: str
    body: bytes
    truncated: bool  # the body was cut at max_bytes

    @property
    def text(self) -> str:
        return self.body.decode(_charset(self.content_type), errors="replace")


def send(method: str, url: str, *, allow_private: bool, timeout: float, max_bytes: int,
         headers: dict[str, str] | None = None, params: Any = None, json_body: Any = None,
         content: str | bytes | None = None) -> Reply:
    """One request; redirects followed (and re-checked) by hand. InvalidInput for refused URLs,
    ProviderError when the server cannot be reached in time."""
    method = method.upper()
    with net.client(allow_private=allow_private, timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_public(url, allow_private=True)  # scheme and host; the address is checked when connecting
            try:
                request = client.build_request(method, url, headers=headers, params=params, json=json_body,
                                               content=content)
                shown = str(request.url)  # with its query; the transport points the request at an address
                r = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise ProviderError(f"{_host(url)} did not answer within {timeout:g} s") from exc
            except httpx.InvalidURL as exc:
                raise InvalidInput(f"Not a valid URL: {url!r}") from exc
            except httpx.HTTPError as exc:
                raise ProviderError(f"Could not reach {_host(url)}: {type(exc).__name__}") from exc
            try:
                if r.is_redirect and r.headers.get("location"):
                    url = urljoin(shown, r.headers["location"])
                    params = None  # the Location already carries its query
                    if r.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
                        method, json_body, content = "GET", None, None  # what browsers do
                    continue
                body, truncated = _read(r, max_bytes)
                return Reply(r.status_code, shown, r.headers.get("content-type", ""), body, truncated)
            except httpx.TimeoutException as exc:
                raise ProviderError(f"{_host(url)} did not answer within {timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise ProviderError(f"Could not reach {_host(url)}: {type(exc).__name__}") from exc
            finally:
                r.close()
    raise ProviderError(f"Too many redirects from {url}")


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` cut to `limit` characters, saying so."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"\n\n[… truncated: {len(text) - limit} more characters]"


def error_excerpt(reply: Reply, limit: int = 300) -> str:
    """'HTTP 404: <the start of the body>' — what a failed call tells the LLM."""
    excerpt = " ".join(reply.text.split())[:limit]
    return f"HTTP {reply.status}" + (f": {excerpt}" if excerpt else "")


def _read(r: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    body = bytearray()
    for part in r.iter_bytes():
        body += part
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False


def _charset(content_type: str) -> str:
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "charset" and value:
            name = value.strip("\"' ")
            try:
                "".encode(name)
                return name
            except LookupError:
                break
    return "utf-8"


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except Exception:  # noqa: BLE001 - only used in a message
        return url
