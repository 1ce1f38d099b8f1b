"""Forms of the Tools page: an OpenAPI tool provider (schema, headers, Validate) and an MCP server.

Plain widgets rather than st.form: the headers editor adds and removes rows, Validate shows what the
schema defines, and the MCP form swaps fields with the transport.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core.tools.base import ProviderInfo, ToolInfo
from pages.components.common import attempt, flash, services, tenant
from pages.components.i18n import t

TRANSPORTS = ("http", "stdio")
MAX_NAME = 30  # what ToolService accepts
EXAMPLE_SCHEMA = Path(__file__).resolve().parents[2] / "assets" / "tools" / "example-openapi.json"
SCHEMA_PLACEHOLDER = '{"openapi": "3.0.0", "info": {...}, "servers": [{"url": "https://…"}], "paths": {...}}'


def tool_list(tools: list[ToolInfo]) -> None:
    """Each tool with what the model fills in."""
    for tool in tools:
        st.markdown(f"**{tool.label or tool.name}** `{tool.name}`")
        if tool.description:
            st.caption(tool.description)
        if tool.inputs:
            rows = [f"- `{i.name}` · {i.type}" + (f" · **{t('tools.required')}**" if i.required else "")
                    + (f" — {i.description}" if i.description else "") for i in tool.inputs]
            st.markdown("\n".join(rows))
        else:
            st.caption(t("tools.no_inputs"))


# --- headers editor ----------------------------------------------------------------------------------------------


def _add_row(prefix: str) -> None:
    rows = st.session_state[f"{prefix}_rows"]
    rows.append(max(rows, default=-1) + 1)


def _remove_row(prefix: str, row: int) -> None:
    st.session_state[f"{prefix}_rows"].remove(row)


def headers_editor(prefix: str, initial: list[dict[str, str]]) -> list[dict[str, str]]:
    """Key / value rows with add and remove; returns the rows that have a key."""
    if f"{prefix}_rows" not in st.session_state:
        st.session_state[f"{prefix}_rows"] = list(range(len(initial)))
    st.markdown(f"**{t('tools.api.headers')}**")
    st.caption(t("tools.api.headers_help"))
    headers = []
    for row in st.session_state[f"{prefix}_rows"]:
        first = initial[row] if row < len(initial) else {"key": "", "value": ""}
        c1, c2, c3 = st.columns([2, 3, 1], vertical_alignment="bottom")
        name = c1.text_input(t("tools.api.header_key"), value=first.get("key", ""), key=f"{prefix}_k{row}",
                             placeholder="Authorization")
        value = c2.text_input(t("tools.api.header_value"), value=first.get("value", ""), key=f"{prefix}_v{row}",
                              placeholder="Bearer …")
        c3.button("", icon=":material/close:", key=f"{prefix}_x{row}", help=t("tools.api.header_remove"),
                  on_click=_remove_row, args=(prefix, row))
        if name.strip():
            headers.append({"key": name.strip(), "value": value})
    st.button(t("tools.api.header_add"), icon=":material/add:", key=f"{prefix}_add", type="tertiary",
              on_click=_add_row, args=(prefix,))
    return headers


def reset_form(prefix: str) -> None:
    for k in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[k]


# --- API provider ------------------------------------------------------------------------------------------------


def show_validation(schema: str) -> None:
    """The tools the schema defines, or the service's precise reason it is not usable."""
    if not schema.strip():
        st.error(t("tools.api.schema_empty"), icon="⚠️")
        return
    tools = attempt(lambda: services().tools.validate_openapi_schema(schema))
    if tools is None:
        return
    if not tools:
        st.warning(t("tools.api.no_tools_found"), icon="🔎")
        return
    with st.container(border=True):
        st.success(t("tools.api.valid", n=len(tools)), icon="✅")
        tool_list(tools)


def fill_example(prefix: str) -> None:
    """Put a working example in the editor (replacing what was typed), with a name if none was given yet."""
    st.session_state[f"{prefix}_schema"] = EXAMPLE_SCHEMA.read_text(encoding="utf-8")
    if not st.session_state.get(f"{prefix}_name", "").strip():
        st.session_state[f"{prefix}_name"] = "Weather"


