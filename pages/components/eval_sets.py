"""Evaluation page, question sets: add one (upload, generate, bundled sample), review and edit, delete."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.evaluation.questionsets import dump_jsonl
from core.evaluation.schemas import QuestionSetInfo
from pages.components.common import attempt, flash, services, tenant
from pages.components.i18n import t

SET_KEY = "eval_set"  # the selected question set's id
SEP = " | "  # how lists (relevant documents, passages) are shown and typed in the editor


def kb_names() -> dict[str, str]:
    return {k.id: k.name for k in services().knowledge.list(tenant(), page_size=1000, order_by="name", desc=False).items}


def chat_models() -> dict[str, str]:
    """Chat model choices: none (retrieval only), the default, and each saved LLM."""
    saved = {m.id: m.name for m in services().models.list(tenant(), "llm")}
    return {"": t("eval.chat.none"), "default": t("eval.chat.default"), **saved}


def set_label(s: QuestionSetInfo, kbs: dict[str, str]) -> str:
    where = kbs.get(s.kb_id or "", "—")
    return t("eval.set_label", name=s.name, n=s.question_count, kb=where, source=t("eval.source." + s.source))


def choose(set_id: str, view: str | None = None) -> None:
    st.session_state[SET_KEY] = set_id
    if view:
        st.session_state["eval_view"] = view


def upload_form(kbs: dict[str, str]) -> None:
    st.caption(t("eval.upload_help"))
    n = st.session_state.setdefault("eval_uploader_n", 0)
    file = st.file_uploader(t("eval.upload_file"), type=["jsonl", "csv", "json"], key=f"eval_upload_{n}")
    cols = st.columns(2)
    kb_id = cols[0].selectbox(t("eval.for_kb"), list(kbs), format_func=kbs.get, key="eval_upload_kb")
    name = cols[1].text_input(t("eval.set_name"), key="eval_upload_name", placeholder=t("eval.set_name_placeholder"))
    if st.button(t("eval.import"), type="primary", icon="📥", key="eval_import", disabled=file is None or not kb_id):
        report = attempt(lambda: services().evaluation.sets.import_file(tenant(), file.getvalue(), file.name,
                                                                        name=name.strip(), kb_id=kb_id))
        if report:
            st.session_state["eval_uploader_n"] = n + 1
            note = t("eval.ignored_fields", fields=", ".join(report.ignored_fields)) if report.ignored_fields else ""
            flash(t("eval.imported", name=report.set.name, n=report.set.question_count) + note)
            choose(report.set.id)
            st.rerun()


def generate_form(kbs: dict[str, str]) -> None:
    st.caption(t("eval.generate_help"))
    cols = st.columns(3)
    kb_id = cols[0].selectbox(t("eval.for_kb"), list(kbs), format_func=kbs.get, key="eval_gen_kb")
    count = cols[1].number_input(t("eval.generate_count"), 1, 200, 20, key="eval_gen_count")
    models = chat_models()
    model = cols[2].selectbox(t("eval.generate_with"), list(models), format_func=models.get, key="eval_gen_model")
    if st.button(t("eval.generate"), type="primary", icon="✨", key="eval_generate", disabled=not kb_id):
        with st.spinner(t("eval.generating")):
            qset = attempt(lambda: services().evaluation.generate_set(tenant(), kb_id, int(count), chat_model_id=model))
        if qset:
            flash(t("eval.generated", n=qset.question_count))
            choose(qset.id)
            st.rerun()


def sample_form() -> None:
    st.caption(t("eval.sample_help"))
    if st.button(t("eval.install_sample"), icon="📦", key="eval_sample"):
        installed = attempt(lambda: services().evaluation.install_sample(tenant()))
        if installed:
            flash(t("eval.sample_installed", kb=installed[0].name, n=installed[1].question_count))
            choose(installed[1].id)
            st.rerun()


def add_set(expanded: bool) -> None:
    kbs = kb_names()
    with st.expander(t("eval.add_set"), icon="➕", expanded=expanded):
        upload, generate, sample = st.tabs([f"📤 {t('eval.tab_upload')}", f"✨ {t('eval.tab_generate')}",
                                            f"📦 {t('eval.tab_sample')}"])
        for tab, form in ((upload, upload_form), (generate, generate_form)):
            with tab:
                if kbs:
                    form(kbs)
                else:
                    st.info(t("common.no_kbs"), icon="📚")
        with sample:
            sample_form()


def as_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The editor's table back into questions (lists typed as `a | b`)."""
    rows = []
    for rec in frame.fillna("").to_dict("records"):
        if not any(str(v).strip() for v in rec.values()):
            continue  # an empty row the user added and left blank
        rows.append({"question": str(rec["question"]), "answer": str(rec["answer"]),
                     "relevant_docs": [d.strip() for d in str(rec["relevant_docs"]).split("|") if d.strip()],
                     "relevant_text": [p.strip() for p in str(rec["relevant_text"]).split("|") if p.strip()]})
    return rows


