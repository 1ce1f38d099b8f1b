"""Whom the Chat page talks to: an assistant (or published agent) or one knowledge base, chosen at the top of
the page and kept in the URL (`?assistant=<id>` or `?kb=<id>`), shown with its knowledge bases and model."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.assistants import AssistantInfo, PromptSettings
from core.chat import ConversationInfo
from core.errors import AlmanacError
from core.schemas import KnowledgeBaseInfo
from pages.components.chunk_card import badge
from pages.components.common import link, param, services, tenant
from pages.components.i18n import t


@dataclass
class Target:
    """Whom the chat talks to: an assistant, or one knowledge base with default settings."""

    assistant: AssistantInfo | None
    kb: KnowledgeBaseInfo | None
    kb_names: dict[str, str]

    @property
    def avatar(self) -> str:
        return (self.assistant.avatar or "🤖") if self.assistant else (self.kb.icon or "📘")

    @property
    def name(self) -> str:
        return self.assistant.name if self.assistant else self.kb.name

    @property
    def is_agent(self) -> bool:
        return bool(self.assistant and self.assistant.kind == "agent")

    @property
    def live(self) -> dict:
        """What this page's sessions run: an agent's published snapshot (its draft is for debugging)."""
        return (self.assistant.published or {}) if self.is_agent else {}

    @property
    def opener(self) -> str:
        if self.is_agent:
            return (self.live.get("prompt") or {}).get("opener", "")
        return self.assistant.prompt.opener if self.assistant else PromptSettings().opener

    @property
    def model_id(self) -> str:
        if self.is_agent:
            return (self.live.get("llm") or {}).get("model_id", "")
        return self.assistant.llm.model_id if self.assistant else ""

    @property
    def kb_ids(self) -> list[str]:
        return list(self.live.get("kb_ids", [])) if self.is_agent else self.assistant.kb_ids

    def owns(self, c: ConversationInfo) -> bool:
        if self.assistant:
            return c.assistant_id == self.assistant.id and c.channel == "published"
        return c.assistant_id is None and self.kb.id in c.kb_ids


def set_params(**params: str) -> None:
    for name, value in params.items():
        if value:
            st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]


def switch_kind() -> None:
    set_params(session="", assistant="", kb="")


def switch_assistant() -> None:
    set_params(assistant=st.session_state["chat_assistant"], session="")


def switch_kb() -> None:
    set_params(kb=st.session_state["chat_kb"], session="")


def choose_target() -> Target | None:
    svc = services()
    assistants = svc.assistants.list(tenant(), kind="chat", page_size=1000, order_by="name", desc=False).items
    agents = svc.assistants.list(tenant(), kind="agent", page_size=1000, order_by="name", desc=False).items
    assistants += [a for a in agents if a.published is not None]  # an unpublished agent runs only in its debug chat
    kbs = svc.knowledge.list(tenant(), page_size=1000, order_by="name", desc=False).items
    if not assistants and not kbs:
        st.info(t("chat.nothing_yet"), icon="💬")
        with st.container(horizontal=True):
            link("knowledge_bases", t("common.go_create_kb"), icon="📚")
            link("assistants", t("chat.go_assistants"), icon="🤖")
        return None
    kinds = [k for k, items in (("assistant", assistants), ("kb", kbs)) if items]
    wanted = "kb" if param("kb") and not param("assistant") else "assistant"
    wanted = wanted if wanted in kinds else kinds[0]
    names = {k.id: k.name for k in kbs}
    left, right = st.columns([2, 5], vertical_alignment="bottom")
    kind = left.segmented_control(t("chat.talk_to"), kinds, default=wanted, key="chat_kind", required=True,
                                  format_func=lambda k: t("chat.kind." + k), on_change=switch_kind) or wanted
    if kind == "assistant":
        by_id = {a.id: a for a in assistants}
        ids = list(by_id)
        index = ids.index(param("assistant")) if param("assistant") in by_id else 0
        chosen = right.selectbox(t("chat.assistant"), ids, index=index, key="chat_assistant",
                                 on_change=switch_assistant, format_func=lambda i: f"{by_id[i].avatar or '🤖'} "
                                 f"{by_id[i].name}" + (f" · {t('agents.kind')}" if by_id[i].kind == "agent" else ""))
        set_params(assistant=chosen, kb="")
        return Target(by_id[chosen], None, names)
    by_id = {k.id: k for k in kbs}
    ids = list(by_id)
    index = ids.index(param("kb")) if param("kb") in by_id else 0
    chosen = right.selectbox(t("common.knowledge_base"), ids, index=index, key="chat_kb", on_change=switch_kb,
                             format_func=lambda i: f"{by_id[i].icon or '📘'} {by_id[i].name}")
    set_params(kb=chosen, assistant="")
    return Target(None, by_id[chosen], names)


def target_header(target: Target) -> None:
    """Name, knowledge bases and the model answering (or the retrieval-only badge, with a way out)."""
    with st.container(border=True):
        left, right = st.columns([3, 2], vertical_alignment="center")
        with left:
            st.markdown(f"#### {target.avatar} {target.name}")
            if target.assistant:
                kb_ids = target.kb_ids
                chips = " ".join(badge(f"📘 {target.kb_names.get(k, k)}", "blue") for k in kb_ids)
                st.markdown(chips or f":gray[{t('chat.no_kb')}]")
                if target.assistant.description:
                    st.caption(target.assistant.description)
            else:
                st.caption(t("chat.quick_chat", n=target.kb.chunk_count))
        with right:
            model_badge(target)
    if target.kb and target.kb.chunk_count == 0:
        st.warning(t("chat.kb_empty"), icon="📄")
        link("documents", t("chat.go_documents"), icon="📤", kb=target.kb.id)


def model_badge(target: Target) -> None:
    try:
        spec = services().models.llm_spec(tenant(), target.model_id or None)
    except AlmanacError as exc:
        st.warning(t("chat.model_missing", message=exc.message), icon="🧠")
        if target.assistant:
            link("assistants", t("chat.edit_assistant"), icon="🤖", assistant=target.assistant.id)
        return
    if spec is None and target.is_agent:  # an agent without a model cannot answer at all: say so plainly
        st.warning(t("agents.debug.no_model"), icon="🧠")
        link("models", t("agents.go_models"), icon="🧠")
        return
    with st.container(horizontal=True, horizontal_alignment="right", vertical_alignment="center"):
        if spec is None:
            st.markdown(badge("🔎 " + t("chat.badge.retrieval_only"), "orange"), help=t("chat.retrieval_only_help"),
                        width="content")
            link("models", t("chat.configure_model"), icon="🧠")
        else:
            st.markdown(badge("🧠 " + spec.model, "green"), help=t("chat.model_help"), width="content")
    if spec is None:
        st.caption(t("chat.retrieval_only_help"))
