"""Tools: the tenant's API tools (OpenAPI providers) and MCP servers, and the built-in catalogue.

Agents pick tools from here (Agents page → Tools). API tools are made from an OpenAPI schema;
MCP servers are reached over streamable HTTP or started as a command (stdio).
"""

from __future__ import annotations

import streamlit as st

from core.tools.base import ProviderInfo
from core.tools.builtin import icon_path
from pages.components.chunk_card import badge
from pages.components.common import attempt, flash, fmt_time, page_header, pager, services, show_flash, tenant
from pages.components.i18n import t
from pages.components.tool_forms import api_form, builtin_settings_form, mcp_form, reset_form, tool_list
from pages.components.tool_picker import CATEGORY_ICONS

PAGE_SIZE = 10
EDITING = "tools_editing"  # "new-api", "new-mcp" or a provider id: the form that is open
DELETING = "tools_deleting"

svc = services()


def open_form(what: str | None) -> None:
    st.session_state[EDITING] = what
    st.session_state.pop(DELETING, None)


def close_form() -> None:
    editing = st.session_state.pop(EDITING, None)
    if editing:
        target = "new" if editing.startswith("new-") else editing
        reset_form(f"tfa_{target}_")
        reset_form(f"tfm_{target}_")


def set_deleting(provider_id: str | None) -> None:
    st.session_state[DELETING] = provider_id


def delete_provider(p: ProviderInfo) -> None:
    if attempt(lambda: svc.tools.delete_provider(tenant(), p.id) or True):
        set_deleting(None)
        flash(t("tools.deleted", name=p.name))


def refresh(p: ProviderInfo) -> None:
    got = attempt(lambda: svc.tools.refresh_mcp_server(tenant(), p.id))
    if got is not None:
        flash(t("tools.mcp.refreshed", name=got.name, n=len(got.tools)) if got.status == "ok"
              else t("tools.mcp.refresh_failed", name=got.name))


def icon_html(icon: str) -> str:
    """A custom provider's icon: an image URL, else the text (an emoji), else a plug."""
    if icon.startswith(("http://", "https://", "data:image/")):
        safe = icon.replace('"', "%22")
        return f"<img src=\"{safe}\" width=\"28\" height=\"28\" style=\"border-radius:6px;vertical-align:middle\"/>"
    return icon[:4] or "🔌"


def delete_confirmation(p: ProviderInfo) -> None:
    with st.container(border=True):
        st.markdown(f"**:red[:material/warning: {t('tools.delete_title', name=p.name)}]**")
        st.caption(t("tools.delete_warning"))
        with st.container(horizontal=True):
            st.button(t("tools.delete_confirm"), type="primary", icon=":material/delete_forever:",
                      key=f"tools_del_go_{p.id}", on_click=delete_provider, args=(p,))
            st.button(t("common.cancel"), key=f"tools_del_cancel_{p.id}", on_click=set_deleting, args=(None,))


def card_actions(p: ProviderInfo) -> None:
    with st.container(horizontal=True, horizontal_alignment="right", gap="small"):
        if p.kind == "mcp":
            st.button(t("tools.mcp.refresh"), icon=":material/sync:", key=f"tools_refresh_{p.id}",
                      on_click=refresh, args=(p,))
        st.button(t("common.edit"), icon=":material/edit:", key=f"tools_edit_{p.id}", on_click=open_form,
                  args=(p.id,))
        st.button(t("common.delete"), icon=":material/delete:", key=f"tools_delete_{p.id}", on_click=set_deleting,
                  args=(p.id,))


