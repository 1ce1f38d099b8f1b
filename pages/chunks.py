"""Chunks of one document: browse, search, edit in place, add, enable/disable and delete.

`?kb=&doc=&chunk=` in the URL open a document and jump to one chunk (its page, highlighted),
which is how hit-test results and citations link here.
"""

from __future__ import annotations

import streamlit as st

from core.schemas import ChunkInfo, DocumentInfo
from pages.components.chunk_card import badge, inject_css, keyword_badges, meta_badges, show_text, split_keywords
from pages.components.common import attempt, kb_picker, link, page_header, pager, param, services, status_badge, tenant
from pages.components.i18n import t

PAGE_SIZES = (10, 20, 50)
ACTION = "chunks_action"  # (kind, chunk_id) queued by a card's button, run before the list renders
FOCUSED = "chunks_focused"  # the ?chunk= whose page was already opened (so paging away works)

svc = services()


# ------------------------------------------------------------------ choosing the document

def adopt_chunk_link() -> None:
    """A link with only `?chunk=`: find its knowledge base and document."""
    cid = param("chunk")
    if cid and not param("doc"):
        found = attempt(lambda: svc.chunks.get(tenant(), cid))
        if found:
            st.query_params["kb"], st.query_params["doc"] = found.kb_id, found.doc_id


def _doc_changed(key: str) -> None:
    st.query_params["doc"] = st.session_state[key]
    if "chunk" in st.query_params:
        del st.query_params["chunk"]


def doc_picker(kb_id: str) -> DocumentInfo | None:
    docs = svc.documents.list(tenant(), kb_id, page_size=1000, order_by="name", desc=False).items
    if not docs:
        st.info(t("chunks.no_documents"), icon="📄")
        link("documents", t("chunks.go_documents"), icon="📤", kb=kb_id)
        return None
    by_id = {d.id: d for d in docs}
    key = f"chunks_doc_{kb_id}"
    wanted = param("doc")
    if wanted in by_id:
        st.session_state[key] = wanted
    elif st.session_state.get(key) not in by_id:
        st.session_state[key] = docs[0].id
    chosen = st.selectbox(t("common.document"), list(by_id), key=key, on_change=_doc_changed, args=(key,),
                          format_func=lambda i: f"📄 {by_id[i].name}")
    if param("doc") != chosen:
        st.query_params["doc"] = chosen
    return by_id[chosen]


def doc_summary(doc: DocumentInfo) -> None:
    cols = st.columns([5, 2], vertical_alignment="center")
    cols[0].markdown(" ".join([
        status_badge(doc.status), badge(t("chunks.n_chunks", n=doc.chunk_count)),
        badge(t("chunks.n_chars", n=f"{doc.char_count:,}")), badge(t("chunks.n_hits", n=doc.hit_count), "blue"),
        "" if doc.enabled else badge(t("chunks.doc_disabled"), "orange"),
    ]))
    with cols[1]:
        link("documents", t("chunks.back_to_documents"), icon="📄", kb=doc.kb_id)


def processing_notice(doc: DocumentInfo) -> None:
    """While the document is processed: live progress; reload the page when it finishes."""

    @st.fragment(run_every=2)
    def watch() -> None:
        now = attempt(lambda: svc.documents.get(tenant(), doc.id))
        if now is None or not (now.task and now.task.active):
            st.rerun(scope="app")
        message = now.task.message or t("chunks.processing")
        st.progress(now.task.progress, text=f"{t('status.' + now.status)} · {message}")

    with st.container(border=True):
        st.markdown(f"⏳ {t('chunks.processing')}")
        watch()


# ------------------------------------------------------------------ actions

def queue(kind: str, cid: str) -> None:
    st.session_state[ACTION] = (kind, cid)


def set_flag(name: str, cid: str, on: bool) -> None:
    st.session_state[f"chunks_{name}_{cid}"] = on


