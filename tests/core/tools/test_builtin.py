"""Built-in tools run for real: time zones, HTTP against a local server, the private-address guard,
knowledge search over an ingested knowledge base, and the search / image services (local stand-ins)."""

from __future__ import annotations

import json
import xml.dom.minidom
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import NotFound
from core.tools.builtin import IMAGES_NOT_CONFIGURED, NO_PASSAGES, SERPER_NOT_CONFIGURED
from tests.conftest import ingest
from tests.core.tools.conftest import run_tool, service_with

DOCS = [
    ("otters.txt", b"Sea otters hold hands while they sleep so they do not drift apart."),
    ("volcano.txt", b"Volcanoes erupt when magma rises through cracks in the crust."),
]


# ------------------------------------------------------------------------------------------ catalogue
def test_catalogue_lists_every_provider_with_icons_and_categories(tools):
    providers = {p.name: p for p in tools.builtin_providers()}
    assert set(providers) == {"knowledge", "calculator", "time", "http", "serper", "images"}
    categories = {c["category"]: c for c in tools.categories()}
    for p in providers.values():
        assert p.kind == "builtin" and p.id == p.name and p.label and p.description and p.tools
        assert p.category in categories and p.background.startswith("#")
        svg, mime = tools.builtin_icon(p.name)
        assert mime == "image/svg+xml"
        xml.dom.minidom.parseString(svg)  # well-formed
    for c in categories.values():
        assert c["name"] and c["icon"].startswith("<svg")
    tool_names = [t.name for p in providers.values() for t in p.tools]
    assert len(tool_names) == len(set(tool_names))  # bare tool names resolve unambiguously


def test_builtin_tool_details_and_not_found(tools):
    provider, tool = tools.builtin_tool("images", "image_generation")
    assert provider.name == "images" and [i.name for i in tool.inputs] == ["prompt"]
    size = next(p for p in tool.params if p.name == "size")
    assert size.type == "select" and {o.value for o in size.options} == {"1024x1024", "1792x1024", "1024x1792"}
    with pytest.raises(NotFound, match="provider 'nope'"):
        tools.builtin_tool("nope", "x")
    with pytest.raises(NotFound, match="Tool 'x' not found"):
        tools.builtin_tool("images", "x")
    with pytest.raises(NotFound):
        tools.builtin_icon("../../etc/passwd")


def test_needs_setup_says_which_key_is_missing(svc, tools):
    by_name = {p.name: p for p in tools.builtin_providers()}
    assert "ALMANAC_SERPER_API_KEY" in by_name["serper"].needs_setup
    assert "ALMANAC_IMAGES_API_KEY" in by_name["images"].needs_setup
    assert by_name["calculator"].needs_setup == ""
    configured = {p.name: p for p in service_with(svc, serper_api_key="k", images_api_key="k").builtin_providers()}
    assert configured["serper"].needs_setup == "" and configured["images"].needs_setup == ""


# ------------------------------------------------------------------------------------------ utilities
def test_calculator_tool(tools, tenant):
    assert run_tool(tools, "calculator", {"expression": "(2 + 3) * 4"}, tenant=tenant).content == "20"
    bad = run_tool(tools, "calculator", {"expression": "__import__('os')"}, tenant=tenant)
    assert bad.is_error and "unknown function '__import__'" in bad.content


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Tokyo", "America/New_York", "UTC"])
def test_current_time_in_a_zone(tools, tenant, zone):
    result = run_tool(tools, "current_time", {"timezone": zone}, tenant=tenant)
    stamp = datetime.fromisoformat(result.content.split(" ")[0])
    now = datetime.now(ZoneInfo(zone))
    assert abs(stamp - now) < timedelta(seconds=5) and stamp.utcoffset() == now.utcoffset()
    assert now.strftime("%A") in result.content and zone in result.content


