"""API tool providers: CRUD with unique names, masked secrets, tenant isolation, and tools that really run."""

from __future__ import annotations

import json

import pytest

from core.errors import Conflict, InvalidInput, NotFound
from core.tools import ToolContext
from tests.core.tools.conftest import run_tool
from tests.core.tools.test_openapi import simple_schema

TOKEN = "Bearer sk-1234567890abcdef"
HEADERS = [{"key": "Authorization", "value": TOKEN}, {"key": "X-Client", "value": "almanac-tests"}]


def schema_text(server: str = "https://dict.example.com", **overrides) -> str:
    return json.dumps(simple_schema(server, **overrides))


def test_create_get_and_list_an_api_provider(tools, tenant):
    created = tools.create_api_provider(tenant, "Dictionary", "https://cdn.example/dict.png", schema_text(), HEADERS)
    assert created.kind == "api" and created.name == "Dictionary" and created.icon == "https://cdn.example/dict.png"
    assert created.description == "An English dictionary" and created.created_at is not None
    assert [t.name for t in created.tools] == ["YoudaoSuggest", "AddNote"]
    assert created.config == {"openapi_schema": schema_text()}
    assert tools.get_provider(tenant, created.id) == created
    provider, tool = tools.get_provider_tool(tenant, created.id, "YoudaoSuggest")
    assert provider.id == created.id and [i.name for i in tool.inputs] == ["q", "doctype"]
    with pytest.raises(NotFound, match="Tool 'Nope' not found"):
        tools.get_provider_tool(tenant, created.id, "Nope")
    page = tools.list_providers(tenant)
    assert page.total == 1 and page.items[0].id == created.id


def test_secret_headers_are_masked_and_survive_an_update_round_trip(tools, tenant, open_tools, web):
    created = tools.create_api_provider(tenant, "Dictionary", "", schema_text(web.base_url), HEADERS)
    shown = {h["key"]: h["value"] for h in created.headers}
    assert shown == {"Authorization": "Bearer sk-1…cdef", "X-Client": "almanac-tests"}
    assert TOKEN not in created.model_dump_json()
    blank_row = tools.create_api_provider(tenant, "Blank row", "", schema_text(), [{"key": "", "value": ""}])
    assert blank_row.headers == []
    # The UI sends back what it was shown: the stored secret is kept.
    tools.update_api_provider(tenant, created.id, headers=created.headers + [{"key": "X-Api-Key", "value": "short"}])
    again = tools.get_provider(tenant, created.id)
    assert {h["key"]: h["value"] for h in again.headers} == {
        "Authorization": "Bearer sk-1…cdef", "X-Client": "almanac-tests", "X-Api-Key": "…"}
    run_tool(open_tools, f"{created.id}/YoudaoSuggest", {"q": "otter"}, tenant=tenant)
    sent = web.last().headers
    assert sent["authorization"] == TOKEN and sent["x-api-key"] == "short" and sent["x-client"] == "almanac-tests"
    # A new value replaces it.
    new_headers = [{"key": "Authorization", "value": "Bearer new-token-000000"}]
    tools.update_api_provider(tenant, created.id, headers=new_headers)
    run_tool(open_tools, f"{created.id}/YoudaoSuggest", {"q": "otter"}, tenant=tenant)
    assert web.last().headers["authorization"] == "Bearer new-token-000000" and "x-client" not in web.last().headers


def test_names_are_unique_per_tenant_case_insensitively_and_at_most_30_chars(svc, tools, tenant):
    first = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])
    with pytest.raises(Conflict, match="already exists"):
        tools.create_api_provider(tenant, "  dictionary ", "", schema_text(), [])
    for bad in ("", "   ", "x" * 31, None):
        with pytest.raises(InvalidInput, match="provider name"):
            tools.create_api_provider(tenant, bad, "", schema_text(), [])
    assert tools.create_api_provider(tenant, "x" * 30, "", schema_text(), []).name == "x" * 30
    other = svc.tenants.create_tenant("Other")
    assert tools.create_api_provider(other, "Dictionary", "", schema_text(), []).name == "Dictionary"
    second = tools.create_api_provider(tenant, "Thesaurus", "", schema_text(), [])
    with pytest.raises(Conflict):
        tools.update_api_provider(tenant, second.id, name="DICTIONARY")
    assert tools.update_api_provider(tenant, first.id, name="dictionary").name == "dictionary"  # itself is fine
    assert tools.list_providers(tenant).total == 3


