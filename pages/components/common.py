"""Helpers every page uses: services, navigation, friendly errors, formatting, badges."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st

from core.container import Services, get_services
from core.errors import AlmanacError
from core.tenants import DEFAULT_TENANT_ID
from core.visitors import set_visitor
from core.users import UserInfo
from pages.components.i18n import t

T = TypeVar("T")
SIGNED_IN = "signed_in_user"  # this browser session's UserInfo, checked again on every run (components/account.py)

# Page name -> script path; st.navigation registers exactly these.
PAGES = {
    "home": "app.py",
    "knowledge_bases": "pages/knowledge_bases.py",
    "documents": "pages/documents.py",
    "chunks": "pages/chunks.py",
    "hit_testing": "pages/hit_testing.py",
    "evaluation": "pages/evaluation.py",
    "chat": "pages/chat.py",
    "assistants": "pages/assistants.py",
    "models": "pages/models.py",
    "agents": "pages/agents.py",
    "tools": "pages/tools.py",
    "settings": "pages/settings.py",
}
STATUS_COLORS = {"unstart": "gray", "waiting": "orange", "parsing": "blue", "splitting": "blue",
                 "indexing": "violet", "completed": "green", "error": "red", "cancelled": "gray"}


def services() -> Services:
    set_visitor(st.context.ip_address)  # whoever uses the UI is a visitor to a public demo (core/visitors.py)
    return get_services()


def current_user() -> UserInfo | None:
    """The signed-in user, or None on a single-user install (no accounts: the UI is the admin's)."""
    return st.session_state.get(SIGNED_IN)


def tenant() -> str:
    """The workspace every page works on: the signed-in user's, else the default one."""
    user = current_user()
    return user.tenant_id if user else DEFAULT_TENANT_ID


def goto(page: str, **params: str) -> None:
    """Switch to another page, carrying ids in the URL (so links can be shared and reloaded)."""
    st.switch_page(PAGES[page], query_params={k: v for k, v in params.items() if v})


def link(page: str, label: str, icon: str | None = None, **params: str) -> None:
    st.page_link(PAGES[page], label=label, icon=icon, query_params={k: v for k, v in params.items() if v})


def attempt(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run a service call; show domain errors as a friendly message instead of a traceback."""
    try:
        result = action()
    except AlmanacError as exc:
        st.error(exc.message, icon="⚠️")
        return None
    if success:
        st.toast(success, icon="✅")
    return result


FLASH = "ui_flash"


def flash(message: str) -> None:
    """A toast for the next run: actions end with st.rerun, which would drop a toast shown now."""
    st.session_state[FLASH] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.toast(message, icon="✅")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~$:])")


def md(text: str) -> str:
    """Text shown literally inside Markdown (file names may contain *, _, [ ...)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def status_badge(status: str) -> str:
    return f":{STATUS_COLORS.get(status, 'gray')}-badge[{t('status.' + status)}]"


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def page_header(title: str, caption: str = "") -> None:
    st.title(title)
    if caption:
        st.caption(caption)


def param(name: str) -> str:
    return st.query_params.get(name, "")


def kb_picker(key: str = "kb") -> Any:
    """The knowledge base named in the URL (`?kb=`), or a picker; None (with guidance) when there is none."""
    svc = services()
    kbs = svc.knowledge.list(tenant(), page_size=1000, order_by="name", desc=False).items
    if not kbs:
        st.info(t("common.no_kbs"), icon="📚")
        link("knowledge_bases", t("common.go_create_kb"), icon="➕")
        return None
    ids = [k.id for k in kbs]
    current = param(key)
    index = ids.index(current) if current in ids else 0
    chosen = st.selectbox(t("common.knowledge_base"), kbs, index=index, format_func=lambda k: f"{k.icon or '📘'} {k.name}",
                          key=f"picker_{key}")
    if chosen.id != current:
        st.query_params[key] = chosen.id
    return chosen


def pager(total: int, page_size: int, key: str) -> int:
    """Previous/next paging under a list; returns the 1-based page to show."""
    pages = max(1, -(-total // page_size))
    page = min(max(1, st.session_state.get(key, 1)), pages)
    if pages > 1:
        left, mid, right = st.columns([1, 2, 1])
        if left.button(t("common.previous"), key=f"{key}_prev", disabled=page <= 1, use_container_width=True):
            page -= 1
        if right.button(t("common.next"), key=f"{key}_next", disabled=page >= pages, use_container_width=True):
            page += 1
        mid.markdown(f"<div style='text-align:center'>{t('common.page_of', page=page, pages=pages)} · "
                     f"{t('common.total', n=total)}</div>", unsafe_allow_html=True)
    st.session_state[key] = page
    return page
