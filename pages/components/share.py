"""The share link of an assistant or agent: its public chat page (/chat/<id>), copyable, with an optional token."""

from __future__ import annotations

import streamlit as st

from core.assistants import AssistantInfo
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


def set_access(assistant_id: str) -> None:
    wanted = st.session_state.get(f"share_token_{assistant_id}", False)
    if attempt(lambda: services().assistants.set_access(tenant(), assistant_id, require_token=wanted)):
        flash(t("share.token_on") if wanted else t("share.token_off"))


def share_controls(a: AssistantInfo) -> None:
    """The token switch and the link (st.code has a copy button)."""
    st.toggle(t("share.require_token"), value=bool(a.access_token), key=f"share_token_{a.id}",
              on_change=set_access, args=(a.id,), help=t("share.require_token_help"))
    st.code(share_link(a), language=None, wrap_lines=True)
