"""Documents of one knowledge base: add (upload or URL), watch processing live, manage each document."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import streamlit as st

from core.errors import AlmanacError
from core.schemas import ACTIVE_STATES, DocumentInfo
from core.text import human_size
from pages.components.chunk_rules import processing_rules
from pages.components.common import (
    attempt,
    flash,
    fmt_time,
    kb_picker,
    link,
    md,
    page_header,
    pager,
    services,
    show_flash,
    status_badge,
    tenant,
)
from pages.components.i18n import language, t
from pages.components.progress import inject_css, task_line

PAGE_SIZE = 20
REFRESH_SECONDS = 2
KIND_ICONS = {"pdf": "📕", "md": "📝", "txt": "📄", "docx": "📘", "html": "🌐", "csv": "📊", "xlsx": "📗",
              "json": "🧾", "image": "🖼️", "pptx": "📙", "eml": "✉️", "epub": "📖"}
SORTS = {"newest": ("created_at", True), "oldest": ("created_at", False), "name": ("name", False),
         "largest": ("size", True)}
STATUS_FILTER = ["", "unstart", *ACTIVE_STATES, "completed", "error", "cancelled"]
COLUMNS = [4.2, 2.6, 1, 1.2, 0.8, 0.9, 0.6]  # name, status, chunks, characters, hits, enabled, actions


class Uploaded(Protocol):
    """What the upload handler needs of st.file_uploader's UploadedFile."""

    name: str

    def getvalue(self) -> bytes: ...


def lang_key(name: str) -> str:
    """Widget key per language: choice widgets store the *translated* label, which a switch would orphan."""
    return f"{name}_{language()}"


def act(action: Callable[[], Any], success: str) -> None:
    """Run a service call; on success remember the toast and rerun the whole page (counts, refresh)."""
    if attempt(action) is not None:
        flash(success)
        st.rerun()


# ---- handlers (tested directly) -------------------------------------------------------------------

def upload_files(kb_id: str, files: Sequence[Uploaded], chunk_config: dict | None = None,
                 parse: bool = True, on_duplicate: str = "keep") -> list[DocumentInfo] | None:
    """Store the uploaded files as documents (queued for processing unless `parse` is False)."""
    payload = [(f.name, f.getvalue()) for f in files]
    return attempt(lambda: services().documents.upload(tenant(), kb_id, payload, parse=parse,
                                                       chunk_config=chunk_config, on_duplicate=on_duplicate))


def duplicates_of(kb_id: str, files: Sequence[Uploaded]) -> dict[str, str]:
    """The chosen files whose content the knowledge base already has: file name -> that document's name."""
    return attempt(lambda: services().documents.duplicates(tenant(), kb_id, [(f.name, f.getvalue()) for f in files])
                   ) or {}


def import_from_url(kb_id: str, url: str, chunk_config: dict | None = None, parse: bool = True) -> DocumentInfo | None:
    if not url.strip():
        st.warning(t("docs.url_empty"), icon="🔗")
        return None
    try:
        return services().documents.import_url(tenant(), kb_id, url.strip(), parse=parse, chunk_config=chunk_config)
    except AlmanacError as exc:
        st.error(t("docs.url_failed", error=exc.message), icon="⚠️")
        return None


def active_count(kb_id: str) -> int:
    docs = services().documents
    return sum(docs.list(tenant(), kb_id, status=state, page_size=1).total for state in ACTIVE_STATES)


def refresh_interval(kb_id: str) -> int | None:
    """Seconds between live refreshes of the table: only while something is being processed."""
    return REFRESH_SECONDS if active_count(kb_id) else None


def download_bytes(doc_id: str) -> bytes:
    try:
        return services().documents.download(tenant(), doc_id)[1]
    except AlmanacError:
        return b""


# ---- adding documents -----------------------------------------------------------------------------

