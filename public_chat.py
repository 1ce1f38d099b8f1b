"""The public chat page of a published assistant or agent (Gradio), shared as /chat/<assistant_id>[?token=…].

Gradio is mounted once at /chat. `AssistantPaths` strips the assistant id from the path of the page
and its asset requests, so every assistant is served by the same Gradio app; the page's load event
reads the id and token from the browser's address (Gradio's queue calls carry neither) and keeps
what it found in the session's gr.State, which only the server can change.

No tenant is given: the assistant is looked up by id (`get_public`), and every later call is made
in that assistant's tenant. A conversation is created at a visitor's first question, so a page view
alone stores nothing; "New chat" starts another at the next question.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from fastapi import FastAPI
from gradio.routes import INTERNAL_ROUTES
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from core.assistants import AssistantInfo
from core.chat import MAX_QUESTION_CHARS
from core.container import Services, get_services
from core.errors import AlmanacError, Forbidden, NotFound
from core.i18n import pick_language, translate
from core.prompting import excerpt
from core.visitors import visiting
from public_chat_voice import VOICE_CSS, Heard, hear, read_aloud, speech_player, status_html, voice_controls

log = logging.getLogger(__name__)
CHAT_PATH = "/chat"
ASSISTANT_ID = re.compile(r"[0-9a-f]{32}")
PAGE_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what may stand for an id in the path (bad ones: "not available")
ANSWERS_AT_ONCE = 16  # concurrent answers across all visitors; each holds a worker thread while it streams
SOURCE_EXCERPT_CHARS = 180
TOOL_TEXT_CHARS = 1_500

# (icon, title, hint) of the notices shown instead of the chat, as catalog keys (assets/i18n/public_chat.toml).
NOT_AVAILABLE = ("🔎", "public.not_available", "public.not_available_hint")
NEEDS_TOKEN = ("🔒", "public.needs_token", "public.needs_token_hint")
QUOTED_MODES = ("retrieval_only", "fallback")  # answers no model wrote: the page says so (public.mode.*)

# The browser's address and languages, handed to the load event (the queue call that runs it carries neither).
READ_ADDRESS_JS = ("() => [window.location.pathname, window.location.search, "
                   "(navigator.languages || [navigator.language]).join(',')]")
SET_TITLE_JS = "(title, lang) => { if (title) { document.title = title; } document.documentElement.lang = lang; }"
# The switch's choice goes into the address (?lang=), so a reload or a shared link keeps it.
KEEP_LANGUAGE_JS = """(lang) => {
    const url = new URL(window.location.href);
    url.searchParams.set('lang', lang);
    window.history.replaceState(null, '', url);
    document.documentElement.lang = lang;
}"""
LANGUAGE_CHOICES = [("English", "en"), ("中文", "zh")]

CSS = """
.gradio-container { width: 100% !important; max-width: 860px !important; margin: 0 auto !important; }
#pc-header { padding: 12px 4px 4px; }
.pc-head { display: flex; gap: 14px; align-items: center; }
.pc-avatar { width: 52px; height: 52px; border-radius: 14px; background: #EEF2FF; display: flex;
  align-items: center; justify-content: center; font-size: 28px; flex: none; overflow: hidden; }