def api_form(p: ProviderInfo | None, on_close: Callable[[], None]) -> ProviderInfo | None:
    """Create (p None) or edit an OpenAPI provider; returns it once saved."""
    prefix = f"tfa_{p.id if p else 'new'}"
    with st.container(border=True):
        st.markdown(f"**{t('tools.api.edit_title', name=p.name) if p else t('tools.api.create_title')}**")
        c1, c2 = st.columns([3, 2])
        name = c1.text_input(t("tools.api.name"), value=p.name if p else "", max_chars=MAX_NAME, key=f"{prefix}_name")
        icon = c2.text_input(t("tools.api.icon"), value=p.icon if p else "", key=f"{prefix}_icon",
                             placeholder="https://example.com/icon.png", help=t("tools.api.icon_help"))
        st.session_state.setdefault(f"{prefix}_schema", p.config.get("openapi_schema", "") if p else "")
        schema = st.text_area(t("tools.api.schema"), height=260, key=f"{prefix}_schema",
                              placeholder=SCHEMA_PLACEHOLDER, help=t("tools.api.schema_help"))
        st.button(t("tools.api.example"), icon=":material/lightbulb:", key=f"{prefix}_example", type="tertiary",
                  help=t("tools.api.example_help"), on_click=fill_example, args=(prefix,))
        headers = headers_editor(f"{prefix}_headers", p.headers if p else [])
        with st.container(horizontal=True, gap="small"):
            validate = st.button(t("tools.api.validate"), icon=":material/fact_check:", key=f"{prefix}_validate")
            submit = st.button(t("common.save") if p else t("tools.api.create"), type="primary",
                               icon=":material/save:", key=f"{prefix}_save")
            st.button(t("common.cancel"), key=f"{prefix}_cancel", on_click=on_close)
        if validate:
            show_validation(schema)
        if not submit:
            return None
        if not name.strip():
            st.error(t("tools.err.name_empty"), icon="⚠️")
            return None
        fields = {"name": name.strip(), "icon": icon.strip(), "openapi_schema": schema, "headers": headers}
        tools = services().tools
        saved = attempt(lambda: tools.update_api_provider(tenant(), p.id, **fields) if p
                        else tools.create_api_provider(tenant(), **fields))
        if saved:
            reset_form(prefix)
        return saved


# --- MCP server --------------------------------------------------------------------------------------------------


def parse_pairs(text: str, sep: str, what: str) -> tuple[dict[str, str], str]:
    """`KEY=VALUE` (or `Name: value`) lines as a dict; the error names the first bad line."""
    pairs = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, found, value = line.partition(sep)
        if not found or not name.strip():
            return {}, t("tools.mcp.bad_line", what=what, line=n, sep=sep, text=line.strip()[:60])
        pairs[name.strip()] = value.strip()
    return pairs, ""


def pairs_text(pairs: dict[str, str], sep: str) -> str:
    return "\n".join(f"{k}{sep}{' ' if sep == ':' else ''}{v}" for k, v in (pairs or {}).items())


