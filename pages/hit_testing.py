"""Hit testing: try a query against one knowledge base with any strategy and see what it finds, or retrieve
exactly as a chat assistant does (its knowledge bases and retrieval settings).

Defaults come from the knowledge base's retrieval settings; every run is logged (source "ui")
and shows up under recent queries, which re-run with a click.
"""

from __future__ import annotations

import time

import streamlit as st

from core.assistants import AssistantInfo
from core.schemas import KnowledgeBaseInfo, SearchHit
from pages.components.chunk_card import badge, inject_css, keyword_badges, meta_badges, query_terms, show_text
from pages.components.common import attempt, fmt_time, kb_picker, link, page_header, param, services, tenant
from pages.components.i18n import t
from pages.components.query_variants import CHOICES, expansion_for, found_by_badge, kb_setting, variants_box

MODES = ("semantic", "full_text", "hybrid")
MODE_ICONS = {"semantic": "🧠", "full_text": "🔤", "hybrid": "⚖️"}
RESULT = "hit_testing_result"  # the last run: kept so moving a slider does not wipe the results
RUN = "hit_testing_run"  # set by "re-run" buttons; the page runs the search once
URL_QUERY = "hit_testing_url_query"  # the ?q= already adopted

svc = services()


def key(name: str, kb_id: str) -> str:
    return f"hit_testing_{name}_{kb_id}"


def mode_label(mode: str) -> str:
    return f"{MODE_ICONS.get(mode, '')} {t('hit_testing.mode.' + mode)}"


FIELDS = ("query", "mode", "top_k", "threshold", "weight", "cross")
SAVED = "hit_testing_saved"  # plain state: Streamlit drops widget values once the user leaves the page


def init_settings(kb: KnowledgeBaseInfo) -> None:
    """The form as the user left it; on the first visit, the knowledge base's retrieval settings."""
    cfg = kb.retrieval_config
    defaults = {"query": "", "mode": cfg.mode, "top_k": cfg.top_k, "threshold": float(cfg.threshold),
                "weight": float(cfg.vector_weight), "cross": "kb"}
    saved = st.session_state.setdefault(SAVED, {}).get(kb.id, {})
    for name in FIELDS:
        st.session_state.setdefault(key(name, kb.id), saved.get(name, defaults[name]))


def adopt_url_query(kb: KnowledgeBaseInfo) -> None:
    """`?q=` (with optional `mode`, `k`, `threshold`, `weight`, `cross`), e.g. from a question the Evaluation page shows
    as failed: fill the form and run once; then the URL no longer overrides what the user types."""
    query = param("q").strip()
    asked = (kb.id, *(param(n) for n in ("q", "mode", "k", "threshold", "weight", "cross")))
    if not query or st.session_state.get(URL_QUERY) == asked:
        return
    st.session_state[URL_QUERY] = asked
    st.session_state[key("query", kb.id)] = query
    if param("mode") in MODES:
        st.session_state[key("mode", kb.id)] = param("mode")
    if param("cross") in CHOICES:
        st.session_state[key("cross", kb.id)] = param("cross")
    for name, field, cast, low, high in (("k", "top_k", int, 1, 100), ("threshold", "threshold", float, 0.0, 1.0),
                                         ("weight", "weight", float, 0.0, 1.0)):
        try:
            st.session_state[key(field, kb.id)] = max(low, min(high, cast(param(name))))
        except ValueError:
            pass  # absent or not a number: keep the form's value
    st.session_state[RUN] = True


def save_settings(kb_id: str) -> None:
    st.session_state.setdefault(SAVED, {})[kb_id] = {n: st.session_state.get(key(n, kb_id)) for n in FIELDS}


def reset_settings(kb: KnowledgeBaseInfo) -> None:
    cfg = kb.retrieval_config
    st.session_state.update({key("mode", kb.id): cfg.mode, key("top_k", kb.id): cfg.top_k,
                             key("threshold", kb.id): float(cfg.threshold),
                             key("weight", kb.id): float(cfg.vector_weight), key("cross", kb.id): "kb"})