def run_pending_action() -> None:
    """Run what a card's button asked for (errors show here, above the list; success toasts)."""
    action = st.session_state.pop(ACTION, None)
    if not action:
        return
    kind, cid = action
    if kind == "save":
        content = st.session_state.get(f"chunks_text_{cid}", "")
        keywords = split_keywords(st.session_state.get(f"chunks_kw_{cid}", ""))
        saved = attempt(lambda: svc.chunks.update(tenant(), cid, content=content, keywords=keywords),
                        success=t("chunks.saved"))
        if saved:
            set_flag("edit", cid, False)
    elif kind == "toggle":
        enabled = bool(st.session_state.get(f"chunks_on_{cid}"))
        attempt(lambda: svc.chunks.update(tenant(), cid, enabled=enabled),
                success=t("chunks.enabled_done" if enabled else "chunks.disabled_done"))
    elif kind == "add":  # cid is the document here
        content, keywords = st.session_state.get("chunks_new_text", ""), st.session_state.get("chunks_new_kw", "")
        if not content.strip():
            st.warning(t("chunks.content_required"), icon="✍️")
            return
        added = attempt(lambda: svc.chunks.add(tenant(), cid, content, keywords=split_keywords(keywords)),
                        success=t("chunks.added"))
        if added:  # open the page the new chunk landed on, highlighted
            st.query_params["chunk"] = added.id
            st.session_state[FOCUSED] = None
    elif kind == "delete":
        if attempt(lambda: svc.chunks.delete(tenant(), [cid]), success=t("chunks.deleted")) is not None:
            set_flag("confirm", cid, False)
            if param("chunk") == cid:
                del st.query_params["chunk"]


def add_chunk_form(doc: DocumentInfo) -> None:
    with st.expander(t("chunks.add"), icon="➕"), st.form(f"chunks_add_{doc.id}", clear_on_submit=True, border=False):
        st.text_area(t("chunks.content"), height=140, key="chunks_new_text",
                     placeholder=t("chunks.content_placeholder"))
        st.text_input(t("chunks.keywords"), key="chunks_new_kw", placeholder=t("chunks.keywords_placeholder"))
        st.form_submit_button(t("chunks.add_submit"), type="primary", icon="➕", on_click=queue, args=("add", doc.id))


# ------------------------------------------------------------------ one chunk

def chunk_card(c: ChunkInfo, focused: bool) -> None:
    editing = st.session_state.get(f"chunks_edit_{c.id}", False)
    confirming = st.session_state.get(f"chunks_confirm_{c.id}", False)
    with st.container(border=True, key=f"chunk_{c.id}"):
        head, actions = st.columns([3, 2], vertical_alignment="center")
        stats = [f"{'📍 ' if focused else ''}**#{c.position + 1}**",
                 badge(t("chunks.n_chars", n=f"{c.char_count:,}")), badge(t("chunks.n_tokens", n=c.token_count)),
                 badge(t("chunks.n_hits", n=c.hit_count), "blue" if c.hit_count else "gray"), meta_badges(c.meta)]
        if not c.enabled:
            stats.append(badge(t("common.disabled"), "orange"))
        if not c.embedded:
            stats.append(badge(t("chunks.not_embedded"), "orange"))
        head.markdown(" ".join(s for s in stats if s))
        with actions, st.container(horizontal=True, horizontal_alignment="right", vertical_alignment="center"):
            st.session_state[f"chunks_on_{c.id}"] = c.enabled  # always mirror the stored state
            st.toggle(t("common.enabled"), key=f"chunks_on_{c.id}", on_change=queue, args=("toggle", c.id))
            st.button(t("common.edit"), icon="✏️", key=f"chunks_editbtn_{c.id}", disabled=editing,
                      on_click=set_flag, args=("edit", c.id, True))
            st.button(t("common.delete"), icon="🗑️", key=f"chunks_delbtn_{c.id}", disabled=confirming,
                      on_click=set_flag, args=("confirm", c.id, True))
        if editing:
            st.text_area(t("chunks.content"), value=c.content, key=f"chunks_text_{c.id}", height=200)
            st.text_input(t("chunks.keywords"), value=", ".join(c.keywords), key=f"chunks_kw_{c.id}",
                          help=t("chunks.keywords_help"))
            with st.container(horizontal=True):
                st.button(t("common.save"), icon="💾", type="primary", key=f"chunks_save_{c.id}",
                          on_click=queue, args=("save", c.id))
                st.button(t("common.cancel"), key=f"chunks_cancel_{c.id}", on_click=set_flag,
                          args=("edit", c.id, False))
            st.caption(f"ℹ️ {t('chunks.reembed_note')}")
            return
        show_text(c.content, enabled=c.enabled)
        if c.keywords:
            st.markdown(keyword_badges(c.keywords))
        if confirming:
            with st.container(border=True):
                st.warning(t("chunks.confirm_delete", n=c.position + 1), icon="🗑️")
                with st.container(horizontal=True):
                    st.button(t("chunks.delete_confirm"), type="primary", key=f"chunks_delyes_{c.id}",
                              on_click=queue, args=("delete", c.id))
                    st.button(t("common.cancel"), key=f"chunks_delno_{c.id}",
                              on_click=set_flag, args=("confirm", c.id, False))