def test_current_time_default_zone_comes_from_the_setting(tools, tenant):
    result = run_tool(tools, {"provider": "time", "tool": "current_time", "params": {"timezone": "Asia/Tokyo"}}, {},
                      tenant=tenant)
    assert "+09:00" in result.content and "Asia/Tokyo" in result.content
    assert "+00:00" in run_tool(tools, "current_time", {}, tenant=tenant).content


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "Europe"])
def test_unknown_time_zone_is_a_clear_error(tools, tenant, zone):
    result = run_tool(tools, "current_time", {"timezone": zone}, tenant=tenant)
    assert result.is_error and f"Unknown time zone '{zone}'" in result.content


# ------------------------------------------------------------------------------------------ web
def test_http_request_get_and_post(open_tools, tenant, web):
    got = run_tool(open_tools, "http_request", {"url": f"{web.base_url}/echo?q=otters"}, tenant=tenant)
    assert not got.is_error and got.content.startswith("HTTP 200 (application/json)")
    assert json.loads(got.content.split("\n\n", 1)[1])["query"] == {"q": ["otters"]}

    posted = run_tool(open_tools, "http_request",
                      {"url": f"{web.base_url}/echo", "method": "post", "body": '{"a": 1}',
                       "headers": {"X-Trace": "t-1"}}, tenant=tenant)
    assert not posted.is_error
    seen = web.last()
    assert seen.method == "POST" and seen.json() == {"a": 1}
    assert seen.headers["content-type"] == "application/json" and seen.headers["x-trace"] == "t-1"

    run_tool(open_tools, "http_request", {"url": f"{web.base_url}/echo", "method": "POST", "body": "plain words",
                                          "headers": '{"X-Trace": "t-2"}'}, tenant=tenant)
    assert web.last().body == b"plain words" and web.last().headers["content-type"].startswith("text/plain")
    assert web.last().headers["x-trace"] == "t-2"


def test_http_request_errors_limits_and_redirects(open_tools, tenant, web):
    missing = run_tool(open_tools, "http_request", {"url": f"{web.base_url}/missing"}, tenant=tenant)
    assert missing.is_error and missing.content.startswith("HTTP 404") and "no user with that id" in missing.content

    ref = {"provider": "http", "tool": "http_request", "params": {"max_bytes": 2048}}
    big = run_tool(open_tools, ref, {"url": f"{web.base_url}/big"}, tenant=tenant)
    assert not big.is_error and "cut at the size limit" in big.content
    assert big.content.split("\n\n")[1] == "x" * 2048

    picture = run_tool(open_tools, "http_request", {"url": f"{web.base_url}/picture.png"}, tenant=tenant)
    assert "bytes of image/png, not shown" in picture.content

    redirected = run_tool(open_tools, "http_request", {"url": f"{web.base_url}/redirect"}, tenant=tenant)
    assert json.loads(redirected.content.split("\n\n", 1)[1])["query"] == {"from": ["redirect"]}

    for args, message in (({"url": f"{web.base_url}/echo", "method": "DELETE"}, "method must be GET or POST"),
                          ({"url": f"{web.base_url}/echo", "headers": "[1]"}, "headers must be a JSON object"),
                          ({"url": "ftp://example.com/x"}, "Not an http(s) URL"),
                          ({"url": "http://[not-an-ip]/x"}, "Not a valid URL"),
                          ({}, "missing required argument 'url'")):
        result = run_tool(open_tools, "http_request", args, tenant=tenant)
        assert result.is_error and message in result.content


