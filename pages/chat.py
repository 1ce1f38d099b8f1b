"""Chat: ask an assistant, a published agent, or one knowledge base (a quick chat); answers stream in and cite
their chunks, and an agent's tool calls show as steps.

The URL says whom you talk to and which session is open: `?assistant=<id>` or `?kb=<id>`, plus
`&session=<id>`. Answers stream from services().chat.answer(). Stop (like any other click while an
answer streams) makes Streamlit interrupt this script run: the event generator is closed, the service
keeps the partial answer as incomplete, and its Continue button resumes it.

With fast reruns (Streamlit's default) the click starts the next run at once, in a new thread, while
the interrupted one still waits for the model's next token; it stops and saves there. The new run
waits for that (ACTIVE), so it shows the saved partial text and not an empty answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import streamlit as st

from core.chat import ChatEvent, ConversationInfo, MessageInfo
from core.errors import AlmanacError
from pages.components.agent_trace import LiveTrace
from pages.components.chat_message import show_message
from pages.components.chat_target import Target, choose_target, set_params, target_header
from pages.components.chunk_card import badge, inject_css
from pages.components.common import attempt, flash, page_header, param, services, show_flash, tenant
from pages.components.i18n import t
from pages.components.voice import (
    answer_speech,
    read_aloud_toggle,
    speak_next,
    take_speak_next,
    take_voice_question,
    voice_css,
    voice_input,
)

PENDING = "chat_pending"  # an answer to stream in this run: set by Regenerate / Continue
DELETING = "chat_deleting"  # the session whose delete button asks for confirmation
ACTIVE = "chat_active"  # message id -> Event set once the run streaming it has closed (and saved) it
STOP_WAIT = 10.0  # seconds a new run waits for an interrupted one to save its partial answer
LIMIT = "chat_limit"  # how many messages of history are shown (Load earlier adds a page)
HISTORY_PAGE = 50
SESSIONS_SHOWN = 200
VOICE = "chat_voice"  # session-state prefix of the voice widgets

svc = services()


# --- actions (button callbacks: they run before the page, so it renders the new state) --------------------


def open_session(conversation_id: str) -> None:
    set_params(session=conversation_id)
    st.session_state.pop(LIMIT, None)
    st.session_state.pop(DELETING, None)


def rename(conversation_id: str) -> None:
    title = st.session_state.get(f"chat_title_{conversation_id}", "")
    if attempt(lambda: svc.chat.rename_session(tenant(), conversation_id, title)):
        flash(t("chat.renamed"))


def suggest_title(conversation_id: str) -> None:
    c = attempt(lambda: svc.chat.generate_title(tenant(), conversation_id))
    if c:
        st.session_state[f"chat_title_{conversation_id}"] = c.title
        flash(t("chat.renamed"))


def delete_session(conversation_id: str) -> None:
    if attempt(lambda: svc.chat.delete_session(tenant(), conversation_id) or True):
        st.session_state.pop(DELETING, None)
        if param("session") == conversation_id:
            open_session("")
        flash(t("chat.deleted"))


def give_feedback(message_id: str, value: int) -> None:
    if attempt(lambda: svc.chat.feedback(tenant(), message_id, value)):
        flash(t("chat.thanks") if value else t("chat.feedback_cleared"))


def regenerate() -> None:
    st.session_state[PENDING] = {"kind": "regenerate", "session": param("session")}


def continue_answer(message_id: str) -> None:
    st.session_state[PENDING] = {"kind": "continue", "session": param("session"), "message_id": message_id}


def stopped() -> None:
    flash(t("chat.stopped"))


# --- what to talk to ----------------------------------------------------------------------------------


# --- sessions -------------------------------------------------------------------------------------------


def sessions_of(target: Target) -> list[ConversationInfo]:
    if target.assistant:
        items = svc.chat.list_sessions(tenant(), assistant_id=target.assistant.id, page_size=SESSIONS_SHOWN).items
        return [c for c in items if target.owns(c)]  # not an agent's debug sessions
    everything = svc.chat.list_sessions(tenant(), page_size=SESSIONS_SHOWN * 5).items
    return [c for c in everything if target.owns(c)][:SESSIONS_SHOWN]


def current_session(target: Target, items: list[ConversationInfo]) -> str:
    """The session in the URL when it belongs to this target; else none (a new chat)."""
    wanted = param("session")
    if not wanted or any(c.id == wanted for c in items):
        return wanted
    try:
        ok = target.owns(svc.chat.get_session(tenant(), wanted))
    except AlmanacError:
        ok = False
    if not ok:
        set_params(session="")
    return wanted if ok else ""


def session_menu(c: ConversationInfo) -> None:
    st.text_input(t("chat.title"), value=c.title, key=f"chat_title_{c.id}", max_chars=255)
    with st.container(horizontal=True):
        st.button(t("common.save"), key=f"chat_rename_{c.id}", type="primary", on_click=rename, args=(c.id,))
        st.button(t("chat.suggest_title"), icon="✨", key=f"chat_suggest_{c.id}", on_click=suggest_title, args=(c.id,))
    if st.session_state.get(DELETING) == c.id:
        st.warning(t("chat.delete_confirm"), icon="🗑️")
        with st.container(horizontal=True):
            st.button(t("common.delete"), type="primary", key=f"chat_delete_go_{c.id}", on_click=delete_session,
                      args=(c.id,))
            st.button(t("common.cancel"), key=f"chat_delete_cancel_{c.id}", on_click=st.session_state.pop,
                      args=(DELETING, None))
    else:
        st.button(t("chat.delete"), icon=":material/delete:", key=f"chat_delete_{c.id}",
                  on_click=st.session_state.__setitem__, args=(DELETING, c.id))


def sessions_sidebar(items: list[ConversationInfo], current: str) -> None:
    with st.sidebar:
        st.divider()
        st.markdown(f"**🗂️ {t('chat.sessions')}**")
        st.button(t("chat.new"), icon=":material/edit_square:", key="chat_new", width="stretch",
                  type="secondary" if current else "primary", on_click=open_session, args=("",))
        if not items:
            st.caption(t("chat.no_sessions"))
        for c in items:
            title, menu = st.columns([5, 1], vertical_alignment="center", gap=None)
            title.button(c.title or t("chat.untitled"), key=f"chat_open_{c.id}", width="stretch",
                         type="primary" if c.id == current else "tertiary", on_click=open_session, args=(c.id,))
            with menu.popover("", icon=":material/more_horiz:", help=t("chat.session_menu"), type="tertiary"):
                session_menu(c)


# --- the conversation -------------------------------------------------------------------------------------


def start(job: dict, conversation_id: str) -> Iterator[ChatEvent] | None:
    """Begin an answer; the service saves the question (and an empty answer) before this returns."""
    if job["kind"] == "continue":
        return attempt(lambda: svc.chat.continue_message(tenant(), job["message_id"]))
    return attempt(lambda: svc.chat.answer(tenant(), conversation_id, job.get("question", ""),
                                           regenerate=job["kind"] == "regenerate"))


def wait_for_interrupted() -> None:
    """Let an answer interrupted by the click that started this run finish saving its partial text."""
    active = st.session_state.get(ACTIVE) or {}
    pending = [done for done in active.values() if not done.is_set()]
    if pending:
        with st.spinner(t("chat.stopping")):
            for done in pending:
                done.wait(STOP_WAIT)
    st.session_state[ACTIVE] = {k: v for k, v in active.items() if not v.is_set()}


def stream_answer(stream: Iterator[ChatEvent], m: MessageInfo, avatar: str) -> None:
    """Show the answer as it arrives; then rerun, so it shows as saved (citations, actions)."""
    text = m.content
    done = threading.Event()  # set in `finally` without touching session state: this run may be stopping
    st.session_state.setdefault(ACTIVE, {})[m.id] = done
    with st.chat_message("assistant", avatar=avatar):
        badges = st.empty()
        steps = LiveTrace()  # an agent's tool calls, as they happen
        body = st.empty()
        body.markdown(text or f":gray[_{t('chat.thinking')}_]")
        st.button(t("chat.stop"), icon=":material/stop_circle:", key="chat_stop", on_click=stopped,
                  help=t("chat.stop_help"))
        try:
            for event in stream:
                if event.type == "references" and event.data.get("mode") in ("retrieval_only", "fallback"):
                    mode = event.data["mode"]
                    badges.markdown(badge(("🔎 " if mode == "retrieval_only" else "🔌 ") + t(f"chat.badge.{mode}"),
                                          "orange"))
                elif event.type == "delta":
                    text += event.data.get("content", "")
                    body.markdown(text + " ▌")
                elif event.type in ("tool_call", "tool_result"):
                    steps.on_event(event)
        finally:
            try:
                getattr(stream, "close", lambda: None)()  # interrupted: the service saves what it has, as incomplete
            finally:
                done.set()
        body.markdown(text)
    speak_next(VOICE, m.id)  # it completed (a Stop never gets here): read it aloud once it shows as saved
    st.rerun()


def opener_preview(target: Target) -> None:
    if target.opener.strip():
        with st.chat_message("assistant", avatar=target.avatar):
            st.markdown(target.opener)
    else:
        st.info(t("chat.start"), icon="💬")


def composer(target: Target) -> str | None:
    """The row pinned under the chat: speak a question, type one, and the read-aloud switch."""
    with st.bottom, st.container(horizontal=True, vertical_alignment="center", gap="small", key="chat_composer"):
        voice_input(VOICE)
        typed = st.chat_input(t("chat.placeholder", name=target.name), key="chat_input", max_chars=20_000,
                              submit_mode="disable")
        read_aloud_toggle(VOICE)
    return typed or take_voice_question(VOICE)


def conversation(target: Target, current: str) -> None:
    question = composer(target)
    job = st.session_state.pop(PENDING, None)
    if job and job.get("session") != current:
        job = None
    if question and question.strip():
        if not current:
            c = attempt(lambda: svc.chat.create_session(tenant(), assistant_id=target.assistant.id if target.assistant
                                                        else None, kb_ids=None if target.assistant else [target.kb.id]))
            if c is None:
                return
            current = c.id
            set_params(session=c.id)
        job = {"kind": "ask", "question": question.strip()}
    wait_for_interrupted()
    stream = start(job, current) if job else None
    if not current:
        opener_preview(target)
        return
    limit = st.session_state.get(LIMIT, HISTORY_PAGE)
    messages = attempt(lambda: svc.chat.list_messages(tenant(), current, limit=min(limit + 1, 1000)))
    if messages is None:
        return
    if len(messages) > limit:
        messages = messages[1:]
        st.button(t("chat.load_earlier"), icon=":material/expand_less:", key="chat_earlier", type="tertiary",
                  on_click=st.session_state.__setitem__, args=(LIMIT, limit + HISTORY_PAGE))
    streaming = None
    if stream is not None and messages:
        streaming = job["message_id"] if job["kind"] == "continue" else messages[-1].id
    answers = [m for m in messages if m.role == "assistant" and m.mode != "opener"]
    last = answers[-1].id if answers and messages[-1].id == answers[-1].id else None
    just_completed = take_speak_next(VOICE)
    for m in messages:
        if m.id == streaming:
            stream_answer(stream, m, target.avatar)
        else:
            show_message(m, avatar=target.avatar, last=m.id == last, on_feedback=give_feedback,
                         on_regenerate=regenerate, on_continue=continue_answer)
            if m.role == "assistant":
                failed = m.error and m.mode != "fallback"
                answer_speech(VOICE, m.id, "" if failed else m.content, fresh=m.id == just_completed)
    if not messages:
        opener_preview(target)


page_header(f"💬 {t('chat.title_page')}", t("chat.caption"))
inject_css(voice_css(VOICE))
show_flash()
chosen = choose_target()
if chosen is not None:
    target_header(chosen)
    sessions = attempt(lambda: sessions_of(chosen)) or []
    session_id = current_session(chosen, sessions)
    sessions_sidebar(sessions, session_id)
    conversation(chosen, session_id)