def editor(qset: QuestionSetInfo) -> None:
    questions = services().evaluation.sets.questions(tenant(), qset.id)
    frame = pd.DataFrame([{"question": q.question, "answer": q.answer, "relevant_docs": SEP.join(q.relevant_docs),
                           "relevant_text": SEP.join(q.relevant_text)} for q in questions])
    st.caption(t("eval.editor_help"))
    edited = st.data_editor(frame, num_rows="dynamic", width="stretch", key=f"eval_editor_{qset.id}",
                            column_config={
                                "question": st.column_config.TextColumn(t("eval.col.question"), width="large"),
                                "answer": st.column_config.TextColumn(t("eval.col.answer")),
                                "relevant_docs": st.column_config.TextColumn(t("eval.col.relevant_docs")),
                                "relevant_text": st.column_config.TextColumn(t("eval.col.relevant_text"),
                                                                             width="large")})
    with st.container(horizontal=True):
        if st.button(t("eval.save_set"), type="primary", icon="💾", key="eval_save"):
            if attempt(lambda: services().evaluation.sets.replace_questions(tenant(), qset.id, as_rows(edited))):
                flash(t("eval.saved", n=len(as_rows(edited))))
                st.rerun()
        st.download_button(t("eval.download"), data=dump_jsonl(questions), file_name=f"{qset.name}.jsonl",
                           icon="⬇️", key="eval_download", on_click="ignore")
        st.button(t("eval.run_this"), icon="▶️", key="eval_run_this", on_click=choose, args=(qset.id, "run"))
        st.button(t("common.delete"), icon="🗑️", key="eval_delete",
                  on_click=lambda: st.session_state.update(eval_confirm_delete=qset.id))
    if st.session_state.get("eval_confirm_delete") == qset.id:
        st.warning(t("eval.delete_confirm", name=qset.name), icon="🗑️")
        if st.button(t("common.delete"), type="primary", key="eval_delete_yes"):
            st.session_state.pop("eval_confirm_delete")
            if attempt(lambda: services().evaluation.sets.delete(tenant(), qset.id) or True):
                flash(t("eval.deleted", name=qset.name))
                st.rerun()


def sets_view() -> None:
    sets = services().evaluation.sets.list(tenant())
    add_set(expanded=not sets)
    if not sets:
        st.info(t("eval.no_sets"), icon="📋")
        return
    kbs = kb_names()
    ids = [s.id for s in sets]
    if st.session_state.get(SET_KEY) not in ids:
        st.session_state[SET_KEY] = ids[0]
    chosen = st.selectbox(t("eval.question_set"), ids, key=SET_KEY,
                          format_func=lambda i: set_label(next(s for s in sets if s.id == i), kbs))
    editor(next(s for s in sets if s.id == chosen))