.pc-avatar img { width: 100%; height: 100%; object-fit: cover; }
.pc-name { margin: 0 !important; font-size: 1.45rem !important; font-weight: 650; line-height: 1.25; }
.pc-desc { margin: 2px 0 0 !important; color: #6B7280; font-size: .95rem; }
.pc-kind { display: inline-block; margin-left: 8px; padding: 1px 8px; border-radius: 999px; font-size: .72rem;
  font-weight: 600; vertical-align: middle; background: #EEF2FF; color: #4338CA; }
.pc-notice { text-align: center; padding: 48px 28px; max-width: 560px; margin: 72px auto 0;
  border: 1px solid #E5E7EB; border-radius: 16px; background: #F9FAFB; }
.pc-notice-icon { font-size: 44px; }
.pc-notice h2 { margin: 12px 0 6px !important; font-size: 1.35rem !important; }
.pc-notice p { color: #6B7280; margin: 0 !important; }
.pc-sources { margin-top: 10px; padding-top: 8px; border-top: 1px solid #E5E7EB; font-size: .85rem; }
.pc-sources-title { font-weight: 600; color: #4B5563; margin-bottom: 4px; }
.pc-source { margin: 3px 0; color: #4B5563; line-height: 1.4; }
.pc-source b { color: #1F2937; }
.pc-source-n { display: inline-block; min-width: 22px; padding: 0 5px; margin-right: 4px; border-radius: 6px;
  background: #EEF2FF; color: #4338CA; font-weight: 600; font-size: .78rem; text-align: center; }
.pc-mode { display: inline-block; margin-bottom: 4px; padding: 2px 10px; border-radius: 999px; font-size: .8rem;
           background: #FFF7ED; color: #9A3412; }
.pc-error { margin-top: 8px; padding: 8px 10px; border-radius: 8px; background: #FEF2F2; color: #991B1B; }
#pc-input textarea { font-size: 1rem; }
#pc-lang { flex: 0 0 auto !important; width: auto !important; min-width: 0 !important; margin-left: auto; }
#pc-lang .wrap { gap: 4px; }
#pc-lang label { padding: 2px 10px !important; font-size: .85rem; }
#pc-top { align-items: center; }
#pc-chatbot .top-panel, #pc-chatbot .message-buttons-right { display: none !important; }
footer { display: none !important; }
@media (max-width: 640px) {
  .pc-avatar { width: 40px; height: 40px; font-size: 22px; border-radius: 10px; }
  .pc-name { font-size: 1.15rem !important; }
  .pc-desc { font-size: .85rem; }
}
"""


# ---------------------------------------------------------------------- access

def page_language(search: str, browser: str) -> str:
    """?lang= in the address (the switch put it there), else the browser's preferred languages."""
    return pick_language((parse_qs((search or "").lstrip("?")).get("lang") or [""])[0], browser)


def link_target(pathname: str, search: str, mount_path: str = CHAT_PATH) -> tuple[str, str]:
    """(assistant id, token) from the page's address: /chat/<id>?token=… (or /chat/?id=<id>&token=…)."""
    query = parse_qs((search or "").lstrip("?"))
    last = (pathname or "").rstrip("/").rsplit("/", 1)[-1]
    assistant_id = "" if last == mount_path.strip("/").rsplit("/", 1)[-1] else last
    assistant_id = assistant_id or (query.get("id") or [""])[0]
    return assistant_id.strip().lower(), (query.get("token") or [""])[0].strip()


def open_assistant(services: Services, assistant_id: str, token: str) -> AssistantInfo:
    """The shared, published assistant behind a link; NotFound (no such public assistant) or Forbidden (wrong token)."""
    if not ASSISTANT_ID.fullmatch(assistant_id or ""):
        raise NotFound("This assistant is not available")
    return services.assistants.get_public(assistant_id, token)


def opener_of(info: AssistantInfo) -> str:
    return str(((info.published or {}).get("prompt") or {}).get("opener") or "").strip()


def opening_messages(info: AssistantInfo) -> list[dict]:
    opener = opener_of(info)
    return [{"role": "assistant", "content": opener}] if opener else []


# ---------------------------------------------------------------------- rendering

def avatar_html(avatar: str) -> str:
    avatar = (avatar or "").strip()
    if re.match(r"^(https?://|data:image/)", avatar):
        return f'<img src="{html.escape(avatar, quote=True)}" alt="">'
    return html.escape(avatar[:16] or "🤖")


def header_html(info: AssistantInfo, lang: str = "en") -> str:
    kind = f'<span class="pc-kind">{translate(lang, "public.kind.agent")}</span>' if info.kind == "agent" else ""
    desc = f'<p class="pc-desc">{html.escape(info.description)}</p>' if info.description.strip() else ""
    return (f'<div class="pc-head"><div class="pc-avatar">{avatar_html(info.avatar)}</div>'
            f'<div><h1 class="pc-name">{html.escape(info.name)}{kind}</h1>{desc}</div></div>')


def notice_html(notice: tuple[str, str, str], lang: str = "en") -> str:
    icon, title, hint = notice
    return (f'<div class="pc-notice"><div class="pc-notice-icon">{icon}</div><h2>{translate(lang, title)}</h2>'
            f'<p>{translate(lang, hint)}</p></div>')


def sources_html(references: list[dict], cited: list[int], lang: str = "en") -> str:
    """The cited passages as a compact list: number, document name, a short excerpt (one line of HTML)."""
    by_index = {r.get("index"): r for r in references}
    rows = []
    for i in cited:
        ref = by_index.get(i)
        if ref is None:
            continue
        name = html.escape(str(ref.get("document_name") or translate(lang, "public.untitled")))
        text = html.escape(excerpt(str(ref.get("content") or ""), SOURCE_EXCERPT_CHARS))
        rows.append(f'<div class="pc-source"><span class="pc-source-n">{i}</span><b>{name}</b> — {text}</div>')
    if not rows:
        return ""
    # No blank line inside: markdown would end the HTML block there and render the rest as text.
    return (f'<div class="pc-sources"><div class="pc-sources-title">{translate(lang, "public.sources")}</div>'
            + "".join(rows) + "</div>")


def _clip(text: str, limit: int = TOOL_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


@dataclass
class Turn:
    """One answer as chat messages: text, with tool steps as collapsible bubbles where they happened."""

    lang: str = "en"
    messages: list[dict] = field(default_factory=list)
    streamed: bool = False
    waiting: dict = field(default_factory=dict)
    tools: dict[str, int] = field(default_factory=dict)  # tool call id -> index of its bubble
    answer: str = ""  # the complete answer's text (for reading it aloud), once it is done
    mode: str = ""  # retrieval_only | fallback when no model wrote the answer (it quotes the knowledge bases)

    def __post_init__(self) -> None:
        self.waiting = {"role": "assistant", "content": "",
                        "metadata": {"title": self.tr("public.thinking"), "status": "pending"}}

    def tr(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def view(self) -> list[dict]:
        """What to show: the messages so far, or a spinner until the first of them arrives."""
        return self.messages or [self.waiting]

    def _text(self) -> dict:
        """The text message to write into: the last one, unless a tool step came after it."""
        if not self.messages or self.messages[-1].get("metadata"):
            self.messages.append({"role": "assistant", "content": ""})
        return self.messages[-1]

    def apply(self, event_type: str, data: dict) -> None:
        if event_type == "delta":
            self._text()["content"] += data.get("content", "")
            self.streamed = True
        elif event_type == "tool_call":
            args = _clip(_as_text(data.get("arguments", {})))
            self.tools[str(data.get("id"))] = len(self.messages)
            self.messages.append({"role": "assistant", "content": f"**{self.tr('public.input')}**\n```json\n{args}\n```",
                                  "metadata": {"title": f"🔧 {data.get('name', 'tool')}", "status": "pending"}})
        elif event_type == "references":
            self.mode = data.get("mode") if data.get("mode") in QUOTED_MODES else self.mode
            if not self.messages and data.get("references"):
                self.waiting["metadata"]["title"] = self.tr("public.found", n=len(data["references"]))
        elif event_type == "tool_result":
            self._tool_result(data)
        elif event_type == "done":
            self.answer = str(data.get("content") or "")
            if not self.streamed and data.get("content"):
                self._text()["content"] = data["content"]
            sources = sources_html(data.get("references") or [], data.get("cited") or [], self.lang)
            if sources:
                text = self._text()
                text["content"] = f"{text['content'].rstrip()}\n\n{sources}"
            if self.mode:  # said in the visitor's language, whatever language the question was in
                text = self._text()
                text["content"] = f'<div class="pc-mode">{html.escape(self.tr("public.mode." + self.mode))}</div>' \
                    f"\n\n{text['content']}"
        elif event_type == "error":
            self.fail(data.get("message") or self.tr("public.answer_failed"))
        # References are listed when the answer is done: `done` says which of them it cited.

    def _tool_result(self, data: dict) -> None:
        at = self.tools.get(str(data.get("id")))
        if at is None:  # a result without its call: show it on its own
            at = len(self.messages)
            self.messages.append({"role": "assistant", "content": "",
                                  "metadata": {"title": f"🔧 {data.get('name', 'tool')}"}})
        step = self.messages[at]
        failed = bool(data.get("is_error"))
        result = _as_text(data.get("content", "")) or "\n".join(
            f"[{r.get('index')}] {r.get('document_name', '')}" for r in data.get("references") or [])
        heading = self.tr("public.error" if failed else "public.result")
        step["content"] += f"\n\n**{heading}**\n\n{_clip(result or self.tr('public.nothing'))}"
        step["metadata"] = {"title": f"🔧 {data.get('name', 'tool')}" + (f" — {self.tr('public.step_failed')}"
                                                                         if failed else ""), "status": "done"}

    def fail(self, message: str) -> None:
        for m in self.messages:  # a step left running will not finish
            if (m.get("metadata") or {}).get("status") == "pending":
                m["metadata"]["status"] = "done"
        text = self._text()
        text["content"] = (f"{text['content'].rstrip()}\n\n" if text["content"].strip() else "") + \
            f'<div class="pc-error">⚠️ {html.escape(message)}</div>'


# ---------------------------------------------------------------------- the page

@dataclass
class Parts:
    """The page's components (build_page lays them out, the handlers fill them)."""

    lang: gr.Radio
    top: gr.Row
    header: gr.HTML
    new: gr.Button
    notice: gr.HTML
    chat_area: gr.Column
    chatbot: gr.Chatbot
    box: gr.Textbox
    send: gr.Button
    speech: gr.Audio
    mic: gr.Audio
    speak_box: gr.Checkbox
    voice_status: gr.HTML

    def labelled(self) -> list:
        """The components whose words change with the language (labels(lang) gives their updates)."""
        return [self.new, self.box, self.send, self.mic, self.speak_box, self.speech]


def labels(lang: str) -> tuple:
    """The words of Parts.labelled() in `lang`."""
    return (gr.update(value=translate(lang, "public.new_chat")),
            gr.update(placeholder=translate(lang, "public.placeholder")),
            gr.update(value=translate(lang, "public.send")), gr.update(label=translate(lang, "public.voice.ask")),
            gr.update(label=translate(lang, "public.voice.speak_answers")),
            gr.update(label=translate(lang, "public.voice.spoken_answer")))


def layout() -> Parts:
    with gr.Row(elem_id="pc-bar"):
        lang = gr.Radio(LANGUAGE_CHOICES, value="en", show_label=False, container=False, elem_id="pc-lang",
                        label=translate("en", "public.language"))
    notice = gr.HTML(visible=False)
    with gr.Row(visible=False, equal_height=True, elem_id="pc-top") as top:
        header = gr.HTML(elem_id="pc-header")
        new = gr.Button(translate("en", "public.new_chat"), size="sm", variant="secondary", scale=0, min_width=110,
                        elem_id="pc-new")
    with gr.Column(visible=False, scale=1) as chat_area:
        chatbot = gr.Chatbot(show_label=False, elem_id="pc-chatbot", scale=1, height="64vh", buttons=["copy"],
                             feedback_options=None, layout="bubble")
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder=translate("en", "public.placeholder"), show_label=False, scale=8, lines=1,
                             max_lines=6, max_length=MAX_QUESTION_CHARS, elem_id="pc-input", autofocus=True,
                             container=False)
            send = gr.Button(translate("en", "public.send"), variant="primary", scale=1, min_width=90,
                             elem_id="pc-send")
        speech = speech_player()
        mic, speak_box, voice_status = voice_controls()
    return Parts(lang, top, header, new, notice, chat_area, chatbot, box, send, speech, mic, speak_box, voice_status)


def build_page(services: Callable[[], Services] = get_services) -> gr.Blocks:
    """The Blocks of the public page; `services` is called at each event (the server sets them at start-up)."""
    # Visitors upload recordings: Gradio keeps them in its cache, so drop files older than an hour, hourly.
    with gr.Blocks(title="Chat", fill_height=True, delete_cache=(3600, 3600)) as page:
        visit, shown_notice, answer = gr.State(None), gr.State(None), gr.State("")
        pathname, search, browser, title = (gr.Textbox(visible=False) for _ in range(4))
        p = layout()
        opened = [p.top, p.header, p.notice, p.chat_area, p.chatbot, visit, shown_notice, title, p.lang,
                  *p.labelled()]
        page.load(partial(open_page, services), inputs=[pathname, search, browser], outputs=opened,
                  js=READ_ADDRESS_JS, api_visibility="private").then(
            None, inputs=[title, p.lang], js=SET_TITLE_JS, api_visibility="private")
        p.lang.input(partial(relabel, services), inputs=[p.lang, visit, shown_notice],
                     outputs=[p.header, p.notice, *p.labelled()], api_visibility="private").then(
            None, inputs=[p.lang], js=KEEP_LANGUAGE_JS, api_visibility="private")
        gr.on([p.box.submit, p.send.click, p.mic.stop_recording, p.mic.upload], partial(ask, services),
              inputs=[p.box, p.mic, p.chatbot, visit, p.lang],
              outputs=[p.box, p.chatbot, visit, p.send, p.new, p.mic, p.voice_status, answer], trigger_mode="once",
              show_progress_on=[p.box, p.chatbot, p.send, p.new],
              concurrency_limit=ANSWERS_AT_ONCE, api_visibility="private").then(
            partial(read_aloud, services), inputs=[answer, p.speak_box, visit, p.voice_status, p.lang],
            outputs=[p.speech, p.voice_status], show_progress="hidden",
            concurrency_limit=ANSWERS_AT_ONCE, api_visibility="private")
        p.new.click(partial(new_chat, services), inputs=[visit, p.lang], outputs=[p.chatbot, visit],
                    api_visibility="private").then(
            lambda: (gr.update(value=None, visible=False), ""), outputs=[p.speech, p.voice_status],
            api_visibility="private")
    return page


def open_page(services: Callable[[], Services], pathname: str, search: str, browser: str) -> tuple:
    """The load event: the assistant behind the address, or the notice saying why not, in the visitor's language."""
    lang = page_language(search, browser)
    assistant_id, token = link_target(pathname, search)
    try:
        info = open_assistant(services(), assistant_id, token)
    except (NotFound, Forbidden) as exc:
        notice = NEEDS_TOKEN if isinstance(exc, Forbidden) else NOT_AVAILABLE
        return (gr.update(visible=False), "", gr.update(value=notice_html(notice, lang), visible=True),
                gr.update(visible=False), [], None, notice, "", lang, *labels(lang))
    visit = {"assistant_id": info.id, "tenant_id": info.tenant_id, "token": token, "conversation_id": None}
    return (gr.update(visible=True), header_html(info, lang), gr.update(value="", visible=False),
            gr.update(visible=True), opening_messages(info), visit, None, info.name, lang, *labels(lang))


def relabel(services: Callable[[], Services], lang: str, visit: dict | None, shown_notice: tuple | None) -> tuple:
    """The switch: the page's words in the other language (the conversation stays as it is)."""
    header, notice = gr.update(), gr.update()
    if shown_notice:
        notice = notice_html(tuple(shown_notice), lang)
    elif visit:
        try:
            header = header_html(open_assistant(services(), visit["assistant_id"], visit["token"]), lang)
        except AlmanacError:
            pass  # unpublished meanwhile: the next question says so
    return (header, notice, *labels(lang))


def ask(services: Callable[[], Services], question: str, recording: str | None, history: list[dict],
        visit: dict | None, lang: str, request: gr.Request) -> Iterator[tuple]:
    """Stream one answer, with "Send", "New chat" and the microphone disabled meanwhile: this page never
    cuts an answer off, so it ends saved whole. (Stopping mid-way relied on Gradio closing the generator,
    which it does not always do; for a visitor who leaves, the core's periodic saves keep what was said.)
    A recording (the microphone or an upload triggered this) is transcribed first and asked instead."""
    typed = (question or "").strip()
    history = list(history or [])
    status = ""

    def out(chat: list[dict], locked: bool, answer: str = "") -> tuple:
        # box, chatbot, visit, send, new, microphone (emptied when done), voice status, the answer to speak
        lock = gr.update(interactive=not locked)
        box = typed if recording else ""
        return box, chat, visit, lock, lock, gr.update(interactive=not locked, value=None), status, answer

    if not visit or not (typed or recording):
        yield out(history, False)
        return
    svc = services()
    question = typed
    if recording:
        status = status_html(Heard(note=translate(lang, "public.voice.transcribing")))
        yield out(history, True)
        try:
            info = open_assistant(svc, visit["assistant_id"], visit["token"])
            heard = hear(svc, info.tenant_id, recording, lang)
        except AlmanacError as exc:
            heard = Heard(problem=exc.message)
        status = status_html(heard)
        if heard.problem:
            yield out(history, False)
            return
        question = heard.text[:MAX_QUESTION_CHARS]
    history.append({"role": "user", "content": question})
    turn = Turn(lang=lang)
    yield out(history + turn.view(), True)
    client = request.client.host if request and request.client else None
    for visit in answer_into(svc, turn, visit, question, client):  # noqa: B007 - `out` reads the latest visit
        yield out(history + turn.view(), True)
    yield out(history + turn.messages, False, answer=turn.answer)


def answer_into(svc: Services, turn: Turn, visit: dict, question: str, client: str | None = None) -> Iterator[dict]:
    """Ask the assistant (a conversation starts at the first question) and apply each event to `turn`; yields the
    visit (with its conversation) after each step. Failures end the turn with a readable note. `client` is the
    visitor's address (a demo's limits count per address)."""
    try:
        info = open_assistant(svc, visit["assistant_id"], visit["token"])  # unpublished meanwhile?
        if not visit.get("conversation_id"):
            visit = {**visit, "conversation_id": svc.chat.create_session(info.tenant_id, assistant_id=info.id).id}
            yield visit
        with visiting(client):
            stream = svc.chat.answer(info.tenant_id, visit["conversation_id"], question)
        try:
            for event in stream:
                turn.apply(event.type, event.data)
                yield visit
        finally:  # the visitor left mid-answer: the core saves what was said
            getattr(stream, "close", lambda: None)()
    except NotFound:
        turn.fail(turn.tr(NOT_AVAILABLE[1]))
    except Forbidden:
        turn.fail(turn.tr(NEEDS_TOKEN[1]))
    except AlmanacError as exc:
        turn.fail(exc.message)
    except Exception:  # the page must come back usable; the operator gets the traceback
        log.exception("Public chat answer failed (assistant %s)", visit.get("assistant_id"))
        turn.fail(turn.tr("public.went_wrong"))


def new_chat(services: Callable[[], Services], visit: dict | None, lang: str):
    if not visit:
        return [], visit
    try:
        info = open_assistant(services(), visit["assistant_id"], visit["token"])
    except NotFound:
        return [{"role": "assistant", "content": notice_html(NOT_AVAILABLE, lang)}], visit
    except AlmanacError as exc:
        return [{"role": "assistant", "content": f'<div class="pc-error">⚠️ {html.escape(exc.message)}</div>'}], visit
    return opening_messages(info), {**visit, "conversation_id": None}


# ---------------------------------------------------------------------- mounting

class AssistantPaths:
    """/chat/<id>/rest -> /chat/rest: the page and its assets are the same for every assistant."""

    def __init__(self, app: ASGIApp, reserved: set[str]):
        self.app, self.reserved = app, reserved

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            root, path = scope.get("root_path", ""), scope["path"]
            rest = path.removeprefix(root)
            first, _, tail = rest.lstrip("/").partition("/")
            if first and first not in self.reserved and PAGE_SEGMENT.fullmatch(first):
                path = f"{root}/{tail}"
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def mount_public_chat(app: FastAPI, services: Callable[[], Services] = get_services, path: str = CHAT_PATH) -> None:
    """Serve the public chat page at {path}/<assistant_id> on `app` (a FastAPI app not yet started)."""
    page = build_page(services)
    page.queue(default_concurrency_limit=None)  # loading the page and "new chat" are quick: never wait in line
    gr.mount_gradio_app(app, page, path=path, footer_links=[], run_history=False, show_error=False,
                        theme=gr.themes.Default(primary_hue="indigo", radius_size="lg"), css=CSS + VOICE_CSS)
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == path)
    gradio_app = mount.app
    reserved = {p.strip("/").split("/", 1)[0] for p in (getattr(r, "path", "") for r in gradio_app.routes)}
    mount.app = AssistantPaths(gradio_app, (reserved | set(INTERNAL_ROUTES)) - {""})
