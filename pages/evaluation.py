"""Evaluation: question sets, runs of one or several configurations, and where retrieval fails.

Three views: question sets (add, review, edit), a new run (a configuration form that can compare modes
and weights), and results (live progress, comparison table and charts, drill-down per question).
"""

from __future__ import annotations

import streamlit as st

from pages.components.common import attempt, page_header, services, show_flash, tenant
from pages.components.eval_results import GROUP_KEY, results_view
from pages.components.eval_sets import SET_KEY, chat_models, kb_names, sets_view
from pages.components.i18n import t

VIEWS = ("sets", "run", "results")
NEXT_VIEW = "eval_view_next"
VIEW_ICONS = {"sets": "📋", "run": "▶️", "results": "📊"}
MODES = ("semantic", "full_text", "hybrid")
WEIGHTS = (0.1, 0.3, 0.5, 0.7, 0.9)


CROSS = {"kb": None, "on": True, "off": False}  # cross-language search: the knowledge base's setting, on, off


def configurations(modes: list[str], weights: list[float], top_k: int, threshold: float, rerank: str,
                   chat: str, cross: list[str] | None = None) -> list[dict]:
    """One configuration per mode (and cross-language choice); hybrid once per chosen weight."""
    weights = sorted(weights) or [0.7]
    return [{"mode": m, "top_k": top_k, "threshold": threshold, "vector_weight": w, "rerank_model": rerank,
             "chat_model_id": chat, "cross_language": CROSS[c]}
            for m in MODES if m in modes for w in (weights if m == "hybrid" else weights[:1])
            for c in [c for c in CROSS if c in (cross or ["kb"])]]


def rerank_models() -> list[str]:
    return ["", *dict.fromkeys(f"{m.provider}:{m.model}" for m in services().models.list(tenant(), "rerank"))]


def run_view() -> None:
    svc = services()
    sets = svc.evaluation.sets.list(tenant())
    if not sets:
        st.info(t("eval.no_sets"), icon="📋")
        return
    kbs = kb_names()
    ids = [s.id for s in sets]
    current = st.session_state.get(SET_KEY) if st.session_state.get(SET_KEY) in ids else ids[0]
    set_id = st.selectbox(t("eval.question_set"), ids, index=ids.index(current), key="eval_run_set",
                          format_func=lambda i: next(s.name for s in sets if s.id == i))
    qset = next(s for s in sets if s.id == set_id)
    with st.form("eval_run_form"):
        kb_ids = st.multiselect(t("eval.kbs"), list(kbs), default=[qset.kb_id] if qset.kb_id in kbs else [],
                                format_func=kbs.get, key=f"eval_run_kbs_{set_id}")
        modes = st.pills(t("eval.modes"), MODES, selection_mode="multi", default=list(MODES), key="eval_run_modes",
                         format_func=lambda m: t("hit_testing.mode." + m))
        weights = st.pills(t("eval.weights"), WEIGHTS, selection_mode="multi", default=[0.7], key="eval_run_weights",
                           help=t("eval.weights_help"))
        cols = st.columns(4)
        top_k = cols[0].number_input(t("hit_testing.top_k"), 1, 100, 5, key="eval_run_k")
        threshold = cols[1].slider(t("hit_testing.threshold"), 0.0, 1.0, 0.0, 0.05, key="eval_run_threshold")
        reranks = rerank_models()
        rerank = cols[2].selectbox(t("eval.rerank"), reranks, key="eval_run_rerank", accept_new_options=True,
                                   format_func=lambda r: r or t("eval.rerank_none"))
        models = chat_models()
        chat = cols[3].selectbox(t("eval.chat_model"), list(models), format_func=models.get, key="eval_run_chat",
                                 help=t("eval.chat_help"))
        cross = st.pills(t("xlang.eval.cross"), list(CROSS), selection_mode="multi", default=["kb"],
                         key="eval_run_cross", format_func=lambda c: t("xlang.eval.choice." + c),
                         help=t("xlang.eval.cross_help"))
        started = st.form_submit_button(t("eval.start"), type="primary", icon="▶️")
    if started:
        configs = configurations(modes or [], weights or [], int(top_k), float(threshold), rerank or "", chat,
                                 cross or ["kb"])
        if not configs:
            st.warning(t("eval.need_mode"), icon="✍️")
            return
        runs = attempt(lambda: svc.evaluation.start(tenant(), set_id, configs, kb_ids=kb_ids))
        if runs:
            st.session_state[GROUP_KEY] = runs[0].group_id
            st.session_state[NEXT_VIEW] = "results"  # the view switch is drawn already: switch on the rerun
            st.rerun()


def main() -> None:
    page_header(f"🧪 {t('eval.title')}", t("eval.caption"))
    show_flash()
    st.session_state.setdefault("eval_view", "sets")
    if NEXT_VIEW in st.session_state:
        st.session_state["eval_view"] = st.session_state.pop(NEXT_VIEW)
    view = st.segmented_control(t("eval.view"), VIEWS, key="eval_view", required=True, label_visibility="collapsed",
                                format_func=lambda v: f"{VIEW_ICONS[v]} {t('eval.view.' + v)}")
    {"sets": sets_view, "run": run_view, "results": results_view}[view or "sets"]()


if __name__ == "__main__":  # run as a page (Streamlit executes it as __main__); importable in tests
    main()