def test_web_reader_returns_readable_text(open_tools, tenant, web):
    result = run_tool(open_tools, "web_reader", {"url": f"{web.base_url}/page.html"}, tenant=tenant)
    assert not result.is_error
    assert "# Otters" in result.content and "Sea otters hold hands" in result.content
    assert "- They use rocks as tools." in result.content
    assert "var hidden" not in result.content and "Menu" not in result.content
    too_big = run_tool(open_tools, {"provider": "http", "tool": "web_reader", "params": {"max_bytes": 2048}},
                       {"url": f"{web.base_url}/big"}, tenant=tenant)
    assert too_big.is_error and "larger than" in too_big.content
    malformed = run_tool(open_tools, "web_reader", {"url": "http://[not-an-ip]/x"}, tenant=tenant)
    assert malformed.is_error and "Not a valid URL" in malformed.content


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "localhost", "[::1]"])
@pytest.mark.parametrize("tool", ["http_request", "web_reader"])
def test_private_addresses_are_refused_by_default(tools, tenant, web, host, tool):
    port = web.base_url.rsplit(":", 1)[1]
    result = run_tool(tools, tool, {"url": f"http://{host}:{port}/echo"}, tenant=tenant, timeout=5)
    assert result.is_error and "private or local address" in result.content
    assert "ALMANAC_ALLOW_PRIVATE_URLS" in result.content
    assert web.requests == []  # refused before connecting


# ------------------------------------------------------------------------------------------ knowledge
def test_kb_search_returns_passages_from_the_agents_knowledge_bases(svc, tools, tenant):
    kb = svc.knowledge.create(tenant, "Nature")
    ingest(svc, tenant, kb.id, DOCS)
    result = run_tool(tools, "kb_search", {"query": "why do otters hold hands"}, tenant=tenant, kb_ids=[kb.id])
    assert not result.is_error and result.references
    top = result.references[0]
    assert top["document_name"] == "otters.txt" and "hold hands" in top["content"]
    assert set(top) >= {"chunk_id", "doc_id", "kb_id", "score"}
    assert any(q.source == "agent" for q in svc.retrieval.recent_queries(tenant, kb.id))

    strict = {"provider": "knowledge", "tool": "kb_search", "params": {"top_n": 1, "similarity_threshold": 0.99}}
    nothing = run_tool(tools, strict, {"query": "quantum chromodynamics"}, tenant=tenant, kb_ids=[kb.id])
    assert not nothing.is_error and nothing.content == NO_PASSAGES and nothing.references == []


def test_kb_search_without_knowledge_bases_or_with_anothers(svc, tools, tenant):
    result = run_tool(tools, "kb_search", {"query": "otters"}, tenant=tenant)
    assert result.is_error and "no knowledge bases" in result.content
    other = svc.tenants.create_tenant("Other")
    kb = svc.knowledge.create(tenant, "Mine")
    theirs = run_tool(tools, "kb_search", {"query": "otters"}, tenant=other, kb_ids=[kb.id])
    assert theirs.is_error and "not found" in theirs.content


# ------------------------------------------------------------------------------------------ search and images
def test_web_search_and_image_generation_without_keys_say_what_to_set(tools, tenant):
    search = run_tool(tools, "web_search", {"query": "otters"}, tenant=tenant)
    assert search.is_error and search.content == SERPER_NOT_CONFIGURED
    image = run_tool(tools, "image_generation", {"prompt": "an otter"}, tenant=tenant)
    assert image.is_error and image.content == IMAGES_NOT_CONFIGURED


def test_web_search_through_a_serper_compatible_endpoint(svc, tenant, web):
    web.routes["/search"] = lambda _h, _s: (200, "application/json", json.dumps({
        "answerBox": {"answer": "About 90,000"},
        "organic": [{"title": f"Otter fact {i}", "link": f"https://example.org/{i}", "snippet": f"Snippet {i}"}
                    for i in range(1, 9)]}).encode(), {})
    service = service_with(svc, serper_api_key="serper-key-1", serper_url=f"{web.base_url}/search")
    ref = {"provider": "serper", "tool": "web_search", "params": {"max_results": 3}}
    result = run_tool(service, ref, {"query": "how many sea otters"}, tenant=tenant)
    assert not result.is_error
    assert result.content.startswith("Answer: About 90,000")
    assert "3. Otter fact 3 — https://example.org/3" in result.content and "Otter fact 4" not in result.content
    seen = web.last()
    assert seen.headers["x-api-key"] == "serper-key-1" and seen.json() == {"q": "how many sea otters", "num": 3}

    web.routes["/search"] = lambda _h, _s: (403, "application/json", b'{"message": "Unauthorized."}', {})
    refused = run_tool(service, "web_search", {"query": "x"}, tenant=tenant)
    assert refused.is_error and "HTTP 403" in refused.content and "Unauthorized" in refused.content


