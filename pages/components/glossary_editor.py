"""A knowledge base's glossary on its edit view: edit the pairs, import / export CSV, accept suggestions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.schemas import KnowledgeBaseInfo
from pages.components.common import attempt, flash, services, tenant
from pages.components.i18n import t

COLUMNS = ["term", "translation"]


def _key(kb: KnowledgeBaseInfo, name: str) -> str:
    return f"glossary_{name}_{kb.id}"


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Rows the user filled in (a row left empty is no entry; a half-filled one is reported by the service)."""
    rows = frame.fillna("").astype(str).to_dict("records")
    return [(r["term"], r["translation"]) for r in rows if r["term"].strip() or r["translation"].strip()]


def editor(kb: KnowledgeBaseInfo) -> None:
    svc = services()
    pairs = svc.glossary.list(tenant(), kb.id)
    frame = pd.DataFrame([{"term": p.term, "translation": p.translation} for p in pairs], columns=COLUMNS)
    edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, width="stretch", key=_key(kb, "table"),
                            column_config={
                                "term": st.column_config.TextColumn(t("xlang.glossary.term"), width="medium"),
                                "translation": st.column_config.TextColumn(t("xlang.glossary.translation"),
                                                                           width="medium")})
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button(t("xlang.glossary.save"), type="primary", icon=":material/save:", key=_key(kb, "save")):
            saved = attempt(lambda: svc.glossary.add(tenant(), kb.id, _pairs(edited), replace=True))
            if saved is not None:
                flash(t("xlang.glossary.saved", n=saved.total))
                st.rerun()
        st.download_button(t("xlang.glossary.export"), svc.glossary.export_csv(tenant(), kb.id),
                           icon=":material/download:", file_name=f"{kb.name}-glossary.csv", mime="text/csv",
                           key=_key(kb, "export"))
        st.caption(t("xlang.glossary.count", n=len(pairs)))


def importer(kb: KnowledgeBaseInfo) -> None:
    upload = st.file_uploader(t("xlang.glossary.import"), type=["csv", "tsv", "txt"], key=_key(kb, "file"),
                              help=t("xlang.glossary.import_help"))
    replace = st.checkbox(t("xlang.glossary.replace"), key=_key(kb, "replace"))
    if st.button(t("xlang.glossary.import_go"), icon=":material/upload:", disabled=upload is None,
                 key=_key(kb, "import_go")):
        report = attempt(lambda: services().glossary.import_csv(tenant(), kb.id, upload.getvalue(), replace=replace))
        if report is not None:
            flash(t("xlang.glossary.imported", added=report.added, skipped=report.skipped))
            st.rerun()


def suggestions(kb: KnowledgeBaseInfo) -> None:
    st.caption(t("xlang.glossary.suggest_caption"))
    found = st.session_state.get(_key(kb, "suggestions"))
    if st.button(t("xlang.glossary.suggest"), icon=":material/auto_awesome:", key=_key(kb, "suggest")):
        found = attempt(lambda: services().glossary.suggest(tenant(), kb.id)) or []
        st.session_state[_key(kb, "suggestions")] = found
    if found is None:
        return
    if not found:
        st.info(t("xlang.glossary.no_suggestions"), icon="🔎")
        return
    frame = pd.DataFrame([{"accept": True, "term": g.term, "translation": g.translation, "count": g.count,
                           "example": g.example} for g in found])
    chosen = st.data_editor(frame, hide_index=True, width="stretch", key=_key(kb, "suggested"),
                            disabled=["count", "example"], column_config={
                                "accept": st.column_config.CheckboxColumn(t("xlang.glossary.accept")),
                                "term": st.column_config.TextColumn(t("xlang.glossary.term")),
                                "translation": st.column_config.TextColumn(t("xlang.glossary.translation")),
                                "count": st.column_config.NumberColumn(t("xlang.glossary.times")),
                                "example": st.column_config.TextColumn(t("xlang.glossary.example"), width="large")})
    if st.button(t("xlang.glossary.add_accepted"), type="primary", icon=":material/playlist_add:",
                 key=_key(kb, "accept_go")):
        accepted = _pairs(chosen[chosen["accept"]][COLUMNS])
        report = attempt(lambda: services().glossary.add(tenant(), kb.id, accepted))
        if report is not None:
            st.session_state.pop(_key(kb, "suggestions"), None)
            flash(t("xlang.glossary.imported", added=report.added, skipped=report.skipped))
            st.rerun()


def glossary_section(kb: KnowledgeBaseInfo) -> None:
    with st.container(border=True):
        st.markdown(f"##### 📖 {t('xlang.glossary.title')}")
        st.caption(t("xlang.glossary.caption"))
        tabs = st.tabs([t("xlang.glossary.tab_edit"), t("xlang.glossary.tab_import"),
                        t("xlang.glossary.tab_suggest")])
        with tabs[0]:
            editor(kb)
        with tabs[1]:
            importer(kb)
        with tabs[2]:
            suggestions(kb)
