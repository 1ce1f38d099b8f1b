"""Choose an agent's tools: built-in ones by category (with their settings as widgets), API tools and MCP tools.

Every choice is a checkbox keyed by the tool, so the picker keeps its state across reruns and the editor
can tell whether it differs from what is saved. The result is a list of ToolRef dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.tools.base import ProviderInfo, ToolInfo, ToolParam
from pages.components.chunk_card import badge
from pages.components.common import link, services, tenant
from pages.components.i18n import t

CATEGORY_ICONS = {"knowledge": "📚", "utility": "🧮", "web": "🌐", "search": "🔎", "image": "🎨"}
MAX_CUSTOM_PROVIDERS = 100


@dataclass
class Catalogue:
    """Everything an agent of this tenant may use, by ToolRef identity (type, provider, tool)."""

    builtin: list[ProviderInfo]
    api: list[ProviderInfo]
    mcp: list[ProviderInfo]

    def tools(self) -> dict[tuple[str, str, str], tuple[ProviderInfo, ToolInfo]]:
        found = {}
        for kind, providers in (("builtin", self.builtin), ("api", self.api), ("mcp", self.mcp)):
            for p in providers:
                for tool in p.tools:
                    found[(kind, p.id, tool.name)] = (p, tool)
        return found


def load_catalogue() -> Catalogue:
    tools = services().tools
    return Catalogue(
        builtin=tools.builtin_providers(tenant()),
        api=tools.list_providers(tenant(), kind="api", page_size=MAX_CUSTOM_PROVIDERS).items,
        mcp=tools.list_providers(tenant(), kind="mcp", page_size=MAX_CUSTOM_PROVIDERS).items,
    )


def ref_key(ref: dict) -> tuple[str, str, str]:
    return ref.get("type", "builtin"), ref.get("provider", ""), ref.get("tool", "")


def effective_params(tool: ToolInfo | None, params: dict | None) -> dict[str, Any]:
    """A tool's settings with defaults filled in: what it runs with, whatever was stored."""
    values = {p.name: p.default for p in (tool.params if tool else [])}
    values.update(params or {})
    return values


def expanded(refs: list[dict], catalogue: Catalogue) -> list[dict]:
    """Refs with a whole-provider ref (tool "*", as AgentChat saves them) replaced by one ref per tool it has."""
    out = []
    for ref in refs:
        kind, provider, tool = ref_key(ref)
        if tool != "*":
            out.append(ref)
            continue
        out += [{"type": kind, "provider": provider, "tool": t.name} for p in getattr(catalogue, kind, [])
                if p.id == provider for t in p.tools]
    return out


def normalized(refs: list[dict], catalogue: Catalogue) -> list[tuple]:
    """Refs in a comparable form (order and omitted defaults do not count as a change)."""
    known = catalogue.tools()
    out = []
    for ref in expanded(refs, catalogue):
        tool = known.get(ref_key(ref), (None, None))[1]
        out.append((*ref_key(ref), tuple(sorted(effective_params(tool, ref.get("params")).items()))))
    return sorted(out, key=repr)


def _is_int(*values: Any) -> bool:
    return all(v is None or float(v).is_integer() for v in values)


def param_widget(p: ToolParam, value: Any, key: str) -> Any:
    """A tool setting as the widget its type asks for."""
    label = p.label or p.name
    help_text = p.help or None
    if p.type == "boolean":
        return st.toggle(label, value=bool(value), help=help_text, key=key)
    if p.type == "select":
        values = [o.value for o in p.options]
        labels = {o.value: o.label for o in p.options}
        index = values.index(value) if value in values else 0
        return st.selectbox(label, values, index=index, format_func=lambda v: labels.get(v, v), help=help_text,
                            key=key)
    if p.type == "number":
        if _is_int(p.min, p.max, p.default) and (value is None or _is_int(value)):
            lo, hi = (int(p.min) if p.min is not None else None), (int(p.max) if p.max is not None else None)
            return st.number_input(label, lo, hi, int(value if value is not None else (p.default or 0)), step=1,
                                   help=help_text, key=key)
        lo, hi = (float(p.min) if p.min is not None else None), (float(p.max) if p.max is not None else None)
        return st.number_input(label, lo, hi, float(value if value is not None else (p.default or 0.0)), step=0.05,
                               help=help_text, key=key)
    return st.text_input(label, value=str(value or ""), help=help_text, key=key)