def add_documents(kb: Any, expanded: bool) -> None:
    with st.expander(t("docs.add"), icon="➕", expanded=expanded):
        # Rules first: they are chosen before pressing Upload or Import below.
        with st.container(border=True):
            config = processing_rules(kb.chunk_config, key=lang_key("docs_rules"))
            parse = not st.checkbox(t("docs.store_only"), key="docs_store_only", help=t("docs.store_only_help"))
        tab_files, tab_url = st.tabs([f"📤 {t('docs.tab_files')}", f"🔗 {t('docs.tab_url')}"])
        with tab_files:
            n = st.session_state.setdefault("docs_uploader_n", 0)
            svc = services()  # the browser refuses files over the limit (a demo visitor's is lower) before sending
            limit_mb = max(1, svc.visitors.upload_limit(svc.settings.max_upload_bytes) // 2**20)
            files = st.file_uploader(t("docs.files"), accept_multiple_files=True, key=f"docs_files_{n}",
                                     help=t("docs.files_help"), max_upload_size=limit_mb)
            st.caption(t("docs.supported"))
            label = t("docs.upload_button", n=len(files)) if files else t("docs.upload")
            choice = None
            if st.button(label, type="primary", icon="📤", disabled=not files, key="docs_upload"):
                dups = duplicates_of(kb.id, files)
                st.session_state["docs_dups"] = dups
                choice = None if dups else "keep"
            dups = st.session_state.get("docs_dups") or {}
            if files and dups and set(dups) <= {f.name for f in files}:
                choice = duplicate_choice(dups)
            if choice:
                finish_upload(kb.id, files, config, parse, choice, n)
        with tab_url:
            url = st.text_input(t("docs.url"), key="docs_url", placeholder="https://example.com/handbook.html",
                                help=t("docs.url_help"))
            if st.button(t("docs.import_button"), type="primary", icon="🔗", key="docs_import"):
                doc = import_from_url(kb.id, url, config, parse)
                if doc:
                    flash(t("docs.imported", name=doc.name))
                    st.rerun()


def duplicate_choice(dups: dict[str, str]) -> str | None:
    """Some files are already in the knowledge base (same content): replace them, keep both, or skip them."""
    with st.container(border=True, key="docs_duplicates"):
        lines = "\n".join(f"- {md(name)} → {md(existing)}" for name, existing in sorted(dups.items()))
        st.warning(f"{t('docs.duplicates', n=len(dups))}\n{lines}", icon="♊")
        with st.container(horizontal=True, gap="small"):
            for choice, icon in (("replace", "🔁"), ("keep", "➕"), ("skip", "⏭️")):
                if st.button(t(f"docs.duplicates.{choice}"), icon=icon, key=f"docs_dup_{choice}",
                             help=t(f"docs.duplicates.{choice}_help")):
                    return choice
    return None


def finish_upload(kb_id: str, files: Sequence[Uploaded], config: dict | None, parse: bool, on_duplicate: str,
                  n: int) -> None:
    dups = st.session_state.pop("docs_dups", None) or {}
    docs = upload_files(kb_id, files, config, parse, on_duplicate)
    if docs is None:
        return
    st.session_state["docs_uploader_n"] = n + 1  # a fresh, empty uploader
    added = len(files) - (len(dups) if on_duplicate == "skip" else 0)
    parts = [t("docs.uploaded" if parse else "docs.stored", n=added)] if added else []
    if dups and on_duplicate in ("skip", "replace"):
        parts.append(t(f"docs.duplicates.{'skipped' if on_duplicate == 'skip' else 'replaced'}", n=len(dups)))
    flash(" · ".join(parts))
    st.rerun()


# ---- the documents table --------------------------------------------------------------------------

def reset_page() -> None:
    st.session_state["docs_page"] = 1


def toolbar() -> tuple[str, str, str]:
    cols = st.columns([4, 2, 2], vertical_alignment="bottom")
    search = cols[0].text_input(t("common.search"), key="docs_search", placeholder=t("docs.search_placeholder"),
                                on_change=reset_page, icon="🔎", label_visibility="collapsed")
    status = cols[1].selectbox(t("docs.filter_status"), STATUS_FILTER, key=lang_key("docs_status"),
                               on_change=reset_page, label_visibility="collapsed",
                               format_func=lambda s: t(f"status.{s}") if s else t("docs.all_statuses"))
    sort = cols[2].selectbox(t("docs.sort"), list(SORTS), key=lang_key("docs_sort"),
                             format_func=lambda s: t(f"docs.sort.{s}"), label_visibility="collapsed")
    return search.strip(), status, sort


def header() -> None:
    """Column titles, indented like the bordered rows below them so the columns line up."""
    st.html("<style>.st-key-docs_header{padding:0 calc(1rem + 1px);}</style>")
    cols = st.container(key="docs_header").columns(COLUMNS)
    for col, key in zip(cols, ["name", "status", "chunks", "characters", "hits", "enabled"]):
        col.caption(f"**{t('docs.col.' + key)}**")


def documents_table(kb_id: str, search: str, status: str, sort: str, running: bool) -> None:
    """The part that refreshes on its own while documents are processed."""
    svc = services()
    if running and not active_count(kb_id):
        st.rerun()  # everything finished: a full run updates the counts and stops the timer
    total = svc.documents.list(tenant(), kb_id, search=search, status=status, page_size=1).total
    if not total:
        st.info(t("docs.no_match"), icon="🔎")
        return
    body = st.container()
    page = pager(total, PAGE_SIZE, "docs_page")
    order_by, desc = SORTS[sort]
    docs = svc.documents.list(tenant(), kb_id, search=search, status=status, page=page, page_size=PAGE_SIZE,
                              order_by=order_by, desc=desc).items
    with body:
        header()
        for d in docs:
            document_row(d)


def document_row(d: DocumentInfo) -> None:
    svc = services()
    done = d.status == "completed"
    with st.container(border=True, key=f"docs_row_{d.id}"):  # CSS class st-key-docs_row_<id> for browser tests
        cols = st.columns(COLUMNS, vertical_alignment="center")
        source = f"{d.kind.upper() or '—'} · {human_size(d.size)} · {fmt_time(d.created_at)}"
        if d.source_type == "url":
            source += f" · 🔗 {md(d.source_url)}"
        cols[0].markdown(f"{KIND_ICONS.get(d.kind, '📄')} **{md(d.name)}**  \n:gray[{source}]")
        cols[1].markdown(status_badge(d.status))
        cols[2].markdown(f"{d.chunk_count:,}")
        cols[3].markdown(f"{d.char_count:,}")
        cols[4].markdown(f"{d.hit_count:,}")
        task_line(d)  # right after the badge, before the slower widgets: the row shows one state at once
        with cols[5]:
            enabled = st.toggle(t("docs.col.enabled"), value=d.enabled, key=f"docs_on_{d.id}_{int(d.enabled)}",
                                disabled=not done, label_visibility="collapsed",
                                help=None if done else t("docs.toggle_locked"))
            if enabled != d.enabled:
                act(lambda: svc.documents.set_enabled(tenant(), d.id, enabled),
                    t("docs.enabled_done" if enabled else "docs.disabled_done", name=d.name))
        with cols[6]:
            actions(d)
        if st.session_state.get("docs_confirm_delete") == d.id:
            confirm_delete(d)


def actions(d: DocumentInfo) -> None:
    svc = services()
    active = d.task is not None and d.task.active
    with st.popover("", icon=":material/more_vert:", help=t("docs.actions"), key=f"docs_menu_{d.id}"):
        st.markdown(f"**{md(d.name)}**")
        with st.form(f"docs_rename_form_{d.id}", border=False):
            name = st.text_input(t("docs.rename"), value=d.name, key=f"docs_name_{d.id}").strip()
            if st.form_submit_button(t("docs.rename_save"), icon="✏️", key=f"docs_rename_{d.id}",
                                     use_container_width=True) and name and name != d.name:
                act(lambda: svc.documents.update(tenant(), d.id, name=name), t("docs.renamed", name=name))
        st.divider()
        link("chunks", t("docs.open_chunks"), icon="🧩", kb=d.kb_id, doc=d.id)
        st.download_button(t("docs.download"), data=lambda: download_bytes(d.id), file_name=d.name,
                           on_click="ignore", icon="⬇️", key=f"docs_dl_{d.id}", use_container_width=True)
        label = "docs.parse" if d.task is None else "docs.reparse"
        if st.button(t(label), icon="🔄", key=f"docs_parse_{d.id}", disabled=active, use_container_width=True):
            act(lambda: svc.documents.parse(tenant(), [d.id]), t("docs.parse_queued", name=d.name))
        if st.button(t("docs.cancel"), icon="⏹️", key=f"docs_cancel_{d.id}", disabled=not active,
                     use_container_width=True):
            act(lambda: svc.documents.cancel(tenant(), [d.id]), t("docs.cancelled", name=d.name))
        st.button(t("common.delete"), icon="🗑️", key=f"docs_delete_{d.id}", use_container_width=True,
                  on_click=lambda: st.session_state.update(docs_confirm_delete=d.id))


def confirm_delete(d: DocumentInfo) -> None:
    st.warning(t("docs.delete_confirm", name=d.name), icon="🗑️")
    yes, no, _ = st.columns([1.2, 1, 5])
    if yes.button(t("common.delete"), type="primary", icon="🗑️", key=f"docs_delete_yes_{d.id}",
                  use_container_width=True):
        st.session_state.pop("docs_confirm_delete", None)
        act(lambda: services().documents.delete(tenant(), [d.id]), t("docs.deleted", name=d.name))
    no.button(t("common.cancel"), key=f"docs_delete_no_{d.id}", use_container_width=True,
              on_click=lambda: st.session_state.pop("docs_confirm_delete", None))


# ---- page -----------------------------------------------------------------------------------------

def main() -> None:
    page_header(f"📄 {t('docs.title')}", t("docs.caption"))
    inject_css()
    show_flash()
    kb = kb_picker()
    if kb is None:
        return
    if st.session_state.get("docs_kb") != kb.id:  # another knowledge base: start on its first page
        st.session_state["docs_kb"] = kb.id
        reset_page()
    total = services().documents.list(tenant(), kb.id, page_size=1).total
    add_documents(kb, expanded=not total)
    if not total:
        st.info(t("docs.empty"), icon="📤")
        return
    st.subheader(t("docs.list_title", n=total))
    search, status, sort = toolbar()
    interval = refresh_interval(kb.id)
    st.session_state["docs_refresh"] = interval
    st.fragment(run_every=interval)(documents_table)(kb.id, search, status, sort, interval is not None)


if __name__ == "__main__":  # run as a page (Streamlit executes it as __main__); importable in tests
    main()
