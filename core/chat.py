"""Knowledge chat: sessions, messages and streamed answers that cite the chunks they use.

answer() validates and saves the question at once (errors raise before any event), then
returns a generator of ChatEvent: `references`, `delta`..., and `done` or `error`. The
answer row exists from the start with completed=False, so a consumer that stops iterating
(a client that disconnects) leaves an incomplete message that continue_message() resumes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from core.agents import AgentRun, tool_context, tool_refs
from core.assistants import AssistantService, ChatSettings
from core.calibration import close_to_best
from core.conversations import ConversationInfo, Conversations, MessageInfo, conversation_info, message_info
from core.errors import AlmanacError, Conflict, InvalidInput, ProviderError
from core.ingestion.readers import ReadLimits, read_document
from core.prompting import (CONTINUE_PROMPT, MEMORY_SYSTEM, REWRITE_SYSTEM, TITLE_SYSTEM, build_prompt, cited_indexes,
                            clean_title, heuristic_title, note, passage, retrieval_only_answer, transcript,
                            with_attachments)
from core.providers.llm import LLM, ChatParams, LLMSpec, get_llm
from core.query_expansion import Expansion
from core.retrieval import MAX_QUERY_CHARS, RetrievalService
from core.text import count_tokens
from core.visitors import VisitorPolicy
from storage.db import Database
from storage.orm import Conversation, Message, utcnow

__all__ = ["Attachment", "ChatEvent", "ChatService", "ConversationInfo", "MessageInfo", "conversation_info", "message_info"]

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 20_000
FLUSH_EVERY = 1.0  # seconds between saves of a streaming answer (a crash keeps what was said)
LLM_CACHE_SIZE = 16
MAX_ATTACHMENTS, MAX_ATTACHMENT_CHARS = 5, 20_000  # files per question; text of one file given to the model


@dataclass
class Attachment:
    """A file a question comes with: its text is read once and goes to the model with the question (and with
    the later questions of the conversation, as part of its history)."""

    name: str
    data: bytes = b""
    file_id: str = ""  # its original in the file storage
    text: str | None = None  # already read (a client's own description of a file); None: read `data`
    mime_type: str = ""


@dataclass
class ChatEvent:
    type: str  # references | delta | done | error
    data: dict


def final_answer(events: Iterator[ChatEvent]) -> dict[str, Any]:
    """The `done` event's data of an answer's stream, read to its end (long-term memory is updated after `done`);
    an `error` event raises ProviderError."""
    done: dict[str, Any] | None = None
    for ev in events:
        if ev.type == "error":
            raise ProviderError(ev.data.get("message", "The answer failed"))
        if ev.type == "done":
            done = ev.data
    if done is None:
        raise ProviderError("The answer ended without a result")
    return done


@dataclass
class _Job:
    """Everything an answer needs, gathered before streaming starts."""

    tenant_id: str
    conversation_id: str
    message_id: str
    question: str
    history: list[dict]
    kb_ids: list[str]
    settings: ChatSettings
    spec: LLMSpec | None
    summary: str = ""  # the session's long-term memory
    attachments: list[dict] = field(default_factory=list)  # {"name", "file_id", "text"} of the question's files
    passages: list[dict] | None = None  # None: retrieve; a list: the references of the answer being continued
    resume: str = ""  # the text an incomplete answer already has
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    @property
    def prompt_question(self) -> str:
        """The question as the model reads it: with the text of its attached files."""
        return with_attachments(self.question, self.attachments)


@dataclass
class _Output:
    content: str = ""
    references: list[dict] = field(default_factory=list)
    mode: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_ms: float | None = None
    error: str = ""
    model_error: str = ""  # the model failed before its first word and the answer quotes passages instead
    saved: bool = False
    trace: list[dict] = field(default_factory=list)


class ChatService(Conversations):
    """Sessions and messages (see Conversations) plus answers, continuation and titles."""

    def __init__(self, db: Database, retrieval: RetrievalService, assistants: AssistantService, models: Any,
                 llm_factory: Callable[[LLMSpec], LLM] = get_llm, tools: Any = None,
                 visitors: VisitorPolicy | None = None, read_limits: ReadLimits | None = None):
        super().__init__(db, models)
        self.retrieval, self.assistants, self.llm_factory = retrieval, assistants, llm_factory
        self.tools = tools  # ToolService: binds an agent's tools
        self.visitors = visitors  # a public demo's hourly budget of questions (core/visitors.py)
        self.read_limits = read_limits or ReadLimits()  # for attached files
        self._llms: OrderedDict[LLMSpec, LLM] = OrderedDict()
        self._llms_lock = threading.Lock()

    def _llm(self, spec: LLMSpec) -> LLM:
        """A client per spec, kept: building an OpenAI client costs ~20 ms of every first token."""
        with self._llms_lock:
            llm = self._llms.pop(spec, None) or self.llm_factory(spec)
            self._llms[spec] = llm
            while len(self._llms) > LLM_CACHE_SIZE:
                self._llms.popitem(last=False)
            return llm

    def generate_title(self, tenant_id: str, conversation_id: str,
                       turns: list[dict[str, str]] | None = None) -> ConversationInfo:
        """A title from the first question (and answer): by the LLM when there is one, else the question shortened.

        `turns` (role/content) stand in for the session's own messages when a client sends them."""
        if turns is not None and any(t.get("role") not in ("user", "assistant") or not isinstance(t.get("content"), str)
                                     for t in turns):
            raise InvalidInput("Each message needs a role (user or assistant) and text content")
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            settings, _ = self._settings(s, c)
            if turns is None:
                turns = self._history(self._messages(s, c.id), 1_000)
            turns = [t for t in turns if t["content"].strip()][:2]
        if not turns:
            return self.get_session(tenant_id, conversation_id)  # nothing asked yet: keep the title
        title = ""
        spec = self._spec(tenant_id, settings)
        if spec is not None:
            try:
                reply = self._llm(spec).complete(
                    [{"role": "system", "content": TITLE_SYSTEM}, {"role": "user", "content": transcript(turns, 800)}],
                    ChatParams(temperature=0.2, max_tokens=32))
                title = clean_title(reply.content)
            except AlmanacError as exc:  # a title is not worth failing for
                log.info("Title generation fell back to the heuristic: %s", exc.message)
        title = title or heuristic_title(turns[0]["content"])
        return self.rename_session(tenant_id, conversation_id, title)


    # ------------------------------------------------------------------ answering
    def answer(self, tenant_id: str, conversation_id: str, question: str, *, regenerate: bool = False,
               run_as: tuple[ChatSettings, list[str]] | None = None,
               attachments: Sequence[Attachment] = ()) -> Iterator[ChatEvent]:
        """Save the question (with the text of its attached files) and an empty answer, then return the event
        stream that fills it.

        regenerate=True answers the last question again (its previous answers are deleted). `run_as` (settings,
        knowledge base ids) answers with those instead of the conversation's own (the workspace agent)."""
        question = (question or "").replace("\x00", "").strip()
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidInput(f"The question is longer than {MAX_QUESTION_CHARS} characters")
        files = self._read_attachments(attachments)
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            settings, kb_ids = run_as or self._settings(s, c)
        spec = self._spec(tenant_id, settings)  # before writing: a missing model must change nothing
        with self.db.session() as s:
            c = self._conv(s, tenant_id, conversation_id)
            messages = self._messages(s, c.id)
            now = utcnow()
            if regenerate:
                last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
                if last is None:
                    raise InvalidInput("Nothing to regenerate: ask a question first")
                stale = [m.id for m in messages[last + 1:]]
                if stale:
                    s.execute(delete(Message).where(Message.id.in_(stale)))
                question, prior = messages[last].content, messages[:last]
                files = list(messages[last].attachments or [])
                now = max(now, messages[last].created_at + timedelta(microseconds=1))
            else:
                if not question:
                    raise InvalidInput("The question must not be empty")
                prior = messages
                s.add(Message(tenant_id=tenant_id, conversation_id=c.id, role="user", content=question,
                              attachments=files, created_at=now))
                now += timedelta(microseconds=1)  # the answer sorts after its question
            if self.visitors is not None:
                self.visitors.check_question()  # after validation: bad input costs nothing (rolls back)
            reply = Message(tenant_id=tenant_id, conversation_id=c.id, role="assistant", content="",
                            completed=False, created_at=now)
            s.add(reply)
            c.title = c.title or heuristic_title(question)
            c.updated_at = utcnow()
            s.flush()
            job = _Job(tenant_id, c.id, reply.id, question, self._history(prior, settings.strategy.max_rounds),
                       kb_ids, settings, spec, summary=c.summary or "", attachments=files)
        return self._run(job)

    def _read_attachments(self, attachments: Sequence[Attachment]) -> list[dict]:
        """What the saved question records of each file, with its text (InvalidInput names an unreadable file)."""
        if len(attachments) > MAX_ATTACHMENTS:
            raise InvalidInput(f"A question can come with at most {MAX_ATTACHMENTS} files")
        files = []
        for a in attachments:
            text = a.text
            if text is None:
                try:
                    text = read_document(a.name, a.data, limits=self.read_limits).text
                except InvalidInput as exc:
                    raise InvalidInput(f"The attached file '{a.name}' cannot be read: {exc.message}") from None
            text = text.replace("\x00", "").strip()
            if len(text) > MAX_ATTACHMENT_CHARS:
                text = text[:MAX_ATTACHMENT_CHARS] + "\n[... the rest of the file is left out]"
            files.append({"name": a.name, "file_id": a.file_id, "text": text, "size": len(a.data),
                          "mime_type": a.mime_type})
        return files

    def continue_message(self, tenant_id: str, message_id: str) -> Iterator[ChatEvent]:
        """Resume an incomplete answer (a disconnect or an error): new text is appended to what it has."""
        if self.visitors is not None:
            self.visitors.check_question()
        with self.db.session() as s:
            m = self._msg(s, tenant_id, message_id)
            if m.role != "assistant" or m.mode == "opener":
                raise InvalidInput("Only an answer can be continued")
            if m.completed:
                raise Conflict("This answer is complete; regenerate it for a new one")
            c = self._conv(s, tenant_id, m.conversation_id)
            settings, kb_ids = self._settings(s, c)
            messages = self._messages(s, c.id)
            at = next(i for i, x in enumerate(messages) if x.id == m.id)
            q = next((i for i in range(at - 1, -1, -1) if messages[i].role == "user"), None)
            if q is None:
                raise InvalidInput("This answer has no question to continue from")
            job = _Job(tenant_id, c.id, m.id, messages[q].content,
                       self._history(messages[:q], settings.strategy.max_rounds), kb_ids, settings, None,
                       passages=list(m.references or []) if m.content else None, resume=m.content,
                       prompt_tokens=m.prompt_tokens, completion_tokens=m.completion_tokens, latency_ms=m.latency_ms,
                       summary=c.summary or "", attachments=list(messages[q].attachments or []))
            trace = list(m.trace or [])
        job.spec = self._spec(tenant_id, settings)
        return self._run(job, trace)

    def _run(self, job: _Job, trace: list[dict] | None = None) -> Iterator[ChatEvent]:
        out = _Output(content=job.resume, trace=list(trace or []))
        if job.resume and job.passages:
            out.references = list(job.passages)
        try:
            yield from self._produce(job, out)
        except AlmanacError as exc:
            out.error = exc.message
        except Exception as exc:  # noqa: BLE001 - reported to the user, logged for the operator
            log.exception("Answer %s failed", job.message_id)
            out.error = f"The answer failed unexpectedly ({type(exc).__name__}); see the server log."
        finally:
            if not out.saved:  # an error, or the consumer went away (GeneratorExit)
                self._save(job, out, completed=False)
        if out.error:
            yield ChatEvent("error", {"conversation_id": job.conversation_id, "message_id": job.message_id,
                                      "message": out.error, "content": out.content, "mode": out.mode})

    def _produce(self, job: _Job, out: _Output) -> Iterator[ChatEvent]:
        if job.settings.kind == "agent":
            yield from self._agent(job, out)
        else:
            yield from self._knowledge_chat(job, out)
        self._save(job, out, completed=True)
        yield ChatEvent("done", {
            "conversation_id": job.conversation_id, "message_id": job.message_id, "content": out.content,
            "references": out.references, "cited": cited_indexes(out.content, len(out.references)),
            "mode": out.mode, "model": job.spec.model if job.spec else "", "model_error": out.model_error,
            "trace": out.trace,
            "prompt_tokens": job.prompt_tokens + out.prompt_tokens,
            "completion_tokens": job.completion_tokens + out.completion_tokens,
            "latency_ms": self._latency(job), "first_token_ms": out.first_token_ms})
        if job.settings.strategy.memory_mode == "long_term_memory" and job.spec is not None:
            self._remember(job, out)

    def _agent(self, job: _Job, out: _Output) -> Iterator[ChatEvent]:
        """Tools in a loop (core/agents.py). Without a model, or when it fails before a word of the answer, the
        agent answers as a chat assistant does without one: quoting its knowledge bases."""
        if job.spec is None:
            yield from self._knowledge_chat(job, out)
            return
        out.mode = "agent"
        tools = self.tools.bind(tool_refs(job.settings, job.kb_ids), tool_context(job)) if self.tools else []
        run = AgentRun(job, out, self._llm(job.spec), tools, emit=lambda text: self._emit(job, out, text),
                       event=lambda kind, data: ChatEvent(kind, {"message_id": job.message_id, **data}))
        try:
            yield from run.run(job.summary)
            if not out.content[len(job.resume):].strip():
                raise ProviderError(f"The model '{job.spec.model}' returned an empty answer; try again or check "
                                    "the model's settings.")
        except ProviderError as exc:
            if job.resume or out.content:
                raise
            yield from self._fall_back(job, out, exc)

    def _remember(self, job: _Job, out: _Output) -> None:
        """Fold the exchange into the session's long-term memory (a failure keeps the old memory)."""
        exchange = transcript([{"role": "user", "content": job.question}, {"role": "assistant", "content": out.content}])
        try:
            reply = self._llm(job.spec).complete(
                [{"role": "system", "content": MEMORY_SYSTEM},
                 {"role": "user", "content": f"Memory so far:\n{job.summary or '(empty)'}\n\nNew exchange:\n"
                                             f"{exchange}\n\nUpdated memory:"}],
                ChatParams(temperature=0.0, max_tokens=400))
        except AlmanacError as exc:
            log.info("Long-term memory not updated: %s", exc.message)
            return
        if reply.content.strip():
            with self.db.session() as s:
                c = s.get(Conversation, job.conversation_id)
                if c is not None:
                    c.summary = reply.content.strip()[:20_000]

    def _knowledge_chat(self, job: _Job, out: _Output) -> Iterator[ChatEvent]:
        p, strategy = job.settings.prompt, job.settings.strategy
        llm = self._llm(job.spec) if job.spec is not None else None
        out.mode = "llm" if llm else "retrieval_only"
        passages = job.passages
        if passages is None:
            query = job.question
            if strategy.query_rewrite and llm is not None and job.history:
                query = self._rewrite(llm, job.history, job.question)
            passages = self._retrieve(job, query) if job.kb_ids else []
        fixed: str | None = None
        if job.kb_ids and not passages:
            fixed = p.empty_response or (strategy.fallback_response if strategy.fallback_strategy == "fixed_response"
                                         else "")
            out.mode = "empty" if fixed else out.mode
            fixed = fixed or (None if llm else retrieval_only_answer([], job.question))
        prompt = build_prompt(p.system, passages, job.history, job.prompt_question,
                              context_window=job.settings.llm.context_window, max_tokens=job.settings.llm.max_tokens,
                              show_quote=p.show_quote)
        out.references = prompt.references
        yield ChatEvent("references", {"conversation_id": job.conversation_id, "message_id": job.message_id,
                                       "references": out.references, "mode": out.mode})
        if fixed is None and llm is None:
            fixed = retrieval_only_answer(out.references, job.question) if job.kb_ids else \
                note("nothing_to_quote", job.question)
        if fixed is not None:
            new = fixed[len(job.resume):] if fixed.startswith(job.resume) else "\n\n" * bool(job.resume) + fixed
            yield from self._emit(job, out, new)
            out.completion_tokens = count_tokens(new)
            return
        try:
            yield from self._stream(job, out, llm, prompt.messages, prompt.tokens)
        except ProviderError as exc:
            if job.resume or out.content:  # it failed mid-answer: the text so far stays, marked
                raise
            yield from self._fall_back(job, out, exc)

    def _fall_back(self, job: _Job, out: _Output, exc: ProviderError) -> Iterator[ChatEvent]:
        """The model failed before the first word: answer by quoting the passages, with a note saying so; the error
        goes to the answer (shown to the admin) and to the model's status on the Models page."""
        log.warning("Answer %s: the model failed (%s); answering with the passages instead", job.message_id,
                    exc.message)
        out.mode, out.model_error = "fallback", exc.message
        if self.models is not None:
            self.models.record_failure(job.tenant_id, job.settings.llm.model_id, exc.message)
        if not out.references and job.kb_ids:  # an agent's model failed before it searched
            out.references = [{**p, "index": i} for i, p in enumerate(self._retrieve(job, job.question), 1)]
        yield ChatEvent("references", {"conversation_id": job.conversation_id, "message_id": job.message_id,
                                       "references": out.references, "mode": out.mode})
        text = retrieval_only_answer(out.references, job.question, "model_failed") if job.kb_ids else \
            note("model_failed_short", job.question)
        yield from self._emit(job, out, text)
        out.completion_tokens = count_tokens(text)

    def _emit(self, job: _Job, out: _Output, text: str) -> Iterator[ChatEvent]:
        if out.first_token_ms is None:
            out.first_token_ms = round((time.perf_counter() - job.started) * 1000, 1)
        out.content += text
        yield ChatEvent("delta", {"message_id": job.message_id, "content": text})

    def _stream(self, job: _Job, out: _Output, llm: LLM, messages: list[dict], estimate: int) -> Iterator[ChatEvent]:
        if job.resume:
            messages = [*messages, {"role": "assistant", "content": job.resume},
                        {"role": "user", "content": CONTINUE_PROMPT}]
        params = job.settings.llm.chat_params()
        stream, usage, finish, new, flushed = llm.stream(messages, params), None, None, "", time.monotonic()
        try:
            for chunk in stream:
                if chunk.delta:
                    new += chunk.delta
                    yield from self._emit(job, out, chunk.delta)
                    if time.monotonic() - flushed > FLUSH_EVERY:
                        self._save(job, out, completed=False)
                        flushed = time.monotonic()
                usage, finish = chunk.usage or usage, chunk.finish_reason or finish
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()  # a consumer that left mid-answer also ends the HTTP request
        if not new.strip():
            raise ProviderError(f"The model '{job.spec.model}' returned an empty answer"
                                f" (finish reason: {finish or 'none'}); try again or check the model's settings.")
        out.prompt_tokens = usage.prompt_tokens if usage and usage.prompt_tokens else estimate
        out.completion_tokens = usage.completion_tokens if usage and usage.completion_tokens else count_tokens(new)

    def _retrieve(self, job: _Job, query: str) -> list[dict]:
        options, top_n = job.settings.search_options()
        if not top_n:
            return []  # no passages wanted: the answer comes from the model alone (or the empty response)
        p = job.settings.prompt
        expansion = Expansion.of(p.query_languages, p.model_keywords, model_id=job.settings.llm.model_id)
        # A question may be longer than a search query may be (a pasted text): search with its start.
        hits = self.retrieval.search(job.tenant_id, job.kb_ids, query[:MAX_QUERY_CHARS], **options, source="chat",
                                     expansion=expansion)
        if options["threshold"] > 0:  # threshold 0 asks for every passage, near the best or not
            hits = close_to_best(hits)
        return [passage(h) for h in hits[:top_n]]

    @staticmethod
    def _rewrite(llm: LLM, history: list[dict], question: str) -> str:
        """A standalone search query for a follow-up question; the question itself if the model fails."""
        try:
            reply = llm.complete([{"role": "system", "content": REWRITE_SYSTEM},
                                  {"role": "user", "content": f"{transcript(history)}\nUser: {question}\n\nQuery:"}],
                                 ChatParams(temperature=0.0, max_tokens=96))
        except AlmanacError as exc:
            log.info("Query rewrite skipped: %s", exc.message)
            return question
        query = " ".join(reply.content.split()).strip().strip("\"'")
        return query or question

    @staticmethod
    def _latency(job: _Job) -> float:
        return round(job.latency_ms + (time.perf_counter() - job.started) * 1000, 1)

    def _save(self, job: _Job, out: _Output, *, completed: bool) -> None:
        with self.db.session() as s:
            m = s.get(Message, job.message_id)
            if m is None:  # deleted (with its conversation) while answering
                out.saved = completed
                return
            m.content, m.references, m.mode = out.content, out.references, out.mode
            m.prompt_tokens = job.prompt_tokens + out.prompt_tokens
            m.completion_tokens = job.completion_tokens + out.completion_tokens
            m.latency_ms, m.completed, m.error = self._latency(job), completed, out.error or out.model_error
            m.trace = out.trace
            c = s.get(Conversation, job.conversation_id)
            if c is not None:
                c.updated_at = utcnow()
        out.saved = completed
