"""Assistants: list, create, edit and delete chat assistants; open a chat with one.

`?assistant=<id>` in the URL opens the edit form of that assistant.
"""

from __future__ import annotations

import streamlit as st

from core.assistants import AssistantInfo
from pages.components.chat_assistant_form import assistant_form, reset_form
from pages.components.chunk_card import badge
from pages.components.common import (
    attempt,
    flash,
    fmt_time,
    link,
    page_header,
    pager,
    param,
    services,
    show_flash,
    tenant,
)
from pages.components.i18n import t
from pages.components.share import share_badge, share_box

PAGE_SIZE = 10

svc = services()


# --- navigation between list and form -------------------------------------------------------------

MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#<>|$~"})


def md(text: str) -> str:
    """User text shown literally (a name like `a*b*` stays as typed)."""
    return text.translate(MARKDOWN_SPECIAL)


def close_form() -> None:
    st.session_state.pop("asst_creating", None)
    if "assistant" in st.query_params:
        del st.query_params["assistant"]


def leave_form() -> None:
    reset_form(param("assistant") or None)
    close_form()


def start_create() -> None:
    st.session_state["asst_creating"] = True
    st.session_state.pop("asst_deleting", None)


def start_edit(assistant_id: str) -> None:
    st.query_params["assistant"] = assistant_id
    st.session_state.pop("asst_deleting", None)


def start_delete(assistant_id: str) -> None:
    st.session_state["asst_deleting"] = assistant_id


def cancel_delete() -> None:
    st.session_state.pop("asst_deleting", None)


def back_button() -> None:
    st.button(t("assistants.back"), icon=":material/arrow_back:", key="asst_back", on_click=leave_form)


def create_view() -> None:
    back_button()
    saved = assistant_form(None, on_cancel=leave_form)
    if saved:
        reset_form(None)
        flash(t("assistants.created", name=saved.name))
        st.session_state["asst_just_created"] = saved.id
        close_form()
        st.rerun()


def edit_view(assistant_id: str) -> None:
    back_button()
    a = attempt(lambda: svc.assistants.get(tenant(), assistant_id))
    if a is None:
        st.info(t("assistants.not_found"), icon="🔎")
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        link("chat", t("assistants.chat"), icon="💬", assistant=a.id)
        st.markdown(share_badge(a), width="content")
    share_box(a)
    saved = assistant_form(a, on_cancel=leave_form)
    if saved:
        reset_form(a.id)
        flash(t("assistants.saved", name=saved.name))
        close_form()
        st.rerun()


# --- list -------------------------------------------------------------------------------------------


def model_label(a: AssistantInfo, models: dict[str, str]) -> str:
    if not a.llm.model_id:
        return t("assistants.model_workspace")
    return models.get(a.llm.model_id, t("assistants.model_gone"))


def delete_confirmation(a: AssistantInfo, sessions: int) -> None:
    with st.container(border=True):
        st.markdown(f"**:red[:material/warning: {t('assistants.delete_title', name=md(a.name))}]**")
        st.caption(t("assistants.delete_warning", n=sessions))
        with st.container(horizontal=True):
            confirmed = st.button(t("assistants.delete_confirm"), type="primary", icon=":material/delete_forever:",
                                  key=f"asst_del_go_{a.id}")
            st.button(t("common.cancel"), key=f"asst_del_cancel_{a.id}", on_click=cancel_delete)
    if confirmed and attempt(lambda: svc.assistants.delete(tenant(), a.id) or True):
        cancel_delete()
        flash(t("assistants.deleted", name=a.name))
        st.rerun()


def assistant_card(a: AssistantInfo, kb_names: dict[str, str], models: dict[str, str]) -> None:
    sessions = svc.chat.list_sessions(tenant(), assistant_id=a.id, page_size=1).total
    with st.container(border=True):
        head, actions = st.columns([3, 2])
        with head:
            st.markdown(f"#### {a.avatar or '🤖'} {md(a.name)}")
            st.markdown(share_badge(a))
            st.caption(md(a.description) if a.description else f"_{t('assistants.no_description')}_")
        with actions, st.container(horizontal=True, horizontal_alignment="right", gap="small"):
            link("chat", t("assistants.chat"), icon="💬", assistant=a.id)
            link("hit_testing", t("assistants.test_retrieval"), icon="🎯", assistant=a.id)
            st.button(t("common.edit"), icon=":material/edit:", key=f"asst_edit_{a.id}", on_click=start_edit,
                      args=(a.id,))
            st.button(t("common.delete"), icon=":material/delete:", key=f"asst_delete_{a.id}", on_click=start_delete,
                      args=(a.id,))
        kbs = " ".join(badge(f"📘 {kb_names.get(k, k)}", "blue") for k in a.kb_ids)
        st.markdown(" ".join(s for s in [badge("🧠 " + model_label(a, models), "green"),
                                         kbs or badge(t("assistants.no_kbs"), "gray")] if s))
        p, s = a.prompt, a.strategy
        st.caption(t("assistants.summary", top_n=p.top_n, threshold=f"{p.similarity_threshold:.2f}",
                     rounds=s.max_rounds, temperature=f"{a.llm.temperature:g}", n=sessions,
                     time=fmt_time(a.updated_at)))
        share_box(a)
        if st.session_state.get("asst_deleting") == a.id:
            delete_confirmation(a, sessions)


def just_created_banner() -> None:
    assistant_id = st.session_state.pop("asst_just_created", None)
    if not assistant_id:
        return
    found = svc.assistants.list(tenant(), assistant_id=assistant_id, page_size=1).items
    if found:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.markdown(f":green[:material/check_circle:] {t('assistants.created_next', name=md(found[0].name))}")
            link("chat", t("assistants.chat"), icon="💬", assistant=assistant_id)


def list_view() -> None:
    with st.container(horizontal=True, horizontal_alignment="right"):
        st.button(t("assistants.new"), type="primary", icon=":material/add:", key="asst_new", on_click=start_create)
    just_created_banner()
    total = svc.assistants.list(tenant(), kind="chat", page_size=1).total
    if not total:
        st.info(t("assistants.empty"), icon="🤖")
        if not svc.knowledge.list(tenant(), page_size=1).total:
            link("knowledge_bases", t("common.go_create_kb"), icon="📚")
        return
    cards = st.container()
    page = pager(total, PAGE_SIZE, "asst_page")
    items = svc.assistants.list(tenant(), kind="chat", page=page, page_size=PAGE_SIZE).items
    kb_names = {k.id: k.name for k in svc.knowledge.list(tenant(), page_size=1000).items}
    models = {m.id: f"{m.name} · {m.model}" for m in svc.models.list(tenant(), "llm")}
    with cards:
        for a in items:
            assistant_card(a, kb_names, models)


page_header(f"🤖 {t('assistants.title')}", t("assistants.caption"))
show_flash()
if param("assistant"):
    edit_view(param("assistant"))
elif st.session_state.get("asst_creating"):
    create_view()
else:
    list_view()
