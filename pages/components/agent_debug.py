"""An agent's debug chat: runs the saved draft, streams answers with their tool steps, shows the memory.

One debug conversation per agent (ChatService.debug_session); "New debug session" starts it afresh.
A click while an answer streams interrupts this script run: the event stream is closed, the service
saves the partial answer, and the next run waits for that before it lists the messages.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator

import streamlit as st

from core.assistants import AssistantInfo
from core.chat import ChatEvent, ConversationInfo, MessageInfo
from core.errors import AlmanacError
from pages.components.agent_trace import LiveTrace
from pages.components.chat_message import show_message
from pages.components.common import attempt, flash, link, services, tenant
from pages.components.i18n import t

ACTIVE = "agd_active"  # message id -> Event set once the run streaming it has closed (and saved) it
STOP_WAIT = 10.0
HISTORY = 100


def memory_key(c: ConversationInfo) -> str:
    """Keyed by the memory's text too: when an answer updates the memory, the box shows the new text
    (a widget keeps what the browser last sent for its key, whatever `value=` says)."""
    return f"agd_memory_{c.id}_{zlib.crc32(c.summary.encode()):08x}"


def new_session(agent_id: str) -> None:
    if attempt(lambda: services().chat.debug_session(tenant(), agent_id, new=True)):
        flash(t("agents.debug.restarted"))


def delete_message(message_id: str) -> None:
    if attempt(lambda: services().chat.delete_message(tenant(), message_id) or True):
        flash(t("agents.debug.message_deleted"))


def save_memory(c: ConversationInfo) -> None:
    text = st.session_state.get(memory_key(c), "")
    if attempt(lambda: services().chat.set_memory(tenant(), c.id, text)):
        flash(t("agents.debug.memory_saved"))


def model_hint(a: AssistantInfo) -> None:
    """Without a model the agent can only say that it needs one: tell the user before they ask."""
    try:
        spec = services().models.llm_spec(tenant(), a.llm.model_id or None)
    except AlmanacError as exc:
        st.warning(t("chat.model_missing", message=exc.message), icon="🧠")
        return
    if spec is None:
        st.warning(t("agents.debug.no_model"), icon="🧠")
        link("models", t("agents.go_models"), icon="🧠")


def memory_box(c: ConversationInfo) -> None:
    with st.expander(f"🧠 {t('agents.debug.memory')}", expanded=bool(c.summary)):
        st.caption(t("agents.debug.memory_help"))
        st.text_area(t("agents.debug.memory"), value=c.summary, height=110, key=memory_key(c),
                     label_visibility="collapsed", placeholder=t("agents.debug.memory_empty"))
        st.button(t("agents.debug.memory_save"), icon=":material/save:", key=f"agd_memory_save_{c.id}",
                  on_click=save_memory, args=(c,))


def wait_for_interrupted() -> None:
    active = st.session_state.get(ACTIVE) or {}
    pending = [done for done in active.values() if not done.is_set()]
    if pending:
        with st.spinner(t("chat.stopping")):
            for done in pending:
                done.wait(STOP_WAIT)
    st.session_state[ACTIVE] = {k: v for k, v in active.items() if not v.is_set()}


def stream_answer(stream: Iterator[ChatEvent], m: MessageInfo, avatar: str) -> None:
    """Show the answer and its tool steps as they come; then rerun, so it shows as saved."""
    done = threading.Event()
    st.session_state.setdefault(ACTIVE, {})[m.id] = done
    text, error = "", ""
    with st.chat_message("assistant", avatar=avatar):
        trace = LiveTrace()
        body = st.empty()
        body.markdown(f":gray[_{t('chat.thinking')}_]")
        try:
            for event in stream:
                if event.type == "delta":
                    text += event.data.get("content", "")
                    body.markdown(text + " ▌")
                elif event.type in ("tool_call", "tool_result"):
                    trace.on_event(event)
                elif event.type == "error":
                    error = event.data.get("message", "")
        finally:
            try:
                getattr(stream, "close", lambda: None)()
            finally:
                done.set()
        body.markdown(text)
        if error:
            st.error(t("chat.failed", message=error), icon="⚠️")
    st.rerun()


def debug_pane(a: AssistantInfo, unsaved_changes: bool) -> None:
    svc = services()
    avatar = a.avatar or "🤖"
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"#### 🐞 {t('agents.debug.title')}", width="stretch")
        st.button(t("agents.debug.new"), icon=":material/restart_alt:", key=f"agd_new_{a.id}", type="tertiary",
                  on_click=new_session, args=(a.id,))
    st.caption(t("agents.debug.caption"))
    if unsaved_changes:
        st.warning(t("agents.debug.unsaved"), icon="💾")
    model_hint(a)
    c = attempt(lambda: svc.chat.debug_session(tenant(), a.id))
    if c is None:
        return
    if a.strategy.memory_mode == "long_term_memory":
        memory_box(c)
    box = st.container(height=560, border=True, autoscroll=True)
    question = st.chat_input(t("agents.debug.placeholder", name=a.name), key=f"agd_input_{a.id}", max_chars=20_000,
                             submit_mode="disable")
    wait_for_interrupted()
    stream = None
    if question and question.strip():
        stream = attempt(lambda: svc.chat.answer(tenant(), c.id, question.strip()))
    messages = attempt(lambda: svc.chat.list_messages(tenant(), c.id, limit=HISTORY)) or []
    streaming = messages[-1].id if stream is not None and messages else None
    with box:
        if not messages:
            st.caption(t("agents.debug.empty"))
        for m in messages:
            if m.id == streaming:
                stream_answer(stream, m, avatar)
            else:
                show_message(m, avatar=avatar, last=False, on_delete=delete_message)