# ------------------------------------------------------------------ the list

def focus_page(doc: DocumentInfo, size: int, page_key: str, search_key: str) -> str:
    """The chunk named by `?chunk=` (when it is in this document); on arrival, open its page."""
    cid = param("chunk")
    if not cid:
        return ""
    if st.session_state.get(FOCUSED) != cid:
        st.session_state[FOCUSED] = cid
        found = attempt(lambda: svc.chunks.get(tenant(), cid))
        if found is None or found.doc_id != doc.id:
            return ""
        page = attempt(lambda: svc.chunks.page_of(tenant(), cid, size))
        if page:
            st.session_state[page_key] = page
            st.session_state[search_key] = ""
            st.session_state["chunks_scroll"] = cid
    return cid


def empty_state(doc: DocumentInfo, keyword: str) -> None:
    if keyword:
        st.info(t("chunks.no_match", keyword=keyword), icon="🔍")
    elif doc.task and doc.task.active:
        st.info(t("chunks.wait_processing"), icon="⏳")
    elif doc.status == "error":
        st.error(t("chunks.doc_failed", error=doc.task.error or "—"), icon="⚠️")
        link("documents", t("chunks.go_documents"), icon="📄", kb=doc.kb_id)
    elif doc.status in ("unstart", "cancelled"):
        st.info(t("chunks.not_parsed"), icon="🧩")
        link("documents", t("chunks.go_documents"), icon="📄", kb=doc.kb_id)
    else:
        st.info(t("chunks.no_chunks"), icon="🧩")


def scroll_to(cid: str) -> None:
    """Bring the linked chunk into view once (after it is drawn)."""
    if st.session_state.pop("chunks_scroll", None) == cid:
        st.html(f"""<script>
          (function go(n) {{
            const el = document.querySelector('.st-key-chunk_{cid}');
            if (el) el.scrollIntoView({{behavior: 'smooth', block: 'center'}});
            else if (n > 0) setTimeout(() => go(n - 1), 200);
          }})(15);
        </script>""", unsafe_allow_javascript=True)


def chunk_list(doc: DocumentInfo) -> None:
    page_key, search_key, size_key = f"chunks_page_{doc.id}", f"chunks_search_{doc.id}", "chunks_page_size"
    st.session_state.setdefault(size_key, PAGE_SIZES[0])
    focus = focus_page(doc, st.session_state[size_key], page_key, search_key)

    bar = st.columns([4, 1], vertical_alignment="bottom")
    keyword = bar[0].text_input(t("common.search"), key=search_key, placeholder=t("chunks.search_placeholder"),
                                icon="🔍", on_change=lambda: st.session_state.update({page_key: 1}))
    size = bar[1].selectbox(t("chunks.page_size"), PAGE_SIZES, key=size_key,
                            on_change=lambda: st.session_state.update({FOCUSED: None}))
    if not (doc.task and doc.task.active):
        add_chunk_form(doc)
    keyword = keyword.strip()

    def fetch(page: int):  # noqa: ANN202
        return attempt(lambda: svc.chunks.list(tenant(), doc.id, keyword=keyword, page=page, page_size=size))

    with st.spinner(t("chunks.loading"), show_time=True):  # a long document's page must not look empty
        result = fetch(st.session_state.get(page_key, 1))
    if result is None:
        return
    if focus:
        inject_css(f".st-key-chunk_{focus} {{ border: 2px solid #f59e0b !important; "
                   "box-shadow: 0 0 0 4px rgba(245, 158, 11, 0.15); }")
    if result.total == 0:
        empty_state(doc, keyword)
        return
    if keyword:
        st.caption(t("chunks.matches", n=result.total, keyword=keyword))
    cards = st.container()
    page = pager(result.total, size, page_key)
    if page != result.page:
        result = fetch(page) or result
    with cards, st.spinner(t("chunks.loading"), show_time=True):
        for c in result.items:
            chunk_card(c, focused=c.id == focus)
    if focus:
        scroll_to(focus)


# ------------------------------------------------------------------ page

page_header(f"🧩 {t('chunks.title')}", t("chunks.caption"))
inject_css()
adopt_chunk_link()
kb = kb_picker()
if kb is not None:
    document = doc_picker(kb.id)
    if document is not None:
        run_pending_action()
        document = attempt(lambda: svc.documents.get(tenant(), document.id)) or document  # counts after the action
        doc_summary(document)
        if document.task and document.task.active:
            processing_notice(document)
        chunk_list(document)
