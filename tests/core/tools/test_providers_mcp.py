"""MCP servers as tool providers, against the real test MCP server (tests/fixtures/mcp_server.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import Conflict, Forbidden, InvalidInput, ProviderError
from core.tools import ToolContext
from tests.core.tools.conftest import run_tool, service_with

SERVER = Path(__file__).resolve().parents[2] / "fixtures" / "mcp_server.py"
SERVER_TOOLS = ["add", "echo", "fail", "slow", "environment", "header", "picture"]
SECRET = "Bearer mcp-secret-1234567890"


@pytest.fixture(scope="module")
def mcp_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the port to open
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the test MCP server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_http_server_lists_tools_masks_headers_and_calls_with_the_real_value(open_tools, tenant, mcp_url):
    created = open_tools.create_mcp_server(tenant, "Test server", transport="http", url=mcp_url,
                                           headers=[{"key": "Authorization", "value": SECRET}],
                                           description="For tests", icon="https://cdn.example/mcp.png")
    assert created.kind == "mcp" and created.status == "ok" and [t.name for t in created.tools] == SERVER_TOOLS
    assert created.headers == [{"key": "Authorization", "value": "Bearer mcp-…7890"}]
    assert created.config["transport"] == "http" and created.config["url"] == mcp_url
    assert "headers" not in created.config and SECRET not in created.model_dump_json()
    add = next(t for t in created.tools if t.name == "add")
    assert {i.name: (i.type, i.required) for i in add.inputs} == {"a": ("integer", True), "b": ("integer", True)}

    assert run_tool(open_tools, f"{created.id}/add", {"a": 2, "b": 3}, tenant=tenant).content == "5"
    assert run_tool(open_tools, f"{created.id}/header", {"name": "Authorization"}, tenant=tenant).content == SECRET
    failed = run_tool(open_tools, f"{created.id}/fail", {}, tenant=tenant)
    assert failed.is_error and "failed on purpose" in failed.content

    # Sending the masked header back keeps the secret; the server is contacted again.
    updated = open_tools.update_mcp_server(tenant, created.id, name="Renamed", headers=created.headers)
    assert updated.name == "Renamed" and updated.headers == created.headers
    assert run_tool(open_tools, f"{created.id}/header", {"name": "Authorization"}, tenant=tenant).content == SECRET
    assert open_tools.list_providers(tenant, kind="mcp").total == 1


def test_a_server_that_cannot_be_reached_is_not_saved_or_changed(open_tools, tenant, mcp_url):
    with pytest.raises(ProviderError):
        open_tools.create_mcp_server(tenant, "Broken", transport="http", url=mcp_url.replace("/mcp", "/nothing"))
    with pytest.raises(ProviderError):
        open_tools.create_mcp_server(tenant, "Broken", transport="stdio", command="/nonexistent/mcp-server")
    assert open_tools.list_providers(tenant).total == 0
    created = open_tools.create_mcp_server(tenant, "Good", transport="http", url=mcp_url)
    with pytest.raises(ProviderError):
        open_tools.update_mcp_server(tenant, created.id, name="Changed", url=mcp_url.replace("/mcp", "/nothing"))
    assert open_tools.get_provider(tenant, created.id) == created
    with pytest.raises(Conflict):
        open_tools.create_mcp_server(tenant, "GOOD", transport="http", url=mcp_url)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"transport": "http", "url": "ftp://host/mcp"}, InvalidInput, "http:// or https://"),
    ({"transport": "carrier-pigeon"}, InvalidInput, "Invalid MCP server settings: transport"),
    ({"transport": "stdio", "command": ""}, InvalidInput, "needs a command"),
    ({"transport": "stdio", "command": "srv", "args": "not a list"}, InvalidInput, "args"),
    ({"transport": "stdio", "command": "srv", "env": {"A": 1}}, InvalidInput, "env"),
    ({"transport": "http", "url": "http://127.0.0.1:9/mcp"}, InvalidInput, "private or local address"),
    ({"transport": "http", "url": "http://169.254.169.254/mcp"}, InvalidInput, "private or local address"),
])
def test_bad_settings_are_refused_before_connecting(tools, tenant, kwargs, error, message):
    with pytest.raises(error, match=message):
        tools.create_mcp_server(tenant, "Bad", **kwargs)
    assert tools.list_providers(tenant).total == 0


def test_stdio_is_the_owners_unless_allowed_for_all(svc, tenant):
    stranger = svc.tenants.create_tenant("Stranger")
    with pytest.raises(Forbidden, match="ALMANAC_ALLOW_MCP_STDIO"):
        svc.tools.create_mcp_server(stranger, "Local", transport="stdio", command=sys.executable,
                                    args=[str(SERVER), "stdio"])
    assert svc.tools.list_providers(stranger).total == 0
    opened = service_with(svc, allow_mcp_stdio=True)
    assert opened.create_mcp_server(stranger, "Local", transport="stdio", command=sys.executable,
                                    args=[str(SERVER), "stdio"]).tools


def test_stdio_server_env_is_masked_and_refresh_keeps_tools_when_the_server_fails(tools, tenant, tmp_path):
    script = tmp_path / "server.py"
    shutil.copy(SERVER, script)
    env = {"SERVICE_TOKEN": "tok-abcdefghijkl0001", "MODE": "test"}
    created = tools.create_mcp_server(tenant, "Local", transport="stdio", command=sys.executable,
                                      args=[str(script), "stdio"], env=env)
    assert created.config["env"] == {"SERVICE_TOKEN": "tok-…0001", "MODE": "test"}
    assert created.config["command"] == sys.executable and created.config["args"] == [str(script), "stdio"]
    assert run_tool(tools, f"{created.id}/environment", {"name": "SERVICE_TOKEN"}, tenant=tenant,
                    timeout=30).content == env["SERVICE_TOKEN"]

    script.unlink()  # the server is gone: refresh records the failure, the agent keeps its tool list
    broken = tools.refresh_mcp_server(tenant, created.id)
    assert broken.status == "error" and broken.status_message and broken.tools == created.tools
    bound = tools.bind(tools.check_refs(tenant, [f"{created.id}/echo"]), ToolContext(tenant_id=tenant, timeout=30))
    result = bound[0].run({"text": "hi"})
    assert result.is_error and result.content

    shutil.copy(SERVER, script)
    healed = tools.refresh_mcp_server(tenant, created.id)
    assert healed.status == "ok" and healed.status_message == "" and [t.name for t in healed.tools] == SERVER_TOOLS
