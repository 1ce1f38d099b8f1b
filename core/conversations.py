"""Conversations and their messages: sessions with an assistant or a quick chat over knowledge bases.

ChatService (core/chat.py) builds on this with answers; this part is plain storage within a tenant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.assistants import ChatSettings, load_assistant, run_config
from core.errors import InvalidInput, NotFound
from core.prompting import recent_rounds, with_attachments
from core.providers.llm import LLMSpec
from core.schemas import Page
from core.scope import check_paging, load_kb, load_owned, parse_config
from storage.db import Database
from storage.orm import Assistant, Conversation, KnowledgeBase, Message, utcnow

# debug sessions run an assistant's draft; workspace sessions the tenant's workspace agent (core/workspace.py), so
# they need neither an assistant nor knowledge bases of their own.
CHANNELS = ("published", "debug", "workspace")
MAX_SUMMARY_CHARS = 20_000
SESSION_SECTIONS = ("llm", "prompt", "strategy")  # what a quick chat may set for itself

class ConversationInfo(BaseModel):
    id: str
    number: int  # a stable integer id beside the string one
    tenant_id: str
    assistant_id: str | None
    kb_ids: list[str]
    title: str
    channel: str
    summary: str  # long-term memory
    settings: dict[str, Any]  # a quick chat's own settings (sections of ChatSettings)
    extra: dict[str, Any]  # dialect-specific settings kept verbatim
    created_at: datetime
    updated_at: datetime


class MessageInfo(BaseModel):
    id: str
    number: int  # a stable integer id beside the string one
    conversation_id: str
    role: str
    content: str
    references: list[dict[str, Any]]
    mode: str  # llm | retrieval_only | empty | opener ("" while the first answer is pending)
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    completed: bool
    error: str
    feedback: int
    trace: list[dict[str, Any]]  # an agent's tool calls and results, in order
    attachments: list[dict[str, Any]]  # files sent with a question: {"name", "file_id", "size", "mime_type"}
    created_at: datetime


class Exchange(BaseModel):
    """A question and the answer to it: one round of a conversation."""

    id: str  # the answer's id
    conversation_id: str
    question_id: str
    question: str
    answer: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    completed: bool
    error: str
    trace: list[dict[str, Any]]
    references: list[dict[str, Any]]
    created_at: datetime  # when the question was asked
    updated_at: datetime  # when the answer was started


def exchanges_of(messages: list[Message]) -> list[Exchange]:
    """Each answer with the question before it, oldest first (the opener and imported turns have none)."""
    out, question = [], None
    for m in messages:
        if m.role == "user":
            question = m
        elif m.role == "assistant" and question is not None and m.mode not in ("opener", "imported"):
            out.append(Exchange(id=m.id, conversation_id=m.conversation_id, question_id=question.id,
                                question=question.content, answer=m.content, prompt_tokens=m.prompt_tokens,
                                completion_tokens=m.completion_tokens, latency_ms=m.latency_ms, completed=m.completed,
                                error=m.error, trace=list(m.trace or []), references=list(m.references or []),
                                created_at=question.created_at, updated_at=m.created_at))
            question = None
    return out


def conversation_info(c: Conversation) -> ConversationInfo:
    return ConversationInfo(id=c.id, number=c.number, tenant_id=c.tenant_id, assistant_id=c.assistant_id, kb_ids=list(c.kb_ids or []),
                            title=c.title, channel=c.channel, summary=c.summary or "", settings=dict(c.settings or {}),
                            extra=dict(c.extra or {}), created_at=c.created_at, updated_at=c.updated_at)


def message_info(m: Message) -> MessageInfo:
    return MessageInfo(id=m.id, number=m.number, conversation_id=m.conversation_id, role=m.role, content=m.content,
                       references=list(m.references or []), mode=m.mode, prompt_tokens=m.prompt_tokens,
                       completion_tokens=m.completion_tokens, latency_ms=m.latency_ms, completed=m.completed,
                       error=m.error, feedback=m.feedback, trace=list(m.trace or []),
                       attachments=[{k: v for k, v in a.items() if k != "text"} for a in m.attachments or []],
                       created_at=m.created_at)


class Conversations:
    def __init__(self, db: Database, models: Any = None):
        self.db = db
        self.models = models  # ModelService: which LLM a conversation uses

    # ------------------------------------------------------------------ loading
    @staticmethod
    def _conv(s: Session, tenant_id: str, conversation_id: str, **parent: str | None) -> Conversation:
        return load_owned(s, Conversation, conversation_id, tenant_id, "Conversation", **parent)

    @staticmethod
    def _msg(s: Session, tenant_id: str, message_id: str, conversation_id: str | None = None) -> Message:
        m = load_owned(s, Message, message_id, tenant_id, "Message", conversation_id=conversation_id)
        if m.deleted_at is not None:
            raise NotFound(f"Message '{message_id}' not found", kind="message", ident=message_id)
        return m

    @staticmethod
    def _settings(s: Session, c: Conversation) -> tuple[ChatSettings, list[str]]:
        """The assistant's settings (defaults for a quick chat) and the knowledge bases that still exist."""
        if c.assistant_id:
            a = s.get(Assistant, c.assistant_id)
            config = run_config(a, c.channel)
            settings = ChatSettings.model_validate({"kind": a.kind, **config})
            wanted = list(config["kb_ids"])
        else:
            settings, wanted = ChatSettings.model_validate(c.settings or {}), list(c.kb_ids or [])
        existing = set(s.scalars(select(KnowledgeBase.id).where(KnowledgeBase.tenant_id == c.tenant_id,
                                                                KnowledgeBase.id.in_(wanted)))) if wanted else set()
        kb_ids = [k for k in wanted if k in existing]
        if wanted and not kb_ids:
            raise InvalidInput("The knowledge bases of this chat were deleted; choose another knowledge base")
        return settings, kb_ids

    @staticmethod
    def _messages(s: Session, conversation_id: str) -> list[Message]:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.deleted_at.is_(None))
                              .order_by(Message.created_at, Message.id)))

    @staticmethod
    def _history(messages: list[Message], max_rounds: int) -> list[dict]:
        """Earlier rounds as role/content, without the opener and answers that produced nothing."""
        turns = [{"role": m.role, "content": with_attachments(m.content, m.attachments)} for m in messages
                 if m.mode != "opener" and m.content.strip()]
        return recent_rounds(turns, max_rounds)

    def _spec(self, tenant_id: str, settings: ChatSettings) -> LLMSpec | None:
        return self.models.llm_spec(tenant_id, settings.llm.model_id or None) if self.models else None

    # ------------------------------------------------------------------ sessions
    def create_session(self, tenant_id: str, *, assistant_id: str | None = None, kb_ids: list[str] | None = None,
                       title: str = "", channel: str = "published", settings: dict[str, Any] | None = None,
                       extra: dict[str, Any] | None = None) -> ConversationInfo:
        """A conversation with an assistant, or a quick chat over knowledge bases; the opener is its first message.

        channel "debug" runs the assistant's draft; "published" what it last published. A quick chat may bring
        its own `settings` (sections llm / prompt / strategy of ChatSettings over the defaults); `extra` keeps a
        dialect's own fields verbatim."""
        title = (title or "").replace("\x00", "").strip()[:255]
        if channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of: {', '.join(CHANNELS)}")
        own = self._check_settings(tenant_id, {}, settings)
        with self.db.session() as s:
            if assistant_id:
                if settings:
                    raise InvalidInput("A session with an assistant runs the assistant's settings")
                a = load_assistant(s, tenant_id, assistant_id)
                run_config(a, channel)  # an unpublished agent has no published sessions
                c = Conversation(tenant_id=tenant_id, assistant_id=a.id, kb_ids=[], title=title, channel=channel)
            elif kb_ids or channel == "workspace":
                kb_ids = list(dict.fromkeys(kb_ids or []))
                for kb_id in kb_ids:
                    load_kb(s, tenant_id, kb_id)
                c = Conversation(tenant_id=tenant_id, assistant_id=None, kb_ids=kb_ids, title=title, settings=own,
                                 channel="workspace" if channel == "workspace" else "published")
            else:
                raise InvalidInput("Choose an assistant or at least one knowledge base to chat with")
            c.extra = dict(extra or {})
            s.add(c)
            s.flush()
            effective, _ = self._settings(s, c)
            if effective.prompt.opener.strip() and channel != "workspace":  # the workspace agent has no greeting
                s.add(Message(tenant_id=tenant_id, conversation_id=c.id, role="assistant",
                              content=effective.prompt.opener, mode="opener", created_at=c.created_at))
            return conversation_info(c)

    def _check_settings(self, tenant_id: str, current: dict[str, Any], changes: dict[str, Any] | None) -> dict:
        """`current` with `changes` merged per section, validated (InvalidInput) and with a model the tenant has."""
        if not changes:
            return dict(current)
        if not isinstance(changes, dict) or set(changes) - set(SESSION_SECTIONS):
            raise InvalidInput(f"A session's settings have the sections {', '.join(SESSION_SECTIONS)}")
        merged = {k: {**current.get(k, {}), **(changes.get(k) or {})} for k in SESSION_SECTIONS
                  if current.get(k) or changes.get(k)}
        checked = parse_config(ChatSettings, merged)
        if checked.llm.model_id and self.models is not None:
            model = self.models.get(tenant_id, checked.llm.model_id)  # NotFound when not the tenant's
            if model.type != "llm":
                raise InvalidInput(f"Model '{model.name}' is a {model.type} model, not an LLM")
        return merged

    def update_session(self, tenant_id: str, conversation_id: str, *, title: str | None = None,
                       kb_ids: list[str] | None = None, settings: dict[str, Any] | None = None,
                       extra: dict[str, Any] | None = None) -> ConversationInfo:
        """Rename; change a quick chat's knowledge bases or its own settings (merged per section); merge its
        dialect fields."""
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            if (settings or kb_ids) and c.assistant_id:
                raise InvalidInput("A session with an assistant runs the assistant's settings and knowledge")
            if kb_ids:
                c.kb_ids = [load_kb(s, tenant_id, k).id for k in dict.fromkeys(kb_ids)]
            if settings:
                c.settings = self._check_settings(tenant_id, dict(c.settings or {}), settings)
            if title is not None and title.replace("\x00", "").strip():
                c.title = title.replace("\x00", "").strip()[:255]
            if extra:
                c.extra = {**(c.extra or {}), **extra}
            c.updated_at = utcnow()
            s.flush()
            return conversation_info(c)

    def effective_settings(self, tenant_id: str, conversation_id: str) -> ChatSettings:
        """What the session's answers run with: its assistant's settings, or a quick chat's own over the defaults."""
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            if c.assistant_id:
                a = s.get(Assistant, c.assistant_id)
                return ChatSettings.model_validate({"kind": a.kind, **run_config(a, c.channel)})
            return ChatSettings.model_validate(c.settings or {})

    def debug_session(self, tenant_id: str, assistant_id: str, *, new: bool = False) -> ConversationInfo:
        """The assistant's debug conversation (LLMOps keeps one per app); `new` starts it afresh."""
        with self.db.session() as s:
            load_assistant(s, tenant_id, assistant_id)
            q = select(Conversation).where(Conversation.assistant_id == assistant_id, Conversation.channel == "debug")
            found = s.scalars(q.order_by(Conversation.created_at.desc())).first()
            if found is not None and new:
                s.delete(found)
                found = None
            if found is not None:
                return conversation_info(found)
        return self.create_session(tenant_id, assistant_id=assistant_id, channel="debug")

    def find_debug_session(self, tenant_id: str, assistant_id: str) -> ConversationInfo | None:
        """The assistant's debug conversation, if it has one (nothing is created)."""
        with self.db.session() as s:
            load_assistant(s, tenant_id, assistant_id)
            q = select(Conversation).where(Conversation.assistant_id == assistant_id, Conversation.channel == "debug")
            found = s.scalars(q.order_by(Conversation.created_at.desc())).first()
            return conversation_info(found) if found is not None else None

    def set_memory(self, tenant_id: str, conversation_id: str, summary: str) -> ConversationInfo:
        """Edit a session's long-term memory (the summary the LLM keeps)."""
        summary = (summary or "").replace("\x00", "").strip()
        if len(summary) > MAX_SUMMARY_CHARS:
            raise InvalidInput(f"The memory is longer than {MAX_SUMMARY_CHARS} characters")
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            c.summary = summary
            s.flush()
            return conversation_info(c)

    def add_turns(self, tenant_id: str, conversation_id: str, turns: list[dict[str, str]]) -> None:
        """Store earlier turns as given, nothing generated (an OpenAI client sends the whole history).

        They sort after what the session has and before the question answer() saves next."""
        if any(t.get("role") not in ("user", "assistant") or not isinstance(t.get("content"), str) for t in turns):
            raise InvalidInput("Each earlier turn needs a role (user or assistant) and text content")
        if not turns:
            return
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            start = max(c.created_at + timedelta(microseconds=1), utcnow() - timedelta(microseconds=len(turns) + 1))
            for i, t in enumerate(turns):
                s.add(Message(tenant_id=tenant_id, conversation_id=c.id, role=t["role"], content=t["content"],
                              mode="imported", created_at=start + timedelta(microseconds=i)))

    def id_of_number(self, tenant_id: str, number: int, *, message: bool = False) -> str:
        """The id of the tenant's conversation (or, with `message`, message) numbered `number`; NotFound otherwise."""
        model, kind = (Message, "message") if message else (Conversation, "conversation")
        q = select(model.id).where(model.tenant_id == tenant_id, model.number == number)
        if message:
            q = q.where(Message.deleted_at.is_(None))
        with self.db.session() as s:
            # Beyond 64 bits no row can have the number (and the database driver would overflow).
            found = s.scalar(q) if isinstance(number, int) and not isinstance(number, bool) \
                and -2**63 <= number < 2**63 else None
        if found is None:
            raise NotFound(f"{kind.capitalize()} {number} not found", kind=kind, ident=str(number))
        return found

    def get_session(self, tenant_id: str, conversation_id: str, *, assistant_id: str | None = None,
                    channel: str | None = None) -> ConversationInfo:
        """The tenant's conversation; with `assistant_id` / `channel`, only one of that assistant / channel."""
        with self.db.session() as s:
            return conversation_info(self._conv(s, tenant_id, conversation_id, assistant_id=assistant_id,
                                                channel=channel))

    def list_sessions(self, tenant_id: str, *, assistant_id: str | None = None, title: str = "",
                      conversation_id: str = "", channel: str | None = None, page: int = 1, page_size: int = 30,
                      desc: bool = True) -> Page:
        """Most recently active first; `assistant_id` limits to one assistant's sessions, `channel` to
        published (API and public) or debug sessions."""
        check_paging(page, page_size)
        q = select(Conversation).where(Conversation.tenant_id == tenant_id)
        with self.db.session() as s:
            if assistant_id:
                load_assistant(s, tenant_id, assistant_id)
                q = q.where(Conversation.assistant_id == assistant_id)
            if title:
                q = q.where(Conversation.title == title)
            if conversation_id:
                q = q.where(Conversation.id == conversation_id)
            if channel:
                q = q.where(Conversation.channel == channel)
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            col = Conversation.updated_at
            rows = s.scalars(q.order_by(col.desc() if desc else col.asc(), Conversation.id)
                             .offset((page - 1) * page_size).limit(page_size)).all()
            return Page(items=[conversation_info(c) for c in rows], total=total, page=page, page_size=page_size)

    def rename_session(self, tenant_id: str, conversation_id: str, title: str) -> ConversationInfo:
        title = (title or "").replace("\x00", "").strip()
        if not title:
            raise InvalidInput("The title must not be empty")
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            c.title = title[:255]
            s.flush()
            return conversation_info(c)

    def delete_session(self, tenant_id: str, conversation_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._conv(s, tenant_id, conversation_id))

    # ------------------------------------------------------------------ messages
    def list_messages(self, tenant_id: str, conversation_id: str, *, before: datetime | None = None,
                      limit: int = 50) -> list[MessageInfo]:
        """A page of history, oldest first: the `limit` latest messages (before `before`, for older pages)."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        with self.db.session() as s:
            self._conv(s, tenant_id, conversation_id)
            q = select(Message).where(Message.conversation_id == conversation_id, Message.deleted_at.is_(None))
            if before is not None:
                q = q.where(Message.created_at < before)
            rows = s.scalars(q.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)).all()
            return [message_info(m) for m in reversed(rows)]

    def list_exchanges(self, tenant_id: str, conversation_id: str, *, page: int = 1, page_size: int = 20) -> Page:
        """Questions with their answers, newest first; deleted ones are left out."""
        check_paging(page, page_size)
        with self.db.session() as s:
            self._conv(s, tenant_id, conversation_id)
            rounds = exchanges_of(self._messages(s, conversation_id))[::-1]
        start = (page - 1) * page_size
        return Page(items=rounds[start:start + page_size], total=len(rounds), page=page, page_size=page_size)

    def get_exchange(self, tenant_id: str, conversation_id: str, message_id: str) -> Exchange:
        """One round of this conversation, named by its answer or its question."""
        with self.db.session() as s:
            self._conv(s, tenant_id, conversation_id)
            found = next((x for x in exchanges_of(self._messages(s, conversation_id))
                          if message_id in (x.id, x.question_id)), None)
        if found is None:
            raise NotFound(f"Message '{message_id}' not found in this conversation", kind="message", ident=message_id)
        return found

    def delete_exchange(self, tenant_id: str, conversation_id: str, message_id: str) -> None:
        """Soft-delete one round (named by its answer or its question) of this conversation only."""
        x = self.get_exchange(tenant_id, conversation_id, message_id)
        with self.db.session() as s:
            now = utcnow()
            for m in (s.get(Message, x.id), s.get(Message, x.question_id)):
                m.deleted_at = now

    def get_message(self, tenant_id: str, message_id: str, *, conversation_id: str | None = None) -> MessageInfo:
        """The tenant's message; with `conversation_id`, only one of that conversation."""
        with self.db.session() as s:
            if conversation_id is not None:
                self._conv(s, tenant_id, conversation_id)
            return message_info(self._msg(s, tenant_id, message_id, conversation_id))

    def delete_message(self, tenant_id: str, message_id: str, *, conversation_id: str | None = None) -> None:
        """Soft delete: the row stays (for audit) but is no longer listed or sent to the model."""
        with self.db.session() as s:
            if conversation_id is not None:
                self._conv(s, tenant_id, conversation_id)
            self._msg(s, tenant_id, message_id, conversation_id).deleted_at = utcnow()

    def feedback_on_answer(self, tenant_id: str, answer: str, value: int, question: str = "") -> MessageInfo:
        """Rate the tenant's latest answer that reads `answer` (after the question `question`, when given):
        for clients that send the texts rather than a message id."""
        answer = (answer or "").strip()
        if not answer:
            raise InvalidInput("The answer to rate must not be empty")
        with self.db.session() as s:
            found = s.scalars(select(Message).where(Message.tenant_id == tenant_id, Message.role == "assistant",
                                                    Message.deleted_at.is_(None), Message.content.in_(
                                                        {answer, " " + answer}))
                              .order_by(Message.created_at.desc()).limit(20)).all()
            if question.strip():
                found = [m for m in found if self._question_of(s, m) == question.strip()] or found
            if not found:
                raise NotFound("No answer with this text was found", kind="message", ident="")
            message_id = found[0].id
        return self.feedback(tenant_id, message_id, value)

    @staticmethod
    def _question_of(s: Session, answer: Message) -> str:
        q = select(Message.content).where(Message.conversation_id == answer.conversation_id, Message.role == "user",
                                          Message.created_at < answer.created_at, Message.deleted_at.is_(None))
        return (s.scalar(q.order_by(Message.created_at.desc()).limit(1)) or "").strip()

    def feedback(self, tenant_id: str, message_id: str, value: int) -> MessageInfo:
        """1 like, -1 dislike, 0 clears."""
        if isinstance(value, bool) or value not in (-1, 0, 1):
            raise InvalidInput("feedback must be 1 (like), -1 (dislike) or 0 (none)")
        with self.db.session() as s:
            m = self._msg(s, tenant_id, message_id)
            if m.role != "assistant":
                raise InvalidInput("Only answers can be rated")
            m.feedback = value
            s.flush()
            return message_info(m)