def rerun_with(kb_id: str, **changes: object) -> None:
    """Button callback: change the form (query, mode, top-k, threshold) and run the search."""
    for name, value in changes.items():
        st.session_state[key(name, kb_id)] = value
    st.session_state[RUN] = True


def query_form(kb: KnowledgeBaseInfo) -> bool:
    """The query box and the strategy settings; True when the user asked to run."""
    cfg = kb.retrieval_config
    with st.container(border=True):
        st.text_area(t("hit_testing.query"), key=key("query", kb.id), height=110,
                     placeholder=t("hit_testing.query_placeholder"))
        mode = st.segmented_control(t("hit_testing.strategy"), MODES, key=key("mode", kb.id), required=True,
                                    format_func=mode_label, width="stretch")
        st.caption(t("hit_testing.mode_help." + (mode or "hybrid")))
        cols = st.columns(3)
        cols[0].number_input(t("hit_testing.top_k"), min_value=1, max_value=100, step=1, key=key("top_k", kb.id),
                             help=t("hit_testing.top_k_help"))
        cols[1].slider(t("hit_testing.threshold"), 0.0, 1.0, step=0.01, key=key("threshold", kb.id),
                       help=t("hit_testing.threshold_help"))
        # Always rendered (disabled outside hybrid): a widget left out of a run loses its state, and Streamlit
        # then brought it back at 0.0, silently turning hybrid into keyword-only search.
        cols[2].slider(t("hit_testing.vector_weight"), 0.0, 1.0, step=0.05, key=key("weight", kb.id),
                       disabled=mode != "hybrid", help=t("hit_testing.vector_weight_help"))
        st.segmented_control(t("xlang.choice"), CHOICES, key=key("cross", kb.id), required=True,
                             format_func=lambda c: t("xlang.choice." + c), help=t("xlang.choice_help"))
        st.caption(t("xlang.this_kb", setting=kb_setting(kb, svc.glossary.count(tenant(), kb.id))))
        with st.container(horizontal=True, vertical_alignment="center"):
            run = st.button(t("hit_testing.run"), type="primary", icon="🎯", key="hit_testing_go")
            st.button(t("hit_testing.reset"), icon="🔄", key="hit_testing_reset", on_click=reset_settings, args=(kb,))
            st.caption(t("hit_testing.defaults", mode=t("hit_testing.mode." + cfg.mode), k=cfg.top_k,
                         threshold=f"{cfg.threshold:.2f}", weight=f"{cfg.vector_weight:.2f}"))
    return run


def run_search(kb: KnowledgeBaseInfo) -> None:
    query = st.session_state[key("query", kb.id)].strip()
    if not query:
        st.warning(t("hit_testing.need_query"), icon="✍️")
        return
    mode = st.session_state[key("mode", kb.id)] or "hybrid"
    threshold = float(st.session_state[key("threshold", kb.id)])
    started = time.perf_counter()
    found = attempt(lambda: svc.retrieval.search_expanded(
        tenant(), [kb.id], query, mode=mode, top_k=int(st.session_state[key("top_k", kb.id)]), threshold=threshold,
        vector_weight=float(st.session_state[key("weight", kb.id)]) if mode == "hybrid" else None, source="ui",
        expansion=expansion_for(st.session_state[key("cross", kb.id)] or "kb")))
    if found is not None:
        st.session_state[RESULT] = {"kb": kb.id, "query": query, "mode": mode, "threshold": threshold,
                                    "hits": found.hits, "found": found, "ms": (time.perf_counter() - started) * 1000}


# ---- as an assistant retrieves ----------------------------------------------------------------------

