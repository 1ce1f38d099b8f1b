"""Knowledge bases: search and page through them, create, edit, copy, delete (typed confirmation).

`?kb=<id>` in the URL opens the edit form of that knowledge base.
"""

from __future__ import annotations

import streamlit as st

from core.schemas import KnowledgeBaseInfo
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
from pages.components.glossary_editor import glossary_section
from pages.components.i18n import t
from pages.components.kb_form import kb_form, reset_form

PAGE_SIZE = 8
MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#<>|$~"})


def md(text: str) -> str:
    """User text shown as literal markdown (a name like `a*b*` stays as typed)."""
    return text.translate(MARKDOWN_SPECIAL)


def close_form() -> None:
    st.session_state.pop("kb_creating", None)
    if "kb" in st.query_params:
        del st.query_params["kb"]


def leave_form() -> None:
    reset_form(param("kb") or None)
    close_form()


def back_button() -> None:
    st.button(t("kb.back"), icon=":material/arrow_back:", key="kb_back", on_click=leave_form)


# --- create / edit ---------------------------------------------------------------------------


def create_view() -> None:
    back_button()
    saved = kb_form(None, on_cancel=leave_form)
    if saved:
        reset_form(None)
        flash(t("kb.created", name=saved.name))
        st.session_state["kb_just_created"] = saved.id
        close_form()
        st.rerun()


def edit_view(kb_id: str) -> None:
    back_button()
    kb = attempt(lambda: services().knowledge.get(tenant(), kb_id))
    if kb is None:
        st.info(t("kb.not_found"), icon="🔎")
        return
    with st.container(horizontal=True):
        link("documents", t("kb.open_documents"), icon="📄", kb=kb.id)
        link("hit_testing", t("kb.open_hit_testing"), icon="🎯", kb=kb.id)
    saved = kb_form(kb, on_cancel=leave_form)
    if saved:
        reset_form(kb.id)
        flash(t("kb.saved", name=saved.name))
        close_form()
        st.rerun()
    glossary_section(kb)


# --- list -------------------------------------------------------------------------------------


def reset_page() -> None:
    st.session_state["kb_page"] = 1


def start_create() -> None:
    st.session_state["kb_creating"] = True
    st.session_state.pop("kb_deleting", None)


def start_edit(kb_id: str) -> None:
    st.query_params["kb"] = kb_id
    st.session_state.pop("kb_deleting", None)


def start_delete(kb_id: str) -> None:
    st.session_state["kb_deleting"] = kb_id


def cancel_delete() -> None:
    st.session_state.pop("kb_deleting", None)


def copy_kb(kb: KnowledgeBaseInfo) -> None:
    copied = attempt(lambda: services().knowledge.copy(tenant(), kb.id))
    if copied:
        flash(t("kb.copied", name=copied.name))
        st.rerun()


def delete_confirmation(kb: KnowledgeBaseInfo) -> None:
    with st.container(border=True):
        st.markdown(f"**:red[:material/warning: {t('kb.delete_title', name=md(kb.name))}]**")
        st.caption(t("kb.delete_warning", docs=kb.document_count, chunks=kb.chunk_count))
        typed = st.text_input(t("kb.delete_type", name=md(kb.name)), key=f"kb_del_name_{kb.id}",
                              help=t("kb.delete_hint"))
        with st.container(horizontal=True):
            confirmed = st.button(t("kb.delete_confirm"), type="primary", icon=":material/delete_forever:",
                                  disabled=typed.strip() != kb.name, key=f"kb_del_go_{kb.id}")
            st.button(t("common.cancel"), key=f"kb_del_cancel_{kb.id}", on_click=cancel_delete)
    if confirmed and attempt(lambda: services().knowledge.delete(tenant(), kb.id) or True):
        st.session_state.pop(f"kb_del_name_{kb.id}", None)
        cancel_delete()
        flash(t("kb.deleted", name=kb.name))
        st.rerun()


def kb_card(kb: KnowledgeBaseInfo) -> None:
    with st.container(border=True):
        head, actions = st.columns([1, 1])
        with head:
            st.markdown(f"#### {kb.icon or '📘'} {md(kb.name)}")
            st.caption(md(kb.description) if kb.description else f"_{t('kb.no_description')}_")
        with actions, st.container(horizontal=True, horizontal_alignment="right", gap="small"):
            st.button(t("kb.edit"), icon=":material/edit:", key=f"kb_edit_{kb.id}", on_click=start_edit, args=(kb.id,))
            if st.button(t("kb.copy"), icon=":material/content_copy:", key=f"kb_copy_{kb.id}"):
                copy_kb(kb)
            st.button(t("kb.delete"), icon=":material/delete:", key=f"kb_delete_{kb.id}",
                      on_click=start_delete, args=(kb.id,))
        stats, links = st.columns([3, 2], vertical_alignment="bottom")
        with stats:
            cols = st.columns(4)
            cols[0].metric(t("kb.documents"), f"{kb.document_count:,}")
            cols[1].metric(t("kb.chunks"), f"{kb.chunk_count:,}")
            cols[2].metric(t("kb.characters"), f"{kb.char_count:,}")
            cols[3].metric(t("kb.hits"), f"{kb.hit_count:,}")
        with links:
            st.markdown(f"<div style='text-align:right'><small style='color:gray'>🧠 {kb.embedding_model}<br>"
                        f"🕒 {t('kb.updated', time=fmt_time(kb.updated_at))}</small></div>", unsafe_allow_html=True)
            with st.container(horizontal=True, horizontal_alignment="right", gap="small"):
                link("documents", t("kb.open_documents"), icon="📄", kb=kb.id)
                link("hit_testing", t("kb.open_hit_testing"), icon="🎯", kb=kb.id)
        if st.session_state.get("kb_deleting") == kb.id:
            delete_confirmation(kb)


def just_created_banner() -> None:
    kb_id = st.session_state.pop("kb_just_created", None)
    if not kb_id:
        return
    kbs = services().knowledge.list(tenant(), kb_id=kb_id, page_size=1).items
    if kbs:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.markdown(f":green[:material/check_circle:] {t('kb.created_next', name=kbs[0].name)}")
            link("documents", t("kb.upload_now"), icon="📤", kb=kb_id)


def list_view() -> None:
    svc = services()
    search_col, new_col = st.columns([4, 1], vertical_alignment="bottom")
    query = search_col.text_input(t("kb.search"), key="kb_search", placeholder=t("kb.search_placeholder"),
                                  on_change=reset_page, icon=":material/search:").strip()
    new_col.button(t("kb.new"), type="primary", icon=":material/add:", use_container_width=True,
                   key="kb_new", on_click=start_create)
    just_created_banner()

    total = svc.knowledge.list(tenant(), search=query, page_size=1).total
    if not total:
        if query:
            st.info(t("kb.no_match", q=query), icon="🔎")
        else:
            st.info(t("kb.empty"), icon="📚")
        return
    cards = st.container()
    page = pager(total, PAGE_SIZE, "kb_page")
    kbs = svc.knowledge.list(tenant(), search=query, page=page, page_size=PAGE_SIZE).items
    with cards:
        for kb in kbs:
            kb_card(kb)


page_header(f"📚 {t('kb.title')}", t("kb.caption"))
show_flash()
if param("kb"):
    edit_view(param("kb"))
elif st.session_state.get("kb_creating"):
    create_view()
else:
    list_view()
