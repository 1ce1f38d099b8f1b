"""Almanac admin UI: sign-in, sidebar (account, language), navigation, and the workspace home page."""

from __future__ import annotations

import html

import streamlit as st

from pages.components.account import gate, sidebar_box
from pages.components.common import PAGES, fmt_time, link, services, status_badge, tenant
from pages.components.demo import demo_notice
from pages.components.i18n import LANGUAGES, initial_language, remember_language, t, write_language_cookie
from pages.components.progress import inject_css as inject_progress_css
from pages.components.progress import task_html


# A popover button's icons are swapped when it opens (the chevron flips). A click on one reached Streamlit's
# "click outside closes" check after the swap whenever drawing the menu took over 50 ms, so the menu shut at
# once: let clicks land on the button itself, which stays.
GLOBAL_CSS = "<style>[data-testid='stPopoverButton'] * { pointer-events: none; }</style>"


def sidebar():  # noqa: ANN201 - a Streamlit container
    """Name and language, also on the sign-in screen; returns the place of the account box (filled once signed in)."""
    with st.sidebar:
        st.html(GLOBAL_CSS)
        st.markdown(f"### 📚 {t('app.name')}")
        st.caption(t("app.tagline"))
        account = st.container()
        codes = list(LANGUAGES)
        st.selectbox(t("sidebar.language"), codes, key="lang", format_func=LANGUAGES.get, on_change=remember_language)
        write_language_cookie()
    return account


def fmt_count(n: int) -> str:
    """A figure that fits a narrow column: 4,213 · 98,304 · 1.2M."""
    if n < 1_000_000:
        return f"{n:,}"
    return f"{n / 1_000_000:.1f}M" if n < 1_000_000_000 else f"{n / 1_000_000_000:.1f}B"


def home() -> None:
    svc = services()
    st.title(f"📚 {t('app.name')}")
    st.caption(t("home.caption"))
    if svc.settings.demo:
        demo_notice(svc)
    kbs = svc.knowledge.list(tenant(), page_size=1000).items
    if not kbs:
        st.info(t("home.empty"), icon="👋")
        link("knowledge_bases", t("common.go_create_kb"), icon="➕")
        return
    totals = st.columns(4)
    totals[0].metric(t("home.kbs"), len(kbs))
    totals[1].metric(t("home.documents"), sum(k.document_count for k in kbs))
    totals[2].metric(t("home.chunks"), sum(k.chunk_count for k in kbs))
    totals[3].metric(t("home.hits"), sum(k.hit_count for k in kbs))

    st.subheader(t("home.kbs"))
    # The figures of a card are smaller than the totals above: "1,234,567 characters" must fit, not show "4,…".
    st.html("<style>[class*='st-key-home_kb_'] [data-testid='stMetricValue'] { font-size: 1.35rem; }</style>")
    for kb in kbs[:12]:
        with st.container(border=True, key=f"home_kb_{kb.id}"):
            cols = st.columns([3.2, 1, 1, 1.4, 0.8, 2.6])
            cols[0].markdown(f"**{kb.icon or '📘'} {kb.name}**  \n:gray[{kb.description or kb.embedding_model}]")
            cols[1].metric(t("home.documents"), fmt_count(kb.document_count))
            cols[2].metric(t("home.chunks"), fmt_count(kb.chunk_count))
            cols[3].metric(t("home.characters"), fmt_count(kb.char_count), help=f"{kb.char_count:,}")
            cols[4].metric(t("home.hits"), fmt_count(kb.hit_count))
            with cols[5]:
                link("documents", t("home.open_documents"), icon="📄", kb=kb.id)
                link("hit_testing", t("home.open_hit_testing"), icon="🎯", kb=kb.id)
    left, right = st.columns([3, 2])
    with left:
        processing()
    with right:
        recent_queries({k.id: k.name for k in kbs})


@st.fragment(run_every=2)
def processing() -> None:
    """Re-runs every 2 s on its own, so progress moves without reloading the page."""
    inject_progress_css()
    st.subheader(t("home.latest_documents"))
    docs = services().documents.recent(tenant(), limit=8)
    if not docs:
        st.caption(t("home.no_documents"))
    for d in docs:
        cols = st.columns([4, 2, 4])
        cols[0].markdown(f"**{d.name}**")
        cols[1].markdown(status_badge(d.status) + ("" if d.enabled else f" :gray-badge[{t('home.disabled')}]"))
        # One element whatever the state (see pages/components/progress.py), from the same DocumentInfo.
        if d.task and (d.task.active or d.task.state == "error"):
            cols[2].markdown(task_html(d, with_timeline=False), unsafe_allow_html=True)
        else:
            summary = t("home.doc_summary", n=d.chunk_count, time=fmt_time(d.updated_at))
            cols[2].markdown(f"<div class='almanac-task'>{html.escape(summary)}</div>", unsafe_allow_html=True)


def recent_queries(kb_names: dict[str, str]) -> None:
    st.subheader(t("home.recent_queries"))
    entries = services().retrieval.recent_queries(tenant(), limit=8)
    if not entries:
        st.caption(t("home.no_queries"))
    for q in entries:
        with st.container(border=True):
            st.markdown(f"🔎 **{q.query}**")
            st.caption(t("home.query_summary", kb=kb_names.get(q.kb_id, "—"), mode=t("hit_testing.mode." + q.mode), n=q.result_count,
                         ms=f"{q.elapsed_ms:.0f}", time=fmt_time(q.created_at)))


st.set_page_config(page_title="Almanac", page_icon="📚", layout="wide")
if "lang" not in st.session_state:
    st.session_state["lang"] = initial_language()
account_box = sidebar()
if gate():
    with account_box:
        sidebar_box()
    navigation = st.navigation({
        t("nav.section.workspace"): [st.Page(home, title=t("nav.home"), icon="🏠", default=True),
                                     st.Page(PAGES["settings"], title=t("nav.settings"), icon="⚙️")],
        t("nav.section.knowledge"): [
            st.Page(PAGES["knowledge_bases"], title=t("nav.knowledge_bases"), icon="📚"),
            st.Page(PAGES["documents"], title=t("nav.documents"), icon="📄"),
            st.Page(PAGES["chunks"], title=t("nav.chunks"), icon="🧩"),
            st.Page(PAGES["hit_testing"], title=t("nav.hit_testing"), icon="🎯"),
            st.Page(PAGES["evaluation"], title=t("nav.evaluation"), icon="🧪"),
        ],
        t("nav.section.chat"): [
            st.Page(PAGES["chat"], title=t("nav.chat"), icon="💬"),
            st.Page(PAGES["assistants"], title=t("nav.assistants"), icon=":material/smart_toy:"),
            st.Page(PAGES["models"], title=t("nav.models"), icon="🧠"),
        ],
        t("nav.section.agents"): [
            st.Page(PAGES["agents"], title=t("nav.agents"), icon="🤖"),
            st.Page(PAGES["tools"], title=t("nav.tools"), icon="🧰"),
        ],
    })
    navigation.run()
