"""MCP client against a real MCP server (tests/fixtures/mcp_server.py), over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import mcp_types
import psutil
import pytest

from core.errors import InvalidInput, ProviderError
from core.tools.mcp import MCPConfig, call_tool, list_tools, parse_config, result_text, tool_info

SERVER = Path(__file__).resolve().parents[2] / "fixtures" / "mcp_server.py"
SERVER_TOOLS = {"add", "echo", "fail", "slow", "environment", "header", "picture"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stdio_config(tag: str = "", **extra) -> MCPConfig:
    # The tag is an argument the server ignores; it lets a test find its own server process.
    return MCPConfig(transport="stdio", command=sys.executable, args=[str(SERVER), "stdio", tag], **extra)


def processes_tagged(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if tag in proc.cmdline():
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.fixture(scope="module")
def http_url():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, "the test MCP server exited"
                assert time.time() < deadline, "the test MCP server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait(timeout=10)


# --- configuration ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ({"transport": "http"}, "http:// or https://"),
    ({"transport": "http", "url": "ftp://host/mcp"}, "http:// or https://"),
    ({"transport": "http", "url": "http:///mcp"}, "http:// or https://"),
    ({"transport": "http", "url": "http://host:99999/mcp"}, "http:// or https://"),
    ({"transport": "http", "url": "http://host/mcp", "headers": {"Bad Name": "x"}}, "Bad Name"),
    ({"transport": "http", "url": "http://host/mcp", "headers": {"X-Key": "a\r\nInjected: 1"}}, "X-Key"),
    ({"transport": "stdio"}, "needs a command"),
    ({"transport": "stdio", "command": "   "}, "needs a command"),
    ({"transport": "stdio", "command": "srv", "headers": {"X-Key": "1"}}, "only apply to HTTP"),
])
def test_invalid_config_is_invalid_input(data, message):
    with pytest.raises(InvalidInput, match=message):
        MCPConfig(**data)
    with pytest.raises(InvalidInput, match=message):
        parse_config(data)


@pytest.mark.parametrize("data, field", [
    ({"transport": "sse", "url": "http://host/mcp"}, "transport"),
    ({"transport": "stdio", "command": "srv", "cwd": "/tmp"}, "cwd"),
    ({"transport": "stdio", "command": "srv", "args": "--flag"}, "args"),
])
def test_parse_config_turns_schema_errors_into_invalid_input(data, field):
    with pytest.raises(InvalidInput, match=field):
        parse_config(data)


def test_server_label_hides_credentials_and_query():
    cfg = parse_config({"transport": "http", "url": " https://user:secret@example.com:8443/mcp?token=abc "})
    assert cfg.url == "https://user:secret@example.com:8443/mcp?token=abc"
    assert cfg.server_label == "https://example.com:8443/mcp"
    long = MCPConfig(transport="stdio", command="server", args=["x" * 300])
    assert long.server_label.startswith("server xxx") and len(long.server_label) <= 120


# --- converting MCP types ---------------------------------------------------------------------

def test_result_text_describes_every_kind_of_content():
    result = mcp_types.CallToolResult(content=[
        mcp_types.TextContent(text="hello"),
        mcp_types.ImageContent(data="AAAA", mime_type="image/png"),
        mcp_types.AudioContent(data="AAAA", mime_type="audio/wav"),
        mcp_types.ResourceLink(name="report", uri="file:///r.pdf"),
        mcp_types.EmbeddedResource(resource=mcp_types.TextResourceContents(uri="file:///a.txt", text="inner text")),
        mcp_types.EmbeddedResource(resource=mcp_types.BlobResourceContents(uri="file:///b.bin", blob="AAAA",
                                                                           mime_type="application/zip")),
    ], structured_content={"ignored": True})
    assert result_text(result).split("\n") == [
        "hello", "[image: image/png]", "[audio: audio/wav]", "[resource link: report file:///r.pdf]",
        "inner text", "[resource: file:///b.bin (application/zip)]"]


def test_result_text_uses_structured_content_when_there_is_no_text():
    result = mcp_types.CallToolResult(content=[], structured_content={"temp": 21.5, "city": "Zürich"})
    assert result_text(result) == '{"temp": 21.5, "city": "Zürich"}'
    assert result_text(mcp_types.CallToolResult(content=[])) == ""


def test_tool_info_reads_the_input_schema():
    tool = mcp_types.Tool(
        name="search", description="Find things",
        annotations=mcp_types.ToolAnnotations(title="Search the web"),
        input_schema={"type": "object", "required": ["query"], "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}},
            "mode": {"enum": ["fast", "deep"]},
        }})
    info = tool_info(tool)
    assert (info.name, info.label, info.description) == ("search", "Search the web", "Find things")
    assert [(i.name, i.type, i.required, i.description) for i in info.inputs] == [
        ("query", "string", True, "What to look for"), ("limit", "integer", False, ""),
        ("tags", "array", False, ""), ("mode", "string", False, "")]
    bare = tool_info(mcp_types.Tool(name="ping", input_schema={"type": "object"}))
    assert (bare.label, bare.inputs) == ("ping", [])


# --- stdio ------------------------------------------------------------------------------------

def test_stdio_lists_tools():
    tools = {t.name: t for t in list_tools(stdio_config())}
    assert set(tools) == SERVER_TOOLS
    add = tools["add"]
    assert (add.label, add.description) == ("Add numbers", "Add two integers.")
    assert [(i.name, i.type, i.required) for i in add.inputs] == [("a", "integer", True), ("b", "integer", True)]
    assert [i.name for i in tools["header"].inputs] == ["name"]  # the server's own context is not an input


def test_stdio_calls_a_tool_with_the_configured_environment():
    cfg = stdio_config(env={"ALMANAC_MCP_TEST": "from-config"})
    assert call_tool(cfg, "environment", {"name": "ALMANAC_MCP_TEST"}).content == "from-config"


def test_stdio_tool_results():
    cfg = stdio_config()
    assert call_tool(cfg, "add", {"a": 2, "b": 40}).model_dump() == {"content": "42", "references": [],
                                                                     "is_error": False}
    assert call_tool(cfg, "picture", {}).content == "a single pixel\n[image: image/png]"


def test_stdio_error_tool_is_an_error_result():
    result = call_tool(stdio_config(), "fail", {})
    assert result.is_error
    assert "the fail tool failed on purpose" in result.content


def test_stdio_bad_command_fails_fast():
    start = time.monotonic()
    with pytest.raises(ProviderError, match="/no/such/mcp-server could not be started"):
        list_tools(MCPConfig(transport="stdio", command="/no/such/mcp-server"))
    with pytest.raises(ProviderError, match="put arguments in 'args'"):
        list_tools(MCPConfig(transport="stdio", command="no-such-mcp-server --port 3"))
    assert time.monotonic() - start < 2


def test_stdio_server_that_dies_reports_its_last_output():
    script = "import sys; print('starting', file=sys.stderr); print('missing API key', file=sys.stderr); sys.exit(3)"
    cfg = MCPConfig(transport="stdio", command=sys.executable, args=["-c", script])
    with pytest.raises(ProviderError) as caught:
        list_tools(cfg, timeout=10)
    message = caught.value.message
    assert "failed to list its tools" in message and "starting\nmissing API key" in message


def test_stdio_timeout_returns_in_time_and_stops_the_server():
    tag = f"tag-{uuid.uuid4().hex}"
    start = time.monotonic()
    with pytest.raises(ProviderError, match=r"did not answer within 2 s \(trying to call tool 'slow'\)"):
        call_tool(stdio_config(tag), "slow", {"seconds": 60}, timeout=2)
    assert 1.9 < time.monotonic() - start < 2.75
    deadline = time.monotonic() + 10  # the server is stopped in the background: stdin closed, then killed
    while processes_tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_tagged(tag) == []


# --- streamable HTTP --------------------------------------------------------------------------

def test_http_lists_and_calls_tools(http_url):
    assert {t.name for t in list_tools(MCPConfig(transport="http", url=http_url), allow_private=True)} == SERVER_TOOLS
    cfg = MCPConfig(transport="http", url=http_url, headers={"X-Almanac-Test": "header-value"})
    assert call_tool(cfg, "add", {"a": 1, "b": 2}, allow_private=True).content == "3"
    assert call_tool(cfg, "echo", {"text": "grüße, 你好"}, allow_private=True).content == "grüße, 你好"
    assert call_tool(cfg, "header", {"name": "X-Almanac-Test"}, allow_private=True).content == "header-value"


def test_http_error_results(http_url):
    cfg = MCPConfig(transport="http", url=http_url)
    failed = call_tool(cfg, "fail", {}, allow_private=True)
    assert failed.is_error and "the fail tool failed on purpose" in failed.content
    rejected = call_tool(cfg, "add", {"a": "not a number"}, allow_private=True)
    assert rejected.is_error and "validation error" in rejected.content


def test_http_unreachable_url_fails_fast():
    url = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ProviderError, match=f"MCP server {url} is unreachable"):
        list_tools(MCPConfig(transport="http", url=url), allow_private=True)
    assert time.monotonic() - start < 2


def test_http_wrong_path_is_a_provider_error(http_url):
    with pytest.raises(ProviderError, match="failed to list its tools"):
        list_tools(MCPConfig(transport="http", url=http_url.replace("/mcp", "/not-mcp")), timeout=5, allow_private=True)


def test_http_timeout_returns_in_time(http_url):
    start = time.monotonic()
    with pytest.raises(ProviderError, match="did not answer within 1 s"):
        call_tool(MCPConfig(transport="http", url=http_url), "slow", {"seconds": 3}, timeout=1,
                  allow_private=True)
    assert time.monotonic() - start < 1.75


def test_works_from_a_thread_that_runs_an_event_loop(http_url):
    async def from_async_code():
        return call_tool(MCPConfig(transport="http", url=http_url), "echo", {"text": "inside a loop"},
                         allow_private=True)

    assert asyncio.run(from_async_code()).content == "inside a loop"
