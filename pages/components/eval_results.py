"""Evaluation page, results: live progress, the comparison table and charts, and a drill-down per question."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.evaluation.schemas import QuestionResult, RunInfo
from pages.components.chunk_card import inject_css, query_terms, show_text
from pages.components.common import attempt, fmt_time, link, md, services, tenant
from pages.components.i18n import t

GROUP_KEY = "eval_group"
REFRESH_SECONDS = 2
HEADLINE = ("precision", "recall", "hit", "ndcg3", "ndcg10", "mrr", "map")
GENERATION = ("bleu1", "bleu2", "bleu4", "rouge1", "rouge2", "rougel")


def group_label(runs: list[RunInfo], set_names: dict[str, str]) -> str:
    first = runs[0]
    return t("eval.group_label", set=set_names.get(first.set_id, "—"), n=len(runs), time=fmt_time(first.created_at),
             labels=", ".join(r.label for r in runs))


def progress(runs: list[RunInfo], running: bool) -> None:
    """Refreshes itself every few seconds while a run of the comparison is active."""
    svc = services()
    fresh = [svc.evaluation.get_run(tenant(), r.id) for r in runs]
    if running and not any(r.active for r in fresh):
        st.rerun()  # all done: a full run draws the results and stops the timer
    for run in fresh:
        cols = st.columns([3, 6, 1.4], vertical_alignment="center")
        cols[0].markdown(f"**{run.label}** {status_badge_run(run.state)}")
        share = run.finished / run.total if run.total else 0.0
        text = t("eval.progress", done=run.finished, total=run.total)
        cols[1].progress(share, text=f"{text} · {run.message}" if run.active else text)
        if run.active and cols[2].button(t("common.cancel"), icon="⏹️", key=f"eval_cancel_{run.id}"):
            attempt(lambda r=run: svc.evaluation.cancel(tenant(), [r.id]))


def status_badge_run(state: str) -> str:
    colors = {"waiting": "orange", "running": "blue", "completed": "green", "error": "red", "cancelled": "gray"}
    return f":{colors.get(state, 'gray')}-badge[{t('eval.state.' + state)}]"


def comparison_frame(runs: list[RunInfo]) -> pd.DataFrame:
    rows = []
    for run in runs:
        row = {t("eval.col.configuration"): run.label, **{m: run.summary().get(m) for m in HEADLINE}}
        if any(r.generation for r in runs):
            row.update({m: (run.generation or {}).get(m) for m in GENERATION})
        row[t("eval.col.latency")] = round(run.latency_ms, 1)
        rows.append(row)
    return pd.DataFrame(rows)


def metric_chart(runs: list[RunInfo]) -> alt.Chart:
    data = pd.DataFrame([{"metric": m, "configuration": r.label, "value": v}
                         for r in runs for m, v in {**r.summary(), **(r.generation or {})}.items()])
    labels = [r.label for r in runs]
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("metric:N", sort=list(HEADLINE + GENERATION), title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("configuration:N", sort=labels),
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title=None),
        color=alt.Color("configuration:N", sort=labels, legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["configuration", "metric", alt.Tooltip("value:Q", format=".3f")])


def rank_text(rank: int | None) -> str:
    return str(rank) if rank else t("eval.miss")


def heatmap(runs: list[RunInfo], results: dict[str, list[QuestionResult]]) -> alt.Chart:
    """Question x configuration, coloured by where the first relevant chunk ranked (red = not found)."""
    data = pd.DataFrame([{"question": f"{r.position + 1}. {r.question[:80]}", "configuration": run.label,
                          "reciprocal rank": r.metrics.get("mrr", 0.0), "rank": rank_text(r.first_relevant_rank)}
                         for run in runs for r in results[run.id]])
    base = alt.Chart(data).encode(
        x=alt.X("configuration:N", title=None, sort=[r.label for r in runs],
                axis=alt.Axis(labelAngle=0, labelOverlap=False, labelLimit=200, orient="top")),
        y=alt.Y("question:N", sort=None, title=None, axis=alt.Axis(labelLimit=360)))
    cells = base.mark_rect().encode(
        color=alt.Color("reciprocal rank:Q", scale=alt.Scale(domain=[0, 1], range=["#d94c4c", "#f2d35c", "#3aa76d"]),
                        legend=alt.Legend(title=t("eval.heat_legend"), gradientLength=80)),
        tooltip=["question", "configuration", "rank"])
    return cells + base.mark_text(fontSize=11).encode(text="rank:N")


def question_choice(results: dict[str, list[QuestionResult]], runs: list[RunInfo]) -> int | None:
    first = results[runs[0].id]
    if not first:
        return None
    missed = {r.position for run in runs for r in results[run.id] if r.first_relevant_rank is None}
    options = [r.position for r in first]
    default = min(missed) if missed else options[0]
    return st.selectbox(t("eval.drill_question"), options, index=options.index(default),
                        key=f"eval_q_{runs[0].group_id}",
                        format_func=lambda p: f"{'❌' if p in missed else '✅'} {p + 1}. {first[p].question}"
                        if p < len(first) else str(p))


def expected_box(r: QuestionResult) -> None:
    with st.container(border=True):
        st.markdown(f"**{t('eval.expected')}**")
        if r.relevant_docs:
            st.markdown(f"📄 {md(', '.join(r.relevant_docs))}")
        for text in r.relevant_text:
            show_text(text)
        if r.answer_reference:
            st.caption(f"{t('eval.reference_answer')}: {r.answer_reference}")


def retrieved_column(run: RunInfo, r: QuestionResult) -> None:
    terms = query_terms(r.question)
    st.markdown(f"**{md(run.label)}**")
    rank = r.first_relevant_rank
    st.markdown(t("eval.found_at", rank=rank) if rank else f":red[{t('eval.not_found', k=run.config.top_k)}]")
    for h in r.hits:
        mark = "✅" if h.relevant else "▫️"
        with st.container(border=True):
            st.markdown(f"{mark} **{h.rank}.** 📄 {md(h.document_name)} · `{h.score:.3f}`")
            show_text(h.content[:300] + ("…" if len(h.content) > 300 else ""), terms)
    if not r.hits:
        st.caption(t("eval.nothing_retrieved"))
    if r.answer:
        st.markdown(f"💬 {r.answer}")
    cfg = run.config
    link("hit_testing", t("eval.open_hit_testing"), icon="🎯", kb=run.kb_ids[0], q=r.question, mode=cfg.mode,
         k=str(cfg.top_k), threshold=str(cfg.threshold), weight=str(cfg.vector_weight),
         cross={None: "", True: "all", False: "off"}[cfg.cross_language])


def drill_down(runs: list[RunInfo], results: dict[str, list[QuestionResult]]) -> None:
    inject_css()
    st.subheader(t("eval.drill_title"))
    position = question_choice(results, runs)
    if position is None:
        return
    by_run = {run.id: {r.position: r for r in results[run.id]} for run in runs}
    expected_box(by_run[runs[0].id][position])
    for col, run in zip(st.columns(len(runs)), runs, strict=True):
        with col:
            r = by_run[run.id].get(position)
            if r is None:
                st.caption(t("eval.not_evaluated"))
            else:
                retrieved_column(run, r)


def results_view() -> None:
    svc = services()
    groups = svc.evaluation.groups(tenant())
    if not groups:
        st.info(t("eval.no_runs"), icon="📊")
        return
    set_names = {s.id: s.name for s in svc.evaluation.sets.list(tenant())}
    ids = [g[0].group_id for g in groups]
    if st.session_state.get(GROUP_KEY) not in ids:
        st.session_state[GROUP_KEY] = ids[0]
    chosen = st.selectbox(t("eval.history"), ids, key=GROUP_KEY,
                          format_func=lambda g: group_label(groups[ids.index(g)], set_names))
    runs = groups[ids.index(chosen)]
    active = any(r.active for r in runs)
    st.fragment(run_every=REFRESH_SECONDS if active else None)(progress)(runs, active)
    done = [r for r in runs if r.state == "completed"]
    if not done:
        return
    for r in runs:
        if r.error:
            st.error(f"{r.label}: {r.error}", icon="⚠️")
    st.subheader(t("eval.comparison"))
    st.dataframe(comparison_frame(done), hide_index=True, width="stretch",
                 column_config={m: st.column_config.NumberColumn(m, format="%.3f") for m in HEADLINE + GENERATION})
    st.caption(t("eval.metrics_help", k=done[0].config.top_k))
    results = {r.id: svc.evaluation.results(tenant(), r.id) for r in done}
    st.markdown(f"**{t('eval.chart_metrics')}**")
    st.altair_chart(metric_chart(done), width="stretch", height=340)
    st.markdown(f"**{t('eval.chart_heatmap')}**")
    rows = len(results[done[0].id])
    st.altair_chart(heatmap(done, results), width="stretch", height=max(180, 60 + 26 * rows))
    drill_down(done, results)