def test_image_generation_through_an_openai_compatible_api(svc, tenant, web):
    def images(_h, seen):
        if seen.headers.get("authorization") != "Bearer img-key-123456789":
            return 401, "application/json", b'{"error": {"message": "bad key img-key-123456789"}}', {}
        return 200, "application/json", json.dumps({"created": 1, "data": [
            {"url": "https://images.example/otter.png", "revised_prompt": "A sea otter floating"}]}).encode(), {}

    web.routes["/v1/images/generations"] = images
    service = service_with(svc, images_api_key="img-key-123456789", images_base_url=f"{web.base_url}/v1")
    ref = {"provider": "images", "tool": "image_generation", "params": {"size": "1792x1024", "style": "natural"}}
    result = run_tool(service, ref, {"prompt": "an otter"}, tenant=tenant)
    assert not result.is_error
    assert "](https://images.example/otter.png)" in result.content and "A sea otter floating" in result.content
    assert web.last().json() == {"model": "dall-e-3", "prompt": "an otter", "size": "1792x1024", "n": 1,
                                 "response_format": "url", "style": "natural"}

    wrong = service_with(svc, images_api_key="img-key-999999999", images_base_url=f"{web.base_url}/v1")
    failed = run_tool(wrong, "image_generation", {"prompt": "an otter"}, tenant=tenant)
    assert failed.is_error and "HTTP 401" in failed.content and "img-key-999999999" not in failed.content


def test_a_workspace_sets_up_web_search_itself_with_a_sealed_key(svc, tenant, web):
    """The Tools page's form: the tenant's own key and endpoint over the server's (empty) settings, sealed at rest,
    shown masked, for this tenant only."""
    from sqlalchemy import select

    from core.errors import InvalidInput
    from storage.orm import ToolProvider

    web.routes["/search"] = lambda _h, _s: (200, "application/json", json.dumps({
        "organic": [{"title": "Otters", "link": "https://example.org/o", "snippet": "Sea otters"}]}).encode(), {})
    tools = svc.tools
    assert tools.builtin_settings(tenant, "serper") == {"api_key": "", "url": ""}
    info = tools.configure_builtin(tenant, "serper", {"api_key": "serper-key-123456", "url": f"{web.base_url}/search"})
    assert info.needs_setup == "" and {p.id: p.needs_setup for p in tools.builtin_providers(tenant)}["serper"] == ""
    assert tools.builtin_settings(tenant, "serper") == {"api_key": "serp…3456", "url": f"{web.base_url}/search"}
    with svc.db.session() as s:
        stored = s.scalars(select(ToolProvider.config).where(ToolProvider.kind == "builtin")).one()
    assert "serper-key-123456" not in json.dumps(stored)  # sealed
    assert tools.list_providers(tenant).total == 0  # not a custom provider

    tools.configure_builtin(tenant, "serper", {"api_key": "serp…3456"})  # the masked value keeps the key
    result = run_tool(tools, "web_search", {"query": "otters"}, tenant=tenant)
    assert not result.is_error and "Otters" in result.content
    assert web.last().headers["x-api-key"] == "serper-key-123456"
    other = svc.tenants.create_tenant("Other")
    assert run_tool(tools, "web_search", {"query": "otters"}, tenant=other).content == SERPER_NOT_CONFIGURED

    tools.configure_builtin(tenant, "serper", {}, clear_api_key=True)
    assert run_tool(tools, "web_search", {"query": "otters"}, tenant=tenant).content == SERPER_NOT_CONFIGURED
    with pytest.raises(InvalidInput, match="http"):
        tools.configure_builtin(tenant, "images", {"base_url": "ftp://x"})
    with pytest.raises(NotFound):
        tools.configure_builtin(tenant, "calculator", {"api_key": "x"})