def provider_card(p: ProviderInfo) -> None:
    with st.container(border=True):
        head, actions = st.columns([3, 2], vertical_alignment="center")
        with head:
            st.markdown(f"{icon_html(p.icon) if p.kind == 'api' else '🧩'} **{p.name}**", unsafe_allow_html=True)
            bits = [t("tools.count", n=len(p.tools)), t("tools.created", time=fmt_time(p.created_at))]
            if p.kind == "mcp":
                cfg = p.config
                where = cfg.get("url") if cfg.get("transport") == "http" else " ".join(
                    [cfg.get("command", ""), *cfg.get("args", [])])
                bits.insert(0, f"{t('tools.mcp.transport.' + cfg.get('transport', 'http'))}: `{where}`")
            st.caption(" · ".join(bits))
            if p.description:
                st.caption(p.description)
        with actions:
            card_actions(p)
        if p.kind == "mcp":
            if p.status == "ok":
                st.markdown(badge("● " + t("tools.mcp.status_ok"), "green"))
            else:
                st.markdown(badge("⚠ " + t("tools.mcp.status_error"), "red"))
                st.error(p.status_message or t("tools.mcp.status_unknown"), icon="🔌")
        if p.tools:
            with st.expander(t("tools.show_tools", n=len(p.tools))):
                tool_list(p.tools)
        if st.session_state.get(DELETING) == p.id:
            delete_confirmation(p)
    if st.session_state.get(EDITING) == p.id:
        form = api_form if p.kind == "api" else mcp_form
        saved = form(p, on_close=close_form)
        if saved:
            saved_message(saved)


def saved_message(p: ProviderInfo) -> None:
    close_form()
    if p.kind == "mcp" and p.status != "ok":
        flash(t("tools.mcp.saved_error", name=p.name))
    else:
        flash(t("tools.saved", name=p.name, n=len(p.tools)))
    st.rerun()


def providers_tab(kind: str) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        search = st.text_input(t("common.search"), key=f"tools_search_{kind}", placeholder=t("tools.search"),
                               label_visibility="collapsed", width=320)
        st.space("stretch")
        st.button(t(f"tools.{kind}.new"), type="primary", icon=":material/add:", key=f"tools_new_{kind}",
                  on_click=open_form, args=(f"new-{kind}",))
    st.caption(t(f"tools.{kind}.intro"))
    if st.session_state.get(EDITING) == f"new-{kind}":
        saved = (api_form if kind == "api" else mcp_form)(None, on_close=close_form)
        if saved:
            saved_message(saved)
    total = svc.tools.list_providers(tenant(), kind=kind, search_word=search.strip(), page_size=1).total
    if not total:
        st.info(t(f"tools.{kind}.empty") if not search.strip() else t("tools.no_match"), icon="🧰")
        return
    cards = st.container()
    page = pager(total, PAGE_SIZE, f"tools_page_{kind}")
    items = svc.tools.list_providers(tenant(), kind=kind, search_word=search.strip(), page=page,
                                     page_size=PAGE_SIZE).items
    with cards:
        for p in items:
            provider_card(p)


def builtin_card(p: ProviderInfo) -> None:
    with st.container(border=True, height="stretch"):
        icon_col, text_col = st.columns([1, 7], vertical_alignment="center")
        path = icon_path(p.id)
        if path.exists():
            icon_col.image(str(path), width=36)
        category = p.category or "utility"
        chip = badge(f"{CATEGORY_ICONS.get(category, '🧰')} {t('tools.category.' + category)}", "gray")
        text_col.markdown(f"**{p.label or p.name}** {chip}  \n:gray[{p.description}]")
        if p.needs_setup:
            st.warning(t("tools.builtin.needs_setup", what=p.needs_setup), icon="🔑")
        builtin_settings_form(p)
        for tool in p.tools:
            params = ", ".join(x.label or x.name for x in tool.params)
            st.markdown(f"🔧 **{tool.label or tool.name}** `{tool.name}`")
            st.caption(tool.description + (f"  \n{t('tools.builtin.settings', params=params)}" if params else ""))


def builtin_tab() -> None:
    st.caption(t("tools.builtin.intro"))
    providers = svc.tools.builtin_providers(tenant())
    for start in range(0, len(providers), 2):  # rows of two, so cards side by side share a height
        cols = st.columns(2)
        for col, p in zip(cols, providers[start:start + 2], strict=False):
            with col:
                builtin_card(p)


page_header(f"🧰 {t('tools.title')}", t("tools.caption"))
show_flash()
api_tab, mcp_tab, builtin = st.tabs([f"🔌 {t('tools.tab.api')}", f"🧩 {t('tools.tab.mcp')}",
                                     f"📦 {t('tools.tab.builtin')}"])
with api_tab:
    providers_tab("api")
with mcp_tab:
    providers_tab("mcp")
with builtin:
    builtin_tab()
