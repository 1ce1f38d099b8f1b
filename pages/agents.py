"""Agents: list, create, edit (draft), publish, share, delete; a debug chat beside the editor.

`?agent=<id>` in the URL opens the editor of that agent. The editor saves a draft; Publish makes the
draft what the Chat page, the APIs and the share link run.
"""

from __future__ import annotations

import streamlit as st

from core.assistants import AssistantInfo
from core.errors import AlmanacError
from pages.components.agent_debug import debug_pane
from pages.components.agent_form import agent_editor, problems, reset_editor, unsaved
from pages.components.chat_assistant_form import AVATARS
from pages.components.chunk_card import badge
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
from pages.components.i18n import t
from pages.components.share import share_badge, share_box
from pages.components.tool_picker import load_catalogue, ref_key

PAGE_SIZE = 10
MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#<>|$~"})

svc = services()


def md(text: str) -> str:
    """User text shown literally."""
    return text.translate(MARKDOWN_SPECIAL)


def state_badge(a: AssistantInfo) -> str:
    if a.published is None:
        return badge(t("agents.state.unpublished"), "gray")
    if a.draft_changed:
        return badge("✎ " + t("agents.state.draft_changed"), "orange")
    return badge("● " + t("agents.state.published"), "green")


# --- actions (button callbacks run before the page, so it renders the new state) ------------------------------


def open_agent(agent_id: str) -> None:
    st.query_params["agent"] = agent_id
    st.session_state.pop("agent_deleting", None)


def close_agent() -> None:
    reset_editor(param("agent"))
    if "agent" in st.query_params:
        del st.query_params["agent"]
    st.session_state.pop("agent_deleting", None)


def toggle_creating(on: bool) -> None:
    st.session_state["agent_creating"] = on


def set_deleting(agent_id: str | None) -> None:
    st.session_state["agent_deleting"] = agent_id


def delete_agent(a: AssistantInfo) -> None:
    if attempt(lambda: svc.assistants.delete(tenant(), a.id) or True):
        flash(t("agents.deleted", name=a.name))
        close_agent()


def unpublish(agent_id: str) -> None:
    if attempt(lambda: svc.assistants.unpublish(tenant(), agent_id)):
        flash(t("agents.unpublished"))


# --- list ----------------------------------------------------------------------------------------------------


def create_form() -> None:
    with st.form("agent_create", border=True, enter_to_submit=True):
        st.markdown(f"**{t('agents.create_title')}**")
        icon_col, name_col = st.columns([1, 5])
        avatar = icon_col.selectbox(t("agents.form.avatar"), AVATARS, key="agent_new_avatar", accept_new_options=True)
        name = name_col.text_input(t("agents.form.name"), max_chars=255, key="agent_new_name",
                                   placeholder=t("agents.form.name_placeholder"))
        description = st.text_input(t("agents.form.description"), key="agent_new_description",
                                    placeholder=t("agents.form.description_placeholder"))
        with st.container(horizontal=True):
            submitted = st.form_submit_button(t("agents.create"), type="primary", icon=":material/add:")
            st.form_submit_button(t("common.cancel"), on_click=toggle_creating, args=(False,))
    if not submitted:
        return
    if not name.strip():
        st.error(t("agents.err.name_empty"), icon="⚠️")
        return
    a = attempt(lambda: svc.assistants.create(tenant(), name.strip(), kind="agent", avatar=(avatar or "🤖")[:16],
                                              description=description.strip()))
    if a:
        toggle_creating(False)
        flash(t("agents.created", name=a.name))
        open_agent(a.id)
        st.rerun()


def model_badge(a: AssistantInfo) -> str:
    """When the agent cannot think, say so to the admin (its visitors get quoted passages, never instructions)."""
    try:
        spec = svc.models.llm_spec(tenant(), a.llm.model_id or None)
    except AlmanacError:  # its model was deleted
        spec = None
    if spec is None:
        return badge("🧠 " + t("agents.badge.no_model"), "orange")
    model = attempt(lambda: svc.models.get(tenant(), a.llm.model_id)) if a.llm.model_id else \
        svc.models.default(tenant(), "llm")
    return badge("🔌 " + t("agents.badge.model_unreachable"), "red") if model and model.status == "error" else ""


