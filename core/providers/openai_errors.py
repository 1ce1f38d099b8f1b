"""What went wrong with an OpenAI-compatible server, said once for every provider (LLM, embeddings).

Messages name the server but never the key: servers echo keys in their error bodies.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from core.errors import ProviderError


def server_address(base_url: str) -> tuple[str, str]:
    """(host[:port], base URL) of a server, without any user:password@ part."""
    parts = urlsplit(base_url)
    host = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    return host, f"{parts.scheme}://{host}{parts.path}"


def redact(message: str, key: str | None, limit: int = 400) -> str:
    if key and len(key) >= 4:
        message = message.replace(key, "***")
    return re.sub(r"\bsk-[\w*.\-]{4,}", "***", message)[:limit]  # OpenAI echoes "sk-ab***yz"


def provider_error(e: Exception, *, base_url: str, model: str, key: str | None, timeout: float,
                   retries: int) -> ProviderError:
    """An openai-client exception as a ProviderError a user can act on."""
    import openai as o

    host, where = server_address(base_url)
    if isinstance(e, (o.APITimeoutError, httpx.TimeoutException)):
        msg = f"{host} did not answer within {timeout:g} s."
    elif isinstance(e, (o.APIConnectionError, httpx.TransportError)):
        cause = e.__cause__ or e
        msg = f"Cannot connect to {where} ({type(cause).__name__}): check the base URL and that the server is running."
    elif isinstance(e, (o.AuthenticationError, o.PermissionDeniedError)):
        msg = f"The API key was rejected by {host} (HTTP {e.status_code}): check the model's API key."
    elif isinstance(e, o.NotFoundError):
        msg = (f"Model '{model}' not found at {host} (HTTP 404): check the model name and that "
               f"the base URL points at the API root (usually ending in /v1).")
    elif isinstance(e, o.RateLimitError):
        msg = f"Rate limited by {host} (retried {retries} times): wait a moment or check the account's quota."
    elif isinstance(e, o.APIStatusError):
        msg = f"{host} returned HTTP {e.status_code} for model '{model}': {e.message}"
    else:
        msg = f"{host} failed: {type(e).__name__}: {e}"
    return ProviderError(redact(msg, key))