def mcp_form(p: ProviderInfo | None, on_close: Callable[[], None]) -> ProviderInfo | None:
    """Add (p None) or edit an MCP server; saving connects and lists its tools."""
    prefix = f"tfm_{p.id if p else 'new'}"
    cfg = p.config if p else {}
    with st.container(border=True):
        st.markdown(f"**{t('tools.mcp.edit_title', name=p.name) if p else t('tools.mcp.create_title')}**")
        c1, c2 = st.columns([2, 3])
        name = c1.text_input(t("tools.mcp.name"), value=p.name if p else "", max_chars=MAX_NAME, key=f"{prefix}_name")
        description = c2.text_input(t("tools.mcp.description"), value=p.description if p else "",
                                    key=f"{prefix}_description")
        transport = st.radio(t("tools.mcp.transport"), TRANSPORTS, horizontal=True, key=f"{prefix}_transport",
                             index=TRANSPORTS.index(cfg.get("transport", "http")),
                             format_func=lambda x: t("tools.mcp.transport." + x))
        fields: dict = {"transport": transport}
        if transport == "http":
            fields["url"] = st.text_input(t("tools.mcp.url"), value=cfg.get("url", ""), key=f"{prefix}_url",
                                          placeholder="http://127.0.0.1:8000/mcp")
            stored = {h["key"]: h["value"] for h in (p.headers if p else [])}  # secret values come masked
            headers_text = st.text_area(t("tools.mcp.headers"), value=pairs_text(stored, ":"),
                                        height=68, key=f"{prefix}_headers", placeholder="Authorization: Bearer …",
                                        help=t("tools.mcp.headers_help"))
            fields["headers"], error = parse_pairs(headers_text, ":", t("tools.mcp.headers"))
        else:
            fields["command"] = st.text_input(t("tools.mcp.command"), value=cfg.get("command", ""),
                                              key=f"{prefix}_command", placeholder="npx",
                                              help=t("tools.mcp.command_help"))
            args = st.text_area(t("tools.mcp.args"), value="\n".join(cfg.get("args", [])), height=90,
                                key=f"{prefix}_args", placeholder="-y\n@modelcontextprotocol/server-everything",
                                help=t("tools.mcp.args_help"))
            fields["args"] = [a.strip() for a in args.splitlines() if a.strip()]
            env_text = st.text_area(t("tools.mcp.env"), value=pairs_text(cfg.get("env", {}), "="), height=68,
                                    key=f"{prefix}_env", placeholder="API_KEY=…", help=t("tools.mcp.env_help"))
            fields["env"], error = parse_pairs(env_text, "=", t("tools.mcp.env"))
        with st.container(horizontal=True, gap="small"):
            submit = st.button(t("common.save") if p else t("tools.mcp.create"), type="primary",
                               icon=":material/power:", key=f"{prefix}_save", help=t("tools.mcp.save_help"))
            st.button(t("common.cancel"), key=f"{prefix}_cancel", on_click=on_close)
        if not submit:
            return None
        if not name.strip():
            st.error(t("tools.err.name_empty"), icon="⚠️")
            return None
        if error:
            st.error(error, icon="⚠️")
            return None
        tools = services().tools
        with st.spinner(t("tools.mcp.connecting")):
            saved = attempt(lambda: tools.update_mcp_server(tenant(), p.id, name=name.strip(),
                                                            description=description.strip(), **fields) if p
                            else tools.create_mcp_server(tenant(), name.strip(), description=description.strip(),
                                                         **fields))
        if saved:
            reset_form(prefix)
        return saved


# --- built-in providers that need an account ------------------------------------------------------------------------

SETTING_FIELDS = {"serper": ("api_key", "url"), "images": ("api_key", "base_url", "model")}


def builtin_settings_form(p: ProviderInfo) -> None:
    """This workspace's key (stored sealed, shown masked) and endpoint of web search or image generation, over the
    server's ALMANAC_* settings."""
    fields = SETTING_FIELDS.get(p.id)
    if not fields:
        return
    tools = services().tools
    stored = attempt(lambda: tools.builtin_settings(tenant(), p.id)) or {}
    # A new key per save: a field then shows what is stored (the key masked), not what the browser kept typed.
    version = st.session_state.get(f"tfb_{p.id}_saved", 0)
    with st.expander(f"🔑 {t('tools.builtin.setup')}", expanded=bool(p.needs_setup)), \
            st.form(f"tfb_{p.id}", border=False):
        values = {}
        for field in fields:
            secret = field == "api_key"
            values[field] = st.text_input(t(f"tools.builtin.{field}"), value=stored.get(field, ""),
                                          type="password" if secret else "default", key=f"tfb_{p.id}_{field}_{version}",
                                          help=t(f"tools.builtin.{p.id}.{field}_help"))
        clear = bool(stored.get("api_key")) and st.checkbox(t("tools.builtin.clear_key"),
                                                            key=f"tfb_{p.id}_clear_{version}")
        if st.form_submit_button(t("common.save"), type="primary", icon=":material/save:"):
            saved = attempt(lambda: tools.configure_builtin(tenant(), p.id, values, clear_api_key=clear))
            if saved is not None:
                flash(t("tools.builtin.saved", name=p.label))
                st.session_state[f"tfb_{p.id}_saved"] = version + 1
                st.rerun()