def agent_card(a: AssistantInfo, kb_names: dict[str, str], tool_labels: dict[tuple, str]) -> None:
    with st.container(border=True):
        head, actions = st.columns([3, 2])
        with head:
            st.markdown(f"#### {a.avatar or '🤖'} {md(a.name)}")
            st.markdown(" ".join(b for b in (state_badge(a), model_badge(a), share_badge(a)) if b))
            st.caption(md(a.description) if a.description else f"_{t('agents.no_description')}_")
        with actions, st.container(horizontal=True, horizontal_alignment="right", gap="small"):
            if a.published is not None:
                link("chat", t("agents.chat"), icon="💬", assistant=a.id)
            st.button(t("common.edit"), icon=":material/edit:", key=f"agent_edit_{a.id}", on_click=open_agent,
                      args=(a.id,))
        chips = [badge(f"📘 {kb_names.get(k, k)}", "blue") for k in a.kb_ids]
        chips += [badge(f"🔧 {tool_labels.get(ref_key(ref), ref.get('tool'))}", "violet") for ref in a.tools]
        st.markdown(" ".join(chips) or f":gray[{t('agents.no_tools_kbs')}]")
        st.caption(t("agents.summary", steps=a.strategy.max_steps, memory=t("agents.memory." + a.strategy.memory_mode),
                     time=fmt_time(a.updated_at)))


def set_workspace_agent() -> None:
    chosen = st.session_state.get("agent_workspace") or None
    if attempt(lambda: svc.workspace.set_default_agent(tenant(), chosen) or True):
        flash(t("agents.workspace.saved"))


def workspace_agent_box() -> None:
    """The workspace's default agent: what Nexent's /api/agent/run answers with ("" = knowledge search)."""
    published = [a for a in svc.assistants.list(tenant(), kind="agent", page_size=1000).items if a.published]
    labels = {"": t("agents.workspace.none"), **{a.id: f"{a.avatar or '🤖'} {a.name}" for a in published}}
    current = attempt(lambda: svc.workspace.default_agent(tenant()))
    options = list(labels)
    with st.container(border=True):
        st.selectbox(t("agents.workspace.label"), options, key="agent_workspace", on_change=set_workspace_agent,
                     index=options.index(current.id) if current and current.id in labels else 0,
                     format_func=labels.__getitem__, help=t("agents.workspace.help"))


def list_view() -> None:
    workspace_agent_box()
    with st.container(horizontal=True, horizontal_alignment="right"):
        st.button(t("agents.new"), type="primary", icon=":material/add:", key="agent_new", on_click=toggle_creating,
                  args=(True,))
    if st.session_state.get("agent_creating"):
        create_form()
    total = svc.assistants.list(tenant(), kind="agent", page_size=1).total
    if not total:
        st.info(t("agents.empty"), icon="🤖")
        return
    if attempt(lambda: svc.models.llm_spec(tenant())) is None:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.warning(t("agents.no_model_banner"), icon="🧠", width="stretch")
            link("models", t("agents.go_models"), icon="🧠")
    cards = st.container()
    page = pager(total, PAGE_SIZE, "agent_page")
    items = svc.assistants.list(tenant(), kind="agent", page=page, page_size=PAGE_SIZE).items
    kb_names = {k.id: k.name for k in svc.knowledge.list(tenant(), page_size=1000).items}
    catalogue = attempt(load_catalogue)
    known = catalogue.tools() if catalogue else {}
    tool_labels = {ident: tool.label or tool.name for ident, (_, tool) in known.items()}
    with cards:
        for a in items:
            agent_card(a, kb_names, tool_labels)


# --- editor --------------------------------------------------------------------------------------------------