def test_bad_input_changes_nothing(tools, tenant):
    created = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), HEADERS)
    for kwargs, message in (({"openapi_schema": "{}"}, "server: the API's base URL is missing"),
                            ({"headers": [{"key": "Bad Header", "value": "x"}]}, "not a valid HTTP header name"),
                            ({"headers": [{"key": "A", "value": "1"}, {"key": "a", "value": "2"}]}, "given twice"),
                            ({"headers": [{"key": "A", "value": "x\r\nInjected: 1"}]}, "one line of text"),
                            ({"headers": "Authorization: x"}, "list of {key, value}"),
                            ({"name": "y" * 31}, "at most 30")):
        with pytest.raises(InvalidInput, match=message):
            tools.update_api_provider(tenant, created.id, **kwargs)
    assert tools.get_provider(tenant, created.id) == created
    with pytest.raises(InvalidInput, match="operationId"):
        tools.create_api_provider(tenant, "Broken", "", schema_text(paths={"/a": {"get": {}}}), [])
    assert tools.list_providers(tenant).total == 1


def test_update_replaces_the_tools(tools, tenant):
    created = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])
    new_paths = {"/define": {"get": {"description": "Define a word", "operationId": "Define", "parameters": [
        {"name": "word", "in": "query", "description": "", "required": True, "type": "str"}]}}}
    updated = tools.update_api_provider(tenant, created.id, openapi_schema=schema_text(paths=new_paths,
                                                                                       description="Definitions"))
    assert [t.name for t in updated.tools] == ["Define"] and updated.description == "Definitions"
    assert updated.name == "Dictionary"  # untouched fields stay
    with pytest.raises(NotFound):
        tools.get_provider_tool(tenant, created.id, "YoudaoSuggest")


def test_list_search_paging_and_kind(tools, tenant):
    for name in ("Weather", "Maps", "Weather alerts"):
        tools.create_api_provider(tenant, name, "", schema_text(), [])
    found = tools.list_providers(tenant, search_word="weather")
    assert found.total == 2 and {p.name for p in found.items} == {"Weather", "Weather alerts"}
    assert tools.list_providers(tenant, search_word="100%").total == 0
    page = tools.list_providers(tenant, page=2, page_size=2)
    assert page.total == 3 and len(page.items) == 1 and page.page == 2
    assert tools.list_providers(tenant, kind="mcp").total == 0
    assert tools.list_providers(tenant, kind="api").total == 3
    with pytest.raises(InvalidInput, match="kind"):
        tools.list_providers(tenant, kind="builtin")
    with pytest.raises(InvalidInput):
        tools.list_providers(tenant, page=0)


def test_tenants_never_see_each_others_providers(svc, tools, tenant):
    other = svc.tenants.create_tenant("Other")
    mine = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), HEADERS)
    for call in (lambda: tools.get_provider(other, mine.id),
                 lambda: tools.get_provider_tool(other, mine.id, "YoudaoSuggest"),
                 lambda: tools.update_api_provider(other, mine.id, name="Stolen"),
                 lambda: tools.delete_provider(other, mine.id),
                 lambda: tools.refresh_mcp_server(other, mine.id)):
        with pytest.raises(NotFound):
            call()
    assert tools.list_providers(other).total == 0
    with pytest.raises(InvalidInput, match=f"Unknown tool provider '{mine.id}'"):
        tools.check_refs(other, [{"type": "api", "provider": mine.id, "tool": "YoudaoSuggest"}])
    assert tools.bind([{"type": "api", "provider": mine.id, "tool": "YoudaoSuggest"}],
                      ToolContext(tenant_id=other)) == []
    assert tools.get_provider(tenant, mine.id).name == "Dictionary"


def test_delete(tools, tenant):
    created = tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])
    tools.delete_provider(tenant, created.id)
    with pytest.raises(NotFound):
        tools.get_provider(tenant, created.id)
    with pytest.raises(NotFound):
        tools.delete_provider(tenant, created.id)
    # The name is free again.
    tools.create_api_provider(tenant, "Dictionary", "", schema_text(), [])


def test_validate_openapi_schema_lists_the_tools(tools):
    infos = tools.validate_openapi_schema(schema_text())
    assert [t.name for t in infos] == ["YoudaoSuggest", "AddNote"]
    with pytest.raises(InvalidInput, match="operationId"):
        tools.validate_openapi_schema(schema_text(paths={"/a": {"get": {}}}))
