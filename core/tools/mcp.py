"""Tools from MCP servers, through the official `mcp` package (2.x).

Callers are sync threads, so each call runs the async client in its own event loop and opens one
connection just for that call: simple, and nothing is left running between calls. The whole call,
connection included, is bounded by `timeout`; stdio servers are always stopped (the SDK's stdio
transport closes stdin, then kills the process group) and their stderr goes to a temp file, whose
last lines explain a server that died.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from typing import IO, Any, Literal, TypeVar
from urllib.parse import SplitResult, urlsplit

import anyio
import httpx2
import mcp_types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InvalidInput, ProviderError
from core.net import AsyncPinnedTransport
from core.tools.base import ToolInfo, ToolInput, ToolResult

T = TypeVar("T")
INPUT_TYPES = {"string", "number", "integer", "boolean", "object", "array"}
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
MAX_TOOL_PAGES = 50  # a server whose tools/list never stops paginating cannot hang us
STDERR_TAIL_LINES = 8


class MCPConfig(BaseModel):
    """How to reach one MCP server: a streamable-HTTP endpoint or a command speaking MCP on stdio."""

    model_config = ConfigDict(extra="forbid")
    transport: Literal["http", "stdio"]
    url: str = ""  # http: the streamable-HTTP endpoint, e.g. http://host:port/mcp
    command: str = ""  # stdio: the executable
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)  # stdio: added to a minimal inherited environment
    headers: dict[str, str] = Field(default_factory=dict)  # http only

    @model_validator(mode="after")
    def _check(self) -> MCPConfig:
        self.url, self.command = self.url.strip(), self.command.strip()
        if self.transport == "http":
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname or not _valid_port(parts):
                raise InvalidInput("An HTTP MCP server needs an http:// or https:// URL, e.g. http://host:8000/mcp")
            for name, value in self.headers.items():
                if not HEADER_NAME.match(name) or "\r" in value or "\n" in value:
                    raise InvalidInput(f"Header '{name}' is not a valid HTTP header")
        else:
            if not self.command:
                raise InvalidInput("A stdio MCP server needs a command to run")
            if self.headers:
                raise InvalidInput("Headers only apply to HTTP MCP servers")
            if any("\0" in text for text in [self.command, *self.args, *self.env, *self.env.values()]):
                raise InvalidInput("The command, its arguments and environment cannot contain NUL characters")
        return self

    @property
    def server_label(self) -> str:
        """How messages name the server: its URL without credentials or query, or its command line, shortened."""
        if self.transport == "http":
            parts = urlsplit(self.url)
            return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        line = " ".join([self.command, *self.args])
        return line if len(line) <= 120 else line[:117] + "..."


def _valid_port(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return True


def parse_config(data: dict[str, Any]) -> MCPConfig:
    """An MCPConfig from user input; any problem becomes InvalidInput with a readable message."""
    try:
        return MCPConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}" for err in e.errors())
        raise InvalidInput(f"Invalid MCP server settings: {problems}") from None


def list_tools(cfg: MCPConfig, timeout: float = 20.0, allow_private: bool = False) -> list[ToolInfo]:
    """The tools the server offers (all pages). `allow_private`: an HTTP server may be on a private address."""

    async def fetch(client: Client) -> list[ToolInfo]:
        tools, cursor = [], None
        for _ in range(MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(tool_info(t) for t in page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    return _run_sync(cfg, timeout, "list its tools", fetch, allow_private)


def call_tool(cfg: MCPConfig, name: str, arguments: dict, timeout: float = 30.0,
              allow_private: bool = False) -> ToolResult:
    """Call one tool. A failure the tool reports itself comes back as ToolResult(is_error=True)."""

    async def call(client: Client) -> ToolResult:
        result = await client.call_tool(name, arguments or {})
        return ToolResult(content=result_text(result), is_error=result.is_error)

    return _run_sync(cfg, timeout, f"call tool '{name}'", call, allow_private)


def tool_info(tool: mcp_types.Tool) -> ToolInfo:
    schema = tool.input_schema or {}
    required = set(schema.get("required") or [])
    inputs = [ToolInput(name=prop, description=str(spec.get("description") or "") if isinstance(spec, dict) else "",
                        required=prop in required, type=_input_type(spec))
              for prop, spec in (schema.get("properties") or {}).items()]
    label = tool.title or (tool.annotations.title if tool.annotations else None) or tool.name
    return ToolInfo(name=tool.name, label=label, description=tool.description or "", inputs=inputs)


def _input_type(spec: Any) -> str:
    """The one JSON type an LLM should send, from a property schema (type lists and anyOf included)."""
    if not isinstance(spec, dict):
        return "string"
    declared = spec.get("type")
    candidates = declared if isinstance(declared, list) else [declared]
    for option in spec.get("anyOf") or spec.get("oneOf") or []:  # e.g. Optional[int] -> anyOf [integer, null]
        if isinstance(option, dict):
            candidates.append(option.get("type"))
    return next((t for t in candidates if t in INPUT_TYPES), "string")


def result_text(result: mcp_types.CallToolResult) -> str:
    """What the LLM reads: text parts as they are, other parts named briefly, else the structured result."""
    parts = [_content_text(block) for block in result.content]
    has_text = any(isinstance(b, mcp_types.TextContent) for b in result.content)
    if not has_text and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(p for p in parts if p)


def _content_text(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
        return f"[{block.type}: {block.mime_type}]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link: {block.name} {block.uri}]"
    if isinstance(block, mcp_types.EmbeddedResource):
        res = block.resource
        if isinstance(res, mcp_types.TextResourceContents):
            return res.text
        return f"[resource: {res.uri} ({res.mime_type or 'binary'})]"
    return f"[{getattr(block, 'type', 'content')}]"


# --- running the async client from sync code -------------------------------------------------

class _Answer:
    """The outcome of one call, handed from the worker thread to the caller; the first one given wins."""

    def __init__(self) -> None:
        self._ready, self._lock = threading.Event(), threading.Lock()
        self.value: Any = None
        self.error: BaseException | None = None

    def give(self, value: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            if not self._ready.is_set():
                self.value, self.error = value, error
                self._ready.set()

    def wait(self, seconds: float) -> bool:
        return self._ready.wait(seconds)


def _run_sync(cfg: MCPConfig, timeout: float, action: str, work: Callable[[Client], Awaitable[T]],
              allow_private: bool) -> T:
    """Connect, do `work`, disconnect, in a fresh event loop on a worker thread; errors as ProviderError.

    The caller gets its answer as soon as there is one, and never later than `timeout`: closing the
    connection (up to a few seconds while a stubborn stdio server is stopped) finishes on the worker.
    """
    answer = _Answer()

    def timed_out() -> ProviderError:
        return ProviderError(f"MCP server {cfg.server_label} did not answer within {timeout:g} s (trying to {action})")

    async def main() -> None:
        async def watchdog(scope: anyio.CancelScope) -> None:
            await anyio.sleep(timeout)
            answer.give(error=timed_out())
            scope.cancel()  # stops the work, or a disconnect that is taking too long

        stdio = cfg.transport == "stdio"
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") if stdio else nullcontext() as stderr:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(watchdog, tg.cancel_scope)
                    async with Client(_transport(cfg, timeout, stderr, allow_private), cache=None) as client:
                        answer.give(value=await work(client))
                    tg.cancel_scope.cancel()  # done: stop the watchdog
            except Exception as e:  # noqa: BLE001 - every transport/protocol failure becomes one readable error
                refused = next((leaf for leaf in _leaves(e) if isinstance(leaf, InvalidInput)), None)
                answer.give(error=refused or _provider_error(cfg, action, e, _tail(stderr)))

    def run() -> None:
        try:
            anyio.run(main)
        except BaseException as e:  # noqa: BLE001 - the caller must hear of anything, even a bug here
            answer.give(error=e)

    # A fresh thread even when the caller has no event loop: one code path, and the connection can
    # finish closing after the caller has its answer. Not a daemon, so exiting still stops the server.
    threading.Thread(target=run, name=f"mcp-{cfg.transport}-call", daemon=False).start()
    if not answer.wait(timeout + 1.0):  # the watchdog answers at `timeout`; this is only a backstop
        raise timed_out()
    if answer.error is not None:
        raise answer.error
    return answer.value


def _transport(cfg: MCPConfig, timeout: float, stderr: IO[str] | None, allow_private: bool):
    if cfg.transport == "stdio":
        params = StdioServerParameters(command=cfg.command, args=cfg.args, env=cfg.env or None)
        return stdio_client(params, errlog=stderr)
    return _http_transport(cfg.url, cfg.headers, timeout, allow_private)


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str], timeout: float, allow_private: bool):
    """streamable_http_client over our own httpx2 client, so the headers apply, no read outlasts the call,
    and every connection goes to the address that was checked (core/net.py)."""
    async with (httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout), trust_env=False,
                                   transport=AsyncPinnedTransport(allow_private)) as http,
                streamable_http_client(url, http_client=http) as streams):
        yield streams


def _leaves(error: BaseException) -> list[BaseException]:
    """The real exceptions inside (possibly nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _provider_error(cfg: MCPConfig, action: str, error: BaseException, stderr_tail: str) -> ProviderError:
    leaves = _leaves(error)
    if any(isinstance(e, TimeoutError) for e in leaves):
        return ProviderError(f"MCP server {cfg.server_label} did not answer in time (trying to {action})")
    # Prefer the most telling failure: spawn errors, then HTTP trouble, then protocol errors.
    for kind in (OSError, httpx2.HTTPError, MCPError):
        found = next((e for e in leaves if isinstance(e, kind)), None)
        if found is not None:
            break
    found = found or leaves[0]
    where = f"MCP server {cfg.server_label}"
    if isinstance(found, FileNotFoundError | PermissionError) and cfg.transport == "stdio":
        hint = " (put arguments in 'args', not in the command)" if " " in cfg.command else ""
        message = f"{where} could not be started: {found.strerror or found}{hint}"
    elif isinstance(found, httpx2.ConnectError | ConnectionError):
        message = f"{where} is unreachable: {str(found) or type(found).__name__}"
    elif isinstance(found, MCPError):
        message = f"{where} failed to {action}: {found.message}"
    else:
        message = f"{where} failed to {action}: {type(found).__name__}: {found}"
    if stderr_tail:
        message += f"\nServer output (last lines):\n{stderr_tail}"
    return ProviderError(message)


def _tail(stderr: IO[str] | None) -> str:
    if stderr is None or stderr.closed:
        return ""
    stderr.flush()
    stderr.seek(0)
    lines = [line.rstrip() for line in stderr.read().splitlines() if line.strip()]
    return "\n".join(lines[-STDERR_TAIL_LINES:])