def retrieve_as_picker() -> AssistantInfo | None:
    """"Retrieve as": the knowledge base's settings, or a chat assistant's (`?assistant=` in the URL)."""
    assistants = svc.assistants.list(tenant(), kind="chat", page_size=1000, order_by="name", desc=False).items
    if not assistants:
        return None
    by_id = {a.id: a for a in assistants}
    options = ["", *by_id]
    current = param("assistant")
    chosen = st.selectbox(t("hit_testing.retrieve_as"), options, index=options.index(current) if current in by_id
                          else 0, key="hit_testing_as", help=t("hit_testing.retrieve_as_help"),
                          format_func=lambda i: f"{by_id[i].avatar or '🤖'} {by_id[i].name}" if i
                          else t("hit_testing.as_knowledge_base"))
    if chosen != current:
        if chosen:
            st.query_params["assistant"] = chosen
        else:
            st.query_params.pop("assistant", None)
    return by_id.get(chosen)


def as_assistant(a: AssistantInfo) -> None:
    """The query through the assistant's own search: its knowledge bases, threshold, weight, top N and reranker."""
    names = {k.id: k.name for k in svc.knowledge.list(tenant(), page_size=1000).items}
    kb_ids = [k for k in a.kb_ids if k in names]
    scope, p = f"as_{a.id}", a.prompt
    with st.container(border=True):
        st.markdown(t("hit_testing.as_assistant", name=a.name) + "  \n" + " ".join(
            badge(f"📘 {names[k]}", "blue") for k in kb_ids))
        st.caption(t("hit_testing.as_settings", k=p.top_n, threshold=f"{p.similarity_threshold:.2f}",
                     weight=f"{1 - p.keywords_similarity_weight:.2f}", rerank=p.rerank_model or "—"))
        if not kb_ids:
            st.info(t("hit_testing.as_no_kbs"), icon="📚")
            link("assistants", t("hit_testing.edit_assistant"), icon="🤖", assistant=a.id)
            return
        query = st.text_area(t("hit_testing.query"), key=f"hit_testing_query_{scope}", height=110,
                             placeholder=t("hit_testing.query_placeholder"))
        with st.container(horizontal=True, vertical_alignment="center"):
            run = st.button(t("hit_testing.run"), type="primary", icon="🎯", key="hit_testing_go")
            link("assistants", t("hit_testing.edit_assistant"), icon="🤖", assistant=a.id)
    if run and not query.strip():
        st.warning(t("hit_testing.need_query"), icon="✍️")
    elif run:
        started = time.perf_counter()
        hits = attempt(lambda: svc.retrieval.search(tenant(), kb_ids, query.strip(), **p.search_options(),
                                                    source="ui"))
        if hits is not None:
            st.session_state[RESULT] = {"kb": scope, "query": query.strip(), "mode": "hybrid", "hits": hits[:p.top_n],
                                        "threshold": p.similarity_threshold,
                                        "ms": (time.perf_counter() - started) * 1000}
    results(None, scope)


def score_bar(label: str, value: float | None) -> None:
    value = max(0.0, min(1.0, value or 0.0))
    st.progress(value, text=f"{label} · **{value:.3f}**")


def hit_card(rank: int, h: SearchHit, mode: str, terms: list[str], found_by: str = "") -> None:
    with st.container(border=True):
        left, right = st.columns([1, 3], gap="medium")
        with left:
            st.metric(t("hit_testing.score"), f"{h.score:.3f}")
            if mode == "hybrid":
                score_bar(t("hit_testing.semantic_part"), h.vector_score)
                score_bar(t("hit_testing.keyword_part"), h.text_score)
            else:
                st.progress(max(0.0, min(1.0, h.score)))
        with right:
            st.markdown(" ".join(s for s in [f"**{rank}.** 📄 **{h.document_name}**",
                                             badge(t("hit_testing.position", n=h.position + 1)), meta_badges(h.meta),
                                             found_by] if s))
            show_text(h.content, terms)
            with st.container(horizontal=True, vertical_alignment="center"):
                st.markdown(keyword_badges(h.keywords) or " ", width="stretch")
                link("chunks", t("hit_testing.open_chunk"), icon="🧩", kb=h.kb_id, doc=h.doc_id, chunk=h.chunk_id)


