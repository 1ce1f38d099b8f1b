"""Tools page: API tools from an OpenAPI schema (validate, precise errors, headers with masked secrets, edit,
delete), MCP servers against the real test server (stdio), connection errors, refresh, and the built-in catalogue."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import select

from core.tools import registry
from storage.orm import ToolProvider
from tests.ui.conftest import open_page

PAGE = "pages/tools.py"
MCP_SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_server.py"
SCHEMA = json.dumps({
    "openapi": "3.0.0", "info": {"title": "Weather", "version": "1"},
    "servers": [{"url": "https://weather.example.com"}],
    "paths": {"/weather": {"get": {"operationId": "get_weather", "description": "Current weather of a city",
                                   "parameters": [{"name": "city", "in": "query", "required": True,
                                                   "schema": {"type": "string"}}]}},
              "/forecast": {"get": {"operationId": "get_forecast", "description": "Forecast for the next days",
                                    "parameters": [{"name": "days", "in": "query",
                                                    "schema": {"type": "integer"}}]}}},
}, indent=2)
NEW = "tfa_new"


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def text(at) -> str:
    parts = [m.value for m in at.markdown] + [str(c.value) for c in at.caption]
    parts += [x.value for x in [*at.info, *at.warning, *at.success, *at.error]]
    return "\n".join(parts)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def open_api_form():
    at = open_page(PAGE)
    return ok(at.button(key="tools_new_api").click().run())


def stored_headers(ui, provider_id: str) -> list[dict]:
    """The saved headers, unsealed (they are stored encrypted)."""
    with ui.db.session() as s:
        row = s.scalars(select(ToolProvider).where(ToolProvider.id == provider_id)).one()
        return [{"key": k, "value": v} for k, v in registry.stored_headers(row, ui.tools.sealer).items()]


def test_empty_tabs_guide_the_user(ui):
    at = open_page(PAGE)
    assert "No API tools yet" in text(at) and "No MCP servers yet" in text(at)
    assert "Calculator" in text(at) and "Google Search" in text(at)  # the built-in catalogue
    assert "ALMANAC_SERPER_API_KEY" in " ".join(w.value for w in at.warning)


def test_bad_schema_shows_the_precise_error_and_creates_nothing(ui, tenant):
    at = open_api_form()
    at.text_input(key=f"{NEW}_name").input("Weather")
    ok(at.button(key=f"{NEW}_validate").click().run())
    assert "Paste the OpenAPI schema first" in errors(at)
    at.text_area(key=f"{NEW}_schema").input('{"openapi": "3.0.0", "paths": ')
    ok(at.button(key=f"{NEW}_validate").click().run())
    first = errors(at)
    assert first and "Traceback" not in first
    # the service's own message, word for word
    from core.errors import InvalidInput
    try:
        ui.tools.validate_openapi_schema('{"openapi": "3.0.0", "paths": ')
    except InvalidInput as exc:
        assert exc.message in first
    ok(at.button(key=f"{NEW}_save").click().run())
    assert errors(at) == first and ui.tools.list_providers(tenant, kind="api").total == 0


def test_validate_then_create_with_headers(ui, tenant):
    at = open_api_form()
    at.text_input(key=f"{NEW}_name").input("Weather")
    at.text_input(key=f"{NEW}_icon").input("https://weather.example.com/icon.png")
    at.text_area(key=f"{NEW}_schema").input(SCHEMA)
    ok(at.button(key=f"{NEW}_validate").click().run())
    assert "The schema is valid: 2 tools" in text(at)
    assert "`get_weather`" in text(at) and "`get_forecast`" in text(at)
    assert "- `city` · string · **required**" in text(at) and "- `days` · integer" in text(at)
    ok(at.button(key=f"{NEW}_headers_add").click().run())
    ok(at.button(key=f"{NEW}_headers_add").click().run())
    at.text_input(key=f"{NEW}_headers_k0").input("X-Api-Key")
    at.text_input(key=f"{NEW}_headers_v0").input("sk-secret-123456789")
    at.text_input(key=f"{NEW}_headers_k1").input("X-Drop-Me")
    ok(at.run())
    ok(at.button(key=f"{NEW}_headers_x1").click().run())
    assert not [x for x in at.text_input if x.key == f"{NEW}_headers_k1"]
    ok(at.button(key=f"{NEW}_save").click().run())
    assert not at.error, errors(at)
    [p] = ui.tools.list_providers(tenant, kind="api").items
    assert (p.name, p.icon, [x.name for x in p.tools]) == ("Weather", "https://weather.example.com/icon.png",
                                                           ["get_weather", "get_forecast"])
    assert stored_headers(ui, p.id) == [{"key": "X-Api-Key", "value": "sk-secret-123456789"}]
    assert "“Weather” saved with 2 tools" in [x.value for x in at.toast]
    assert "**Weather**" in text(at) and "2 tools" in text(at)
    assert not [x for x in at.text_input if x.key == f"{NEW}_name"]  # the form closed


def test_an_example_schema_fills_the_editor_and_can_be_created(ui, tenant):
    at = open_api_form()
    ok(at.button(key=f"{NEW}_example").click().run())
    assert "open-meteo" in at.text_area(key=f"{NEW}_schema").value and at.text_input(key=f"{NEW}_name").value
    ok(at.button(key=f"{NEW}_validate").click().run())
    assert "The schema is valid: 1 tool" in text(at) and "`get_weather`" in text(at)
    ok(at.button(key=f"{NEW}_save").click().run())
    assert not at.error, errors(at)
    [p] = ui.tools.list_providers(tenant, kind="api").items
    assert (p.name, [x.name for x in p.tools]) == ("Weather", ["get_weather"])


def test_edit_keeps_masked_secrets_and_replaces_tools(ui, tenant):
    p = ui.tools.create_api_provider(tenant, "Weather", openapi_schema=SCHEMA,
                                     headers=[{"key": "X-Api-Key", "value": "sk-secret-123456789"}])
    at = open_page(PAGE)
    ok(at.button(key=f"tools_edit_{p.id}").click().run())
    prefix = f"tfa_{p.id}"
    shown = at.text_input(key=f"{prefix}_headers_v0").value
    assert shown != "sk-secret-123456789" and "sk-secret-123456789" not in text(at)
    assert at.text_area(key=f"{prefix}_schema").value == SCHEMA
    smaller = json.loads(SCHEMA)
    del smaller["paths"]["/forecast"]
    at.text_area(key=f"{prefix}_schema").input(json.dumps(smaller))
    at.text_input(key=f"{prefix}_name").input("Weather API")
    ok(at.button(key=f"{prefix}_save").click().run())
    got = ui.tools.get_provider(tenant, p.id)
    assert (got.name, [x.name for x in got.tools]) == ("Weather API", ["get_weather"])
    assert stored_headers(ui, p.id) == [{"key": "X-Api-Key", "value": "sk-secret-123456789"}]


def test_delete_asks_first(ui, tenant):
    p = ui.tools.create_api_provider(tenant, "Weather", openapi_schema=SCHEMA)
    at = open_page(PAGE)
    ok(at.button(key=f"tools_delete_{p.id}").click().run())
    assert "Delete “Weather”?" in text(at) and ui.tools.list_providers(tenant).total == 1
    ok(at.button(key=f"tools_del_cancel_{p.id}").click().run())
    assert "Delete “Weather”?" not in text(at)
    ok(at.button(key=f"tools_delete_{p.id}").click().run())
    ok(at.button(key=f"tools_del_go_{p.id}").click().run())
    assert ui.tools.list_providers(tenant).total == 0 and "No API tools yet" in text(at)


def test_search_filters_providers(ui, tenant):
    ui.tools.create_api_provider(tenant, "Weather", openapi_schema=SCHEMA)
    ui.tools.create_api_provider(tenant, "Dictionary", openapi_schema=SCHEMA)
    at = open_page(PAGE)
    ok(at.text_input(key="tools_search_api").input("dict").run())
    assert "**Dictionary**" in text(at) and "**Weather**" not in text(at)
    ok(at.text_input(key="tools_search_api").input("nothing like it").run())
    assert "Nothing matches this search" in text(at)


def test_mcp_stdio_server_lists_its_tools_then_refresh_and_delete(ui, tenant):
    at = open_page(PAGE)
    ok(at.button(key="tools_new_mcp").click().run())
    at.text_input(key="tfm_new_name").input("Test server")
    at.radio(key="tfm_new_transport").set_value("stdio")
    ok(at.run())
    at.text_input(key="tfm_new_command").input(sys.executable)
    at.text_area(key="tfm_new_args").input(f"{MCP_SERVER}\nstdio")
    at.text_area(key="tfm_new_env").input("no equals sign here")
    ok(at.button(key="tfm_new_save").click().run())
    assert "line 1 (“no equals sign here”) is not in the form name=value" in errors(at)
    assert ui.tools.list_providers(tenant, kind="mcp").total == 0
    at.text_area(key="tfm_new_env").input("GREETING=hello")
    ok(at.button(key="tfm_new_save").click().run())
    assert not at.error, errors(at)
    [p] = ui.tools.list_providers(tenant, kind="mcp").items
    assert {"add", "echo", "fail"} <= {x.name for x in p.tools} and p.config["args"] == [str(MCP_SERVER), "stdio"]
    assert "Connected" in text(at) and "Add numbers" in text(at)
    ok(at.button(key=f"tools_refresh_{p.id}").click().run())
    assert any("refreshed" in x.value for x in at.toast)
    ok(at.button(key=f"tools_delete_{p.id}").click().run())
    ok(at.button(key=f"tools_del_go_{p.id}").click().run())
    assert ui.tools.list_providers(tenant, kind="mcp").total == 0


def test_mcp_connection_error_is_shown_and_nothing_saved(ui, tenant):
    at = open_page(PAGE)
    ok(at.button(key="tools_new_mcp").click().run())
    at.text_input(key="tfm_new_name").input("Broken")
    at.text_input(key="tfm_new_url").input("ftp://nowhere")
    ok(at.button(key="tfm_new_save").click().run())
    assert "http:// or https:// URL" in errors(at)
    at.radio(key="tfm_new_transport").set_value("stdio")
    ok(at.run())
    at.text_input(key="tfm_new_command").input(sys.executable)
    at.text_area(key="tfm_new_args").input("-c\nimport sys; sys.exit(3)")
    ok(at.button(key="tfm_new_save").click().run())
    assert errors(at) and "Traceback" not in errors(at)
    assert ui.tools.list_providers(tenant, kind="mcp").total == 0


def test_chinese_labels(ui):
    at = open_page(PAGE, lang="zh")
    assert at.title[0].value.endswith("工具") and "还没有 API 工具" in text(at)


def test_web_search_is_set_up_on_the_tools_page(ui, tenant):
    at = open_page(PAGE)
    assert "Needs an API key" in " ".join(w.value for w in at.warning)
    at.text_input(key="tfb_serper_api_key_0").input("serper-key-123456")
    at.text_input(key="tfb_serper_url_0").input("https://search.example.com/search")
    save = next(b for b in at.button if b.label == "Save" and "tfb_serper" in str(b.proto.id))
    ok(save.click().run())
    assert ui.tools.builtin_settings(tenant, "serper") == {"api_key": "serp…3456",
                                                           "url": "https://search.example.com/search"}
    assert "“Google Search” settings saved" in [x.value for x in at.toast]
    assert at.text_input(key="tfb_serper_api_key_1").value == "serp…3456"  # shown masked, never in full
    assert {p.id: p.needs_setup for p in ui.tools.builtin_providers(tenant)}["serper"] == ""