def publish_notice(a: AssistantInfo) -> None:
    if a.published is None:
        st.info(t("agents.notice.unpublished"), icon="🚀")
    elif a.draft_changed:
        st.warning(t("agents.notice.draft_changed", time=fmt_time(a.published_at)), icon="📝")
    else:
        st.success(t("agents.notice.published", time=fmt_time(a.published_at)), icon="✅")


def share_section(a: AssistantInfo) -> None:
    share_box(a)
    if a.published is not None:
        st.button(t("agents.unpublish"), icon=":material/unpublished:", key=f"agent_unpublish_{a.id}",
                  type="tertiary", on_click=unpublish, args=(a.id,))


def save(a: AssistantInfo, fields: dict) -> AssistantInfo | None:
    found = problems(fields)
    if found:
        st.error(t("agents.err.fix") + "\n\n" + "\n".join(f"- {p}" for p in found), icon="⚠️")
        return None
    return attempt(lambda: svc.assistants.update(tenant(), a.id, **fields))


def action_bar(a: AssistantInfo, fields: dict, dirty: bool) -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        save_clicked = st.button(t("agents.save"), type="primary" if dirty else "secondary", icon=":material/save:",
                                 key=f"agent_save_{a.id}", help=t("agents.save_help"))
        publish_label = t("agents.save_publish") if dirty else t("agents.publish")
        publish_clicked = st.button(publish_label, icon=":material/rocket_launch:", key=f"agent_publish_{a.id}",
                                    type="primary" if (a.draft_changed or a.published is None) and not dirty
                                    else "secondary", help=t("agents.publish_help"))
        st.button(t("common.delete"), icon=":material/delete:", key=f"agent_delete_{a.id}", type="tertiary",
                  on_click=set_deleting, args=(a.id,))
        if dirty:
            st.markdown(badge("● " + t("agents.unsaved"), "orange"))
    if save_clicked or publish_clicked:
        saved = save(a, fields) if dirty or save_clicked else a
        if saved and publish_clicked:
            saved = attempt(lambda: svc.assistants.publish(tenant(), a.id))
        if saved:
            reset_editor(a.id)
            flash(t("agents.published", name=saved.name) if publish_clicked else t("agents.saved", name=saved.name))
            st.rerun()


def delete_confirmation(a: AssistantInfo) -> None:
    with st.container(border=True):
        st.markdown(f"**:red[:material/warning: {t('agents.delete_title', name=md(a.name))}]**")
        st.caption(t("agents.delete_warning"))
        with st.container(horizontal=True):
            st.button(t("agents.delete_confirm"), type="primary", icon=":material/delete_forever:",
                      key=f"agent_del_go_{a.id}", on_click=delete_agent, args=(a,))
            st.button(t("common.cancel"), key=f"agent_del_cancel_{a.id}", on_click=set_deleting, args=(None,))


def editor_view(agent_id: str) -> None:
    st.button(t("agents.back"), icon=":material/arrow_back:", key="agent_back", on_click=close_agent)
    a = attempt(lambda: svc.assistants.get(tenant(), agent_id))
    if a is None or a.kind != "agent":
        st.info(t("agents.not_found"), icon="🔎")
        return
    catalogue = attempt(load_catalogue)
    if catalogue is None:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"### {a.avatar or '🤖'} {md(a.name)}", width="content")
        st.markdown(state_badge(a), width="content")
        st.markdown(share_badge(a), width="content")
        if a.published is not None:
            link("chat", t("agents.chat"), icon="💬", assistant=a.id)
    bar = st.container()
    notices = st.container()
    left, right = st.columns([5, 4], gap="large")
    with left:
        fields = agent_editor(a, catalogue)
    dirty = unsaved(a, fields, catalogue)
    with bar:
        action_bar(a, fields, dirty)
    with notices:
        if st.session_state.get("agent_deleting") == a.id:
            delete_confirmation(a)
        publish_notice(a)
        share_section(a)
    with right:
        debug_pane(a, dirty)


page_header(f"🤖 {t('agents.title')}", t("agents.caption"))
show_flash()
if param("agent"):
    editor_view(param("agent"))
else:
    list_view()