def no_results(kb: KnowledgeBaseInfo | None, result: dict) -> None:
    st.info(t("hit_testing.no_results", threshold=f"{result['threshold']:.2f}",
              mode=t("hit_testing.mode." + result["mode"])), icon="🔍")
    if kb is None:  # as an assistant: its settings are changed on the Assistants page
        return
    with st.container(horizontal=True):
        if result["threshold"] > 0:
            st.button(t("hit_testing.retry_threshold"), icon="⬇️", key="hit_testing_lower",
                      on_click=rerun_with, args=(kb.id,), kwargs={"threshold": 0.0})
        for other in MODES:
            if other != result["mode"]:
                st.button(t("hit_testing.retry_mode", mode=t("hit_testing.mode." + other)), icon=MODE_ICONS[other],
                          key=f"hit_testing_try_{other}", on_click=rerun_with, args=(kb.id,), kwargs={"mode": other})


def results(kb: KnowledgeBaseInfo | None, scope: str) -> None:
    result = st.session_state.get(RESULT)
    if not result or result["kb"] != scope:
        st.info(t("hit_testing.start"), icon="🎯")
        return
    hits = result["hits"]
    st.subheader(t("hit_testing.results"))
    st.caption(t("hit_testing.summary", n=len(hits), query=result["query"],
                 mode=t("hit_testing.mode." + result["mode"]),
                 ms=f"{result['ms']:.0f}"))
    found = result.get("found")
    if found is not None:
        variants_box(found)
    if not hits:
        no_results(kb, result)
        return
    terms = query_terms(" ".join(v.keywords or v.text for v in found.variants) if found else result["query"])
    for rank, h in enumerate(hits, 1):
        hit_card(rank, h, result["mode"], terms, found_by_badge(found, h.chunk_id))


def recent_queries(kb: KnowledgeBaseInfo) -> None:
    st.subheader(f"🕘 {t('hit_testing.recent')}")
    entries = attempt(lambda: svc.retrieval.recent_queries(tenant(), kb.id, limit=30)) or []
    seen: set[tuple[str, str]] = set()
    shown = 0
    for q in entries:
        if (q.query, q.mode) in seen or shown >= 10:
            continue
        seen.add((q.query, q.mode))
        shown += 1
        with st.container(border=True):
            label = q.query if len(q.query) <= 80 else q.query[:79] + "…"
            st.button(label, icon="🔎", key=f"hit_testing_recent_{q.id}", type="tertiary", help=t("hit_testing.rerun"),
                      on_click=rerun_with, args=(kb.id,),
                      kwargs={"query": q.query, "mode": q.mode, "top_k": max(1, min(100, q.top_k))})
            st.caption(t("hit_testing.recent_summary", mode=t("hit_testing.mode." + q.mode), n=q.result_count,
                         ms=f"{q.elapsed_ms:.0f}", time=fmt_time(q.created_at), source=q.source))
    if not shown:
        st.caption(t("hit_testing.no_recent"))


page_header(f"🎯 {t('hit_testing.title')}", t("hit_testing.caption"))
inject_css()
assistant = retrieve_as_picker()
kb = kb_picker() if assistant is None else None
if assistant is not None:
    as_assistant(assistant)
elif kb is not None:
    init_settings(kb)
    adopt_url_query(kb)
    if kb.chunk_count == 0:
        st.info(t("hit_testing.no_chunks"), icon="📄")
        link("documents", t("hit_testing.go_documents"), icon="📤", kb=kb.id)
    else:
        main, side = st.columns([7, 3], gap="large")
        with main:
            asked = query_form(kb)
            save_settings(kb.id)
            if asked or st.session_state.pop(RUN, False):
                run_search(kb)
            results(kb, kb.id)
        with side:
            recent_queries(kb)
