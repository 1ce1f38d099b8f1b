"""Agents' tool choices: check_refs validates and normalises them, bind makes them callable."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from core.errors import InvalidInput
from core.tools import ToolContext, ToolInfo, ToolInput, ToolRef, ToolResult, refs
from tests.core.tools.test_providers import schema_text


def test_empty_and_convenient_forms(tools, tenant):
    assert tools.check_refs(tenant, None) == [] and tools.check_refs(tenant, []) == []
    checked = tools.check_refs(tenant, ["calculator", "time", "knowledge/kb_search",
                                        {"provider": "images", "tool": "image_generation"}])
    assert checked == [
        ToolRef(type="builtin", provider="calculator", tool="calculator", params={}),
        ToolRef(type="builtin", provider="time", tool="current_time", params={"timezone": "UTC"}),
        ToolRef(type="builtin", provider="knowledge", tool="kb_search",
                params={"top_n": 5, "similarity_threshold": 0.3, "mode": "hybrid"}),
        ToolRef(type="builtin", provider="images", tool="image_generation",
                params={"size": "1024x1024", "style": "vivid"}),
    ]
    assert tools.check_refs(tenant, "web_search") == [ToolRef(provider="serper", tool="web_search",
                                                              params={"max_results": 5})]


def test_params_are_validated_against_the_tool(tools, tenant):
    ok = tools.check_refs(tenant, [{"provider": "knowledge", "tool": "kb_search",
                                    "params": {"top_n": "7", "similarity_threshold": 0.5}}])
    assert ok[0].params == {"top_n": 7, "similarity_threshold": 0.5, "mode": "hybrid"}
    for params, message in (({"top_n": 50}, "Setting 'top_n' of tool 'kb_search' must be between 1 and 20"),
                            ({"top_n": True}, "must be a number"),
                            ({"top_n": "many"}, "must be a number"),
                            ({"similarity_threshold": -0.1}, "between 0 and 1"),
                            ({"rerank": True}, ("Unknown setting 'rerank' for tool 'kb_search' (valid: top_n, "
                                               "similarity_threshold, mode)"))):
        with pytest.raises(InvalidInput) as err:
            tools.check_refs(tenant, [{"provider": "knowledge", "tool": "kb_search", "params": params}])
        assert message in err.value.message
    with pytest.raises(InvalidInput, match="size.*must be one of: 1024x1024, 1792x1024, 1024x1792"):
        tools.check_refs(tenant, [{"provider": "images", "tool": "image_generation", "params": {"size": "9x9"}}])
    with pytest.raises(InvalidInput, match="it has no settings"):
        tools.check_refs(tenant, [{"provider": "calculator", "tool": "calculator", "params": {"x": 1}}])
    with pytest.raises(InvalidInput, match="must be text"):
        tools.check_refs(tenant, [{"provider": "time", "tool": "current_time", "params": {"timezone": ["UTC"]}}])


@pytest.mark.parametrize(("item", "message"), [
    ("teleport", "Unknown tool 'teleport' (built-in tools: kb_search, calculator"),
    ("calculator/nope", "Unknown tool 'nope' in built-in provider 'calculator' (tools: calculator)"),
    ({"type": "builtin", "provider": "nope", "tool": "x"}, "Unknown built-in tool provider 'nope'"),
    ({"type": "api", "provider": "0123456789abcdef", "tool": "x"}, "Unknown tool provider '0123456789abcdef'"),
    ({"provider": "calculator", "tool": "calculator", "colour": "red"}, "tools[0]: colour: Extra inputs"),
    ({"provider": "calculator"}, "tools[0]: tool: Field required"),
    ({"type": "plugin", "provider": "x", "tool": "y"}, "tools[0]: type:"),
    (42, "tools[0]: must be a tool name or an object"),
    ("  ", "tools[0]: empty tool name"),
])
def test_unknown_or_malformed_refs_are_named(tools, tenant, item, message):
    with pytest.raises(InvalidInput) as err:
        tools.check_refs(tenant, [item])
    assert message in err.value.message


def test_not_a_list(tools, tenant):
    with pytest.raises(InvalidInput, match="tools must be a list"):
        tools.check_refs(tenant, 42)


def test_duplicates_collapse_to_the_first(tools, tenant):
    checked = tools.check_refs(tenant, ["calculator", {"provider": "calculator", "tool": "calculator"},
                                        "calculator/calculator", "current_time",
                                        {"provider": "time", "tool": "current_time", "params": {"timezone": "UTC"}}])
    assert [(r.provider, r.tool) for r in checked] == [("calculator", "calculator"), ("time", "current_time")]


def test_custom_providers_by_id_or_name(tools, tenant):
    api = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])
    expected = ToolRef(type="api", provider=api.id, tool="YoudaoSuggest", params={})
    assert tools.check_refs(tenant, ["dictionary/YoudaoSuggest"]) == [expected]
    assert tools.check_refs(tenant, [{"provider": api.id, "tool": "YoudaoSuggest"}]) == [expected]
    assert tools.check_refs(tenant, [{"type": "api", "provider": "Dictionary", "tool": "YoudaoSuggest"}]) == [expected]
    with pytest.raises(InvalidInput, match="Unknown tool 'Nope' in provider 'Dictionary' "
                                           r"\(tools: YoudaoSuggest, AddNote\)"):
        tools.check_refs(tenant, [f"{api.id}/Nope"])
    with pytest.raises(InvalidInput, match="Unknown setting 'x'"):
        tools.check_refs(tenant, [{"provider": api.id, "tool": "YoudaoSuggest", "params": {"x": 1}}])


def test_bind_gives_unique_function_names_and_schemas(tools, tenant):
    first = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])
    second = tools.create_api_provider(tenant, "Dictionary two", "", schema_text(), [])
    checked = tools.check_refs(tenant, ["calculator", f"{first.id}/YoudaoSuggest", f"{second.id}/YoudaoSuggest"])
    bound = tools.bind(checked, ToolContext(tenant_id=tenant))
    assert [b.name for b in bound] == ["calculator", "YoudaoSuggest", "YoudaoSuggest_2"]
    assert [b.provider_label for b in bound] == ["Calculator", "Dictionary", "Dictionary two"]
    assert bound[0].provider == "calculator" and len(bound[1].provider) == 32
    spec = bound[1].openai_spec()
    assert spec["function"]["name"] == "YoudaoSuggest" and spec["function"]["description"] == "Look a word up"
    assert spec["function"]["parameters"] == {
        "type": "object", "required": ["q"],
        "properties": {"q": {"type": "string", "description": "The word"},
                       "doctype": {"type": "string", "description": "json or xml"}}}


def test_bind_skips_tools_that_are_gone(tools, tenant, caplog):
    api = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])
    checked = tools.check_refs(tenant, ["calculator", f"{api.id}/YoudaoSuggest", f"{api.id}/AddNote"])
    tools.update_api_provider(tenant, api.id, openapi_schema=schema_text(paths={"/a": {"get": {
        "operationId": "AddNote"}}}))
    assert [b.name for b in tools.bind(checked, ToolContext(tenant_id=tenant))] == ["calculator", "AddNote"]
    tools.delete_provider(tenant, api.id)
    with caplog.at_level(logging.WARNING, logger="core.tools.binding"):
        bound = tools.bind(checked + [ToolRef(provider="gone", tool="x")], ToolContext(tenant_id=tenant))
    assert [b.name for b in bound] == ["calculator"]
    assert "Unknown tool provider" in caplog.text and "Unknown built-in tool provider 'gone'" in caplog.text


def test_bound_tools_check_arguments_and_never_raise(tools, tenant):
    (calc,) = tools.bind(tools.check_refs(tenant, ["calculator"]), ToolContext(tenant_id=tenant))
    assert calc.run({"expression": "6*7"}) == ToolResult(content="42")
    assert calc.run('{"expression": "6*7"}').content == "42"  # JSON text, as some models send it
    for args, message in (({}, "missing required argument 'expression'"),
                          ({"expression": ""}, "missing required argument 'expression'"),
                          ("{not json", "not valid JSON"),
                          ("[1]", "must be a JSON object"),
                          ({"expression": "1/0"}, "division by zero")):
        result = calc.run(args)
        assert result.is_error and message in result.content


def test_guarded_enforces_the_timeout_and_contains_crashes(monkeypatch):
    monkeypatch.setattr(refs, "TIMEOUT_GRACE", 0.0)
    info = ToolInfo(name="stuck", inputs=[ToolInput(name="x")])
    release = threading.Event()
    stuck = refs.guarded(info, "Stuck tool", lambda args: release.wait(10) and ToolResult(content="late"), 0.05)
    result = stuck({})
    release.set()
    assert result.is_error and result.content == "Stuck tool did not finish within 0.05 s"
    crash = refs.guarded(info, "Crashy", lambda args: 1 / 0, 5)
    assert crash({}) == ToolResult(content="Crashy failed unexpectedly (ZeroDivisionError)", is_error=True)
    odd = refs.guarded(info, "Odd", lambda args: json.dumps(args), 5)
    assert odd({"x": 1}) == ToolResult(content='{"x": 1}')


def test_masking():
    assert refs.mask("Bearer sk-1234567890abcdef") == "Bearer sk-1…cdef"
    assert refs.mask("sk-1234567890abcdef") == "sk-1…cdef"
    assert refs.mask("short") == "…" and refs.mask("Bearer short") == "Bearer …"
    assert refs.masked({"X-API-KEY": "abcdefghijklmnop", "Accept": "text/html"}) == {
        "X-API-KEY": "abcd…mnop", "Accept": "text/html"}
    stored = {"Authorization": "Bearer sk-1234567890abcdef"}
    assert refs.unmask({"authorization": "Bearer sk-1…cdef"}, stored) == {"authorization": stored["Authorization"]}
    assert refs.unmask({"Authorization": "Bearer other"}, stored) == {"Authorization": "Bearer other"}


def test_a_whole_provider_ref_binds_the_tools_the_provider_has_when_the_agent_runs(tools, tenant):
    described = tools.create_api_provider(tenant, "Notes", "", None, [], label="笔记", description="Keeps notes")
    assert described.tools == [] and described.label == "笔记" and described.description == "Keeps notes"
    checked = tools.check_refs(tenant, ["calculator", {"type": "api", "provider": described.id, "tool": "*"}])
    assert checked[1] == ToolRef(type="api", provider=described.id, tool="*", params={})
    assert [b.name for b in tools.bind(checked, ToolContext(tenant_id=tenant))] == ["calculator"]
    tools.update_api_provider(tenant, described.id, openapi_schema=schema_text())  # the tools arrive later
    assert [b.name for b in tools.bind(checked, ToolContext(tenant_id=tenant))] == \
        ["calculator", "YoudaoSuggest", "AddNote"]
    assert tools.get_provider(tenant, described.id).description == "An English dictionary"  # the schema's now
    with pytest.raises(InvalidInput, match="Unknown tool provider"):
        tools.check_refs(tenant, [{"type": "mcp", "provider": described.id, "tool": "*"}])  # not an MCP server
    with pytest.raises(InvalidInput, match="Unknown tool provider"):
        tools.check_refs("someone-else", [{"type": "api", "provider": described.id, "tool": "*"}])
    tools.delete_provider(tenant, described.id)
    assert [b.name for b in tools.bind(checked, ToolContext(tenant_id=tenant))] == ["calculator"]
