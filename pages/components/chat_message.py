"""One chat message as the Chat page (and an agent's debug chat) shows it: text, badges, an agent's tool steps,
citations, and the actions on an answer."""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from core.chat import MessageInfo
from pages.components.agent_trace import show_trace
from pages.components.chunk_card import badge, show_text
from pages.components.common import link
from pages.components.i18n import t

_CITE_RE = re.compile(r"\[(\d{1,3})\]")
EXCERPT_CHARS = 600


def cited(content: str, n_refs: int) -> list[int]:
    """The reference numbers an answer cites, in order of first use."""
    seen: dict[int, None] = {}
    for m in _CITE_RE.finditer(content or ""):
        if 1 <= int(m.group(1)) <= n_refs:
            seen.setdefault(int(m.group(1)))
    return list(seen)


def mode_badges(m: MessageInfo) -> str:
    parts = []
    if m.mode == "retrieval_only":
        parts.append(badge("🔎 " + t("chat.badge.retrieval_only"), "orange"))
    elif m.mode == "empty":
        parts.append(badge("∅ " + t("chat.badge.empty"), "gray"))
    elif m.mode == "fallback":
        parts.append(badge("🔌 " + t("chat.badge.fallback"), "orange"))
    if not m.completed and m.mode != "opener" and not m.error:
        parts.append(badge("⏸ " + t("chat.badge.incomplete"), "gray"))
    return " ".join(parts)


def citations(m: MessageInfo, key: str = "") -> None:
    """The passages the answer was given, each linking to its chunk; the cited ones first and marked."""
    refs = m.references
    if not refs:
        return
    used = cited(m.content, len(refs))
    order = sorted(refs, key=lambda r: (r.get("index") not in used, used.index(r["index"]) if r.get("index") in used
                                        else r.get("index", 0)))
    label = t("chat.citations", n=len(refs))
    if used:
        label += " · " + t("chat.cited", refs=", ".join(map(str, used)))
    with st.expander(f"📎 {label}", expanded=False):
        for ref in order:
            with st.container(border=True):
                head = [f"**[{ref.get('index', '?')}]** 📄 **{ref.get('document_name') or '—'}**",
                        badge(t("chat.score", score=f"{float(ref.get('score') or 0):.3f}"), "blue")]
                if ref.get("index") in used:
                    head.append(badge("✓ " + t("chat.cited_badge"), "green"))
                st.markdown(" ".join(head))
                content = str(ref.get("content") or "").strip()
                if len(content) > EXCERPT_CHARS:
                    content = content[:EXCERPT_CHARS].rstrip() + "…"
                show_text(content)  # its Markdown rendered (headings, lists), safely
                link("chunks", t("chat.open_chunk"), icon="🧩", kb=ref.get("kb_id", ""), doc=ref.get("doc_id", ""),
                     chunk=ref.get("chunk_id", ""))


def meta_caption(m: MessageInfo) -> str:
    bits = []
    if m.mode in ("llm", "agent") and (m.prompt_tokens or m.completion_tokens):
        bits.append(t("chat.tokens", prompt=m.prompt_tokens, completion=m.completion_tokens))
    if m.latency_ms:
        bits.append(t("chat.latency", s=f"{m.latency_ms / 1000:.1f}"))
    return " · ".join(bits)


def answer_actions(m: MessageInfo, *, last: bool, on_feedback: Callable | None, on_regenerate: Callable | None,
                   on_continue: Callable | None, on_delete: Callable | None = None) -> None:
    """The buttons under an answer; an action whose callback is None is not offered."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        if on_feedback:
            st.button("", icon=":material/thumb_up:", key=f"chat_like_{m.id}", help=t("chat.like"),
                      type="primary" if m.feedback == 1 else "tertiary", on_click=on_feedback,
                      args=(m.id, 0 if m.feedback == 1 else 1))
            st.button("", icon=":material/thumb_down:", key=f"chat_dislike_{m.id}", help=t("chat.dislike"),
                      type="primary" if m.feedback == -1 else "tertiary", on_click=on_feedback,
                      args=(m.id, 0 if m.feedback == -1 else -1))
        if last and on_regenerate:
            st.button(t("chat.regenerate"), icon=":material/refresh:", key=f"chat_regen_{m.id}", type="tertiary",
                      on_click=on_regenerate)
        if not m.completed and m.content.strip() and on_continue:
            st.button(t("chat.continue"), icon=":material/play_arrow:", key=f"chat_continue_{m.id}",
                      type="secondary", on_click=on_continue, args=(m.id,))
        if on_delete:
            delete_button(m, on_delete)
        caption = meta_caption(m)
        if caption:
            st.caption(caption)


def delete_button(m: MessageInfo, on_delete: Callable) -> None:
    st.button("", icon=":material/delete:", key=f"chat_msg_delete_{m.id}", help=t("agents.debug.delete_message"),
              type="tertiary", on_click=on_delete, args=(m.id,))


def show_message(m: MessageInfo, *, avatar: str, last: bool, on_feedback: Callable | None = None,
                 on_regenerate: Callable | None = None, on_continue: Callable | None = None,
                 on_delete: Callable | None = None) -> None:
    if m.role == "user":
        with st.chat_message("user"):
            st.markdown(m.content)
            if on_delete:
                delete_button(m, on_delete)
        return
    with st.chat_message("assistant", avatar=avatar):
        badges = mode_badges(m)
        if badges:
            st.markdown(badges)
        show_trace(m.trace)
        if m.mode == "fallback":  # the model failed before its first word: what went wrong, for the admin
            st.warning(t("chat.fallback_notice", message=m.error), icon="🔌")
            link("models", t("chat.check_models"), icon="🧠")
        if m.content.strip():
            st.markdown(m.content)
        elif not m.error:
            st.caption(t("chat.no_text"))
        if m.error and m.mode != "fallback":
            st.error(t("chat.failed", message=m.error), icon="⚠️")
            link("models", t("chat.check_models"), icon="🧠")
        if m.mode == "opener":
            return
        citations(m)
        answer_actions(m, last=last, on_feedback=on_feedback, on_regenerate=on_regenerate, on_continue=on_continue,
                       on_delete=on_delete)
