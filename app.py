"""Almanac admin UI entry point: page config, navigation and the workspace home page."""

from __future__ import annotations

import streamlit as st

from core.container import get_services
from core.tenants import DEFAULT_TENANT_ID

STATUS_BADGE = {
    "unstart": ("gray", "not parsed"), "waiting": ("orange", "waiting"), "parsing": ("blue", "parsing"),
    "splitting": ("blue", "splitting"), "indexing": ("violet", "indexing"), "completed": ("green", "completed"),
    "error": ("red", "error"), "cancelled": ("gray", "cancelled"),
}


def badge(status: str) -> str:
    color, label = STATUS_BADGE.get(status, ("gray", status))
    return f":{color}-badge[{label}]"


def home() -> None:
    services = get_services()
    st.title("📚 Almanac")
    st.caption("Your knowledge bases, what is being processed, and how they are used.")
    kbs = services.knowledge.list(DEFAULT_TENANT_ID, page_size=100).items
    if not kbs:
        st.info("No knowledge bases yet. Create one from the command line — "
                "`python -m core.cli kb create NAME` — then add documents with "
                "`python -m core.cli ingest NAME FOLDER`.", icon="👋")
        return
    totals = st.columns(4)
    totals[0].metric("Knowledge bases", len(kbs))
    totals[1].metric("Documents", sum(k.document_count for k in kbs))
    totals[2].metric("Chunks", sum(k.chunk_count for k in kbs))
    totals[3].metric("Hits", sum(k.hit_count for k in kbs))

    st.subheader("Knowledge bases")
    st.dataframe(
        [{"Name": f"{k.icon or '📘'} {k.name}", "Documents": k.document_count, "Chunks": k.chunk_count,
          "Characters": k.char_count, "Hits": k.hit_count, "Embedding model": k.embedding_model,
          "Updated": k.updated_at.strftime("%Y-%m-%d %H:%M")} for k in kbs],
        hide_index=True, use_container_width=True,
    )
    latest_documents()


@st.fragment(run_every=2)
def latest_documents() -> None:
    """Refreshes itself every 2 s, so progress moves without reloading the page."""
    services = get_services()
    docs = services.documents.recent(DEFAULT_TENANT_ID, limit=10)
    st.subheader("Latest documents")
    if not docs:
        st.caption("No documents yet.")
        return
    names = {k.id: k.name for k in services.knowledge.list(DEFAULT_TENANT_ID, page_size=1000).items}
    for d in docs:
        cols = st.columns([4, 2, 2, 3])
        cols[0].markdown(f"**{d.name}**  \n:gray[{names.get(d.kb_id, '')}]")
        cols[1].markdown(badge(d.status))
        cols[2].markdown(f"{d.chunk_count} chunk{'s' * (d.chunk_count != 1)}")
        if d.task and d.task.active:
            cols[3].progress(d.task.progress, text=d.task.message)
        elif d.task and d.task.state == "error":
            cols[3].markdown(f":red[{d.task.error}]")
        else:
            cols[3].markdown(f":gray[{d.task.message if d.task else 'Stored, not parsed'}]")


st.set_page_config(page_title="Almanac", page_icon="📚", layout="wide")
st.navigation([st.Page(home, title="Home", icon="🏠", default=True)]).run()