class ToolPicker:
    """Renders the catalogue with the current choice; `chosen()` is what the widgets say now."""

    def __init__(self, prefix: str, current: list[dict], catalogue: Catalogue):
        self.prefix, self.catalogue = prefix, catalogue
        self.current = {ref_key(r): r for r in expanded(current, catalogue)}
        self.picked: list[dict] = []

    def _key(self, kind: str, provider: str, tool: str, suffix: str = "") -> str:
        return f"{self.prefix}_tool_{kind}_{provider}_{tool}" + (f"_{suffix}" if suffix else "")

    def tool_row(self, kind: str, provider: ProviderInfo, tool: ToolInfo) -> None:
        ident = (kind, provider.id, tool.name)
        stored = self.current.get(ident)
        label = f"**{tool.label or tool.name}**"
        on = st.checkbox(label, value=stored is not None, key=self._key(*ident))
        st.caption(tool.description or "—")
        if not on:
            return
        values = effective_params(tool, stored.get("params") if stored else None)
        params = {}
        if tool.params:
            cols = st.columns(min(len(tool.params), 3))
            for i, p in enumerate(tool.params):
                with cols[i % len(cols)]:
                    params[p.name] = param_widget(p, values.get(p.name), self._key(*ident, p.name))
        self.picked.append({"type": kind, "provider": provider.id, "tool": tool.name, "params": params})

    def builtin_tab(self) -> None:
        by_category: dict[str, list[ProviderInfo]] = {}
        for p in self.catalogue.builtin:
            by_category.setdefault(p.category or "utility", []).append(p)
        for category, providers in by_category.items():
            st.markdown(f"##### {CATEGORY_ICONS.get(category, '🧰')} {t('tools.category.' + category)}")
            for p in providers:
                with st.container(border=True):
                    st.markdown(f"**{p.label or p.name}** · :gray[{p.description}]")
                    if p.needs_setup:
                        st.warning(t("agents.tools.needs_setup", what=p.needs_setup), icon="🔑")
                    if p.name == "knowledge":
                        st.caption(t("agents.tools.kb_auto"))
                    for tool in p.tools:
                        self.tool_row("builtin", p, tool)

    def custom_tab(self, kind: str, providers: list[ProviderInfo]) -> None:
        if not providers:
            st.caption(t(f"agents.tools.no_{kind}"))
            link("tools", t("agents.tools.go_tools"), icon="🧰")
            return
        for p in providers:
            with st.container(border=True):
                head = f"**{p.name}**"
                if kind == "mcp" and p.status != "ok":
                    head += " " + badge("⚠ " + t("tools.mcp.status_error"), "red")
                st.markdown(head + (f" · :gray[{p.description}]" if p.description else ""))
                if kind == "mcp" and p.status != "ok" and p.status_message:
                    st.caption(f":red[{p.status_message}]")
                if not p.tools:
                    st.caption(t("agents.tools.provider_empty"))
                for tool in p.tools:
                    self.tool_row(kind, p, tool)

    def stale_refs(self) -> list[dict]:
        """Chosen tools whose provider or tool no longer exists: they are dropped on the next save."""
        known = self.catalogue.tools()
        return [r for k, r in self.current.items() if k not in known]

    def render(self) -> list[dict]:
        gone = self.stale_refs()
        if gone:
            names = ", ".join(f"{r.get('tool')}" for r in gone)
            st.warning(t("agents.tools.stale", names=names), icon="🧹")
        builtin, api, mcp = st.tabs([
            f"🧰 {t('agents.tools.builtin')}",
            f"🔌 {t('agents.tools.api')} ({sum(len(p.tools) for p in self.catalogue.api)})",
            f"🧩 {t('agents.tools.mcp')} ({sum(len(p.tools) for p in self.catalogue.mcp)})"])
        with builtin:
            self.builtin_tab()
        with api:
            self.custom_tab("api", self.catalogue.api)
        with mcp:
            self.custom_tab("mcp", self.catalogue.mcp)
        return self.picked

    def summary(self) -> str:
        """The chosen tools as badges (for the line above the picker)."""
        known = self.catalogue.tools()
        chips = []
        for ref in self.picked:
            tool = known[ref_key(ref)][1]
            chips.append(badge(f"🔧 {tool.label or tool.name}", "violet"))
        return " ".join(chips)

