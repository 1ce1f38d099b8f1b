"""Sharing an assistant or agent on its public chat page: the share switch, the access token and the link.

Assistants and agents are private until shared; the public page (/chat/<id>) serves only shared ones.
"""

from __future__ import annotations

import streamlit as st

from core.assistants import AssistantInfo
from pages.components.chunk_card import badge
from pages.components.common import attempt, flash, services, tenant
from pages.components.i18n import t


def share_link(a: AssistantInfo) -> str:
    """The public chat page: same host as this UI (served under /ui/), else a relative path."""
    path = f"/chat/{a.id}" + (f"?token={a.access_token}" if a.access_token else "")
    url = st.context.url or ""
    if "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}{path}"
    return path


def share_badge(a: AssistantInfo) -> str:
    if not a.shared:
        return badge("🔒 " + t("share.private"), "gray")
    return badge("🔗 " + t("share.shared_token" if a.access_token else "share.shared"), "blue")


def _set_shared(assistant_id: str) -> None:
    wanted = bool(st.session_state.get(f"share_shared_{assistant_id}"))
    if attempt(lambda: services().assistants.set_access(tenant(), assistant_id, shared=wanted)):
        flash(t("share.on") if wanted else t("share.off"))


def _set_token(assistant_id: str) -> None:
    wanted = bool(st.session_state.get(f"share_token_{assistant_id}"))
    if attempt(lambda: services().assistants.set_access(tenant(), assistant_id, require_token=wanted)):
        flash(t("share.token_on") if wanted else t("share.token_off"))


def share_box(a: AssistantInfo, *, expanded: bool = False) -> None:
    """The share switch; when shared, the token switch and the link (st.code has a copy button).
    Widget keys: `share_shared_<id>`, `share_token_<id>`."""
    with st.expander(f"🔗 {t('share.title')}", expanded=expanded):
        st.toggle(t("share.switch"), value=a.shared, key=f"share_shared_{a.id}", on_change=_set_shared,
                  args=(a.id,), help=t("share.switch_help"))
        if not a.shared:
            st.caption(t("share.private_note"))
            return
        if a.published is None:
            st.caption(t("share.unpublished"))
        st.toggle(t("share.require_token"), value=bool(a.access_token), key=f"share_token_{a.id}",
                  on_change=_set_token, args=(a.id,), help=t("share.require_token_help"))
        st.code(share_link(a), language=None, wrap_lines=True)
