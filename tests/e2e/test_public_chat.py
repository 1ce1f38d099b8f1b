"""The public chat page (/chat/<assistant_id>): its pieces, then the real server in a real browser.

The browser test seeds a knowledge base, a chat assistant, a published agent (kb_search + calculator),
a token-protected assistant and an unpublished agent, all answering through tests/mock_llm.py's
OpenAI-protocol server. It opens the links as a visitor would: the opener, a streamed and cited
answer, tool steps as collapsed bubbles, "New chat", a refused token, an unknown id.
Screenshot: test-artifacts/public_chat.png.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from core.config import Settings
from core.container import build_services
from core.errors import Forbidden, NotFound
from core.i18n import translate
from public_chat import (
    NEEDS_TOKEN,
    NOT_AVAILABLE,
    AssistantPaths,
    Turn,
    link_target,
    open_assistant,
    page_language,
    sources_html,
)
from tests.conftest import ingest
from tests.helpers import CHROMIUM, ROOT, browser_page, free_port, start_server, stop_process
from tests.mock_llm import MockOpenAIServer, Reply

SCREENSHOT = ROOT / "test-artifacts" / "public_chat.png"
LEAVE_DOC = "leave-policy.md"
LEAVE_TEXT = ("# Leave policy\n\nEvery employee receives twenty-seven days of paid vacation per calendar year. "
              "Unused vacation days may be carried over until the end of March of the following year.\n")
EXPENSE_DOC = "expenses.txt"
EXPENSE_TEXT = ("Expense claims must be filed within thirty days of the purchase, with the original receipt. "
                "Claims above 500 euros need the approval of a department head.")
OPENER = "Hello! Ask me anything about leave or expenses."
QUESTION = "How many days of paid vacation does an employee receive?"
AGENT_QUESTION = "How many vacation days are there in three years?"
AGENT_ANSWER = "Employees get twenty-seven days a year [1], so 81 days over three years."


# ---------------------------------------------------------------------- pieces

@pytest.mark.parametrize(("pathname", "search", "expected"), [
    ("/chat/0123456789abcdef0123456789abcdef", "", ("0123456789abcdef0123456789abcdef", "")),
    ("/chat/0123456789ABCDEF0123456789abcdef/", "?token=t0k-en_", ("0123456789abcdef0123456789abcdef", "t0k-en_")),
    ("/chat/", "?id=0123456789abcdef0123456789abcdef&token=x", ("0123456789abcdef0123456789abcdef", "x")),
    ("/proxy/chat/abc", "", ("abc", "")),
    ("/chat", "", ("", "")),
])
def test_link_target_reads_id_and_token_from_the_address(pathname, search, expected):
    assert link_target(pathname, search) == expected


def test_assistant_paths_strip_the_id_but_not_gradio_routes():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["path"])

    paths = AssistantPaths(app, {"gradio_api", "assets", "config"})
    for path in ["/chat/0123456789abcdef0123456789abcdef", "/chat/0123456789abcdef0123456789abcdef/",
                 "/chat/0123456789abcdef0123456789abcdef/assets/index.js", "/chat/gradio_api/queue/join",
                 "/chat/assets/x.css", "/chat/", "/chat/no-such-thing"]:
        asyncio.run(paths({"type": "http", "root_path": "/chat", "path": path}, None, None))
    assert seen == ["/chat/", "/chat/", "/chat/assets/index.js", "/chat/gradio_api/queue/join",
                    "/chat/assets/x.css", "/chat/", "/chat/"]


def test_turn_shows_tool_steps_where_they_happened_then_the_cited_sources():
    refs = [{"index": 1, "document_name": "cats <b>.txt", "content": "Cats sleep sixteen hours a day."},
            {"index": 2, "document_name": "dogs.txt", "content": "Dogs bark."}]
    turn = Turn()
    assert turn.view()[0]["metadata"] == {"title": "Thinking…", "status": "pending"}  # a spinner until it starts
    turn.apply("delta", {"content": "Let me check. "})
    turn.apply("tool_call", {"id": "c1", "name": "kb_search", "arguments": {"query": "cats"}})
    assert turn.messages[1]["metadata"] == {"title": "🔧 kb_search", "status": "pending"}
    turn.apply("tool_result", {"id": "c1", "name": "kb_search", "content": "", "is_error": False,
                               "references": refs})
    turn.apply("references", {"references": refs})
    turn.apply("tool_call", {"id": "c2", "name": "calculator", "arguments": {"expression": "1/0"}})
    turn.apply("tool_result", {"id": "c2", "name": "calculator", "content": "division by zero", "is_error": True})
    turn.apply("delta", {"content": "Cats sleep "})
    turn.apply("delta", {"content": "16 hours [1]."})
    turn.apply("done", {"content": "Cats sleep 16 hours [1].", "references": refs, "cited": [1]})
    first, search, calc, answer = turn.messages
    assert first == {"role": "assistant", "content": "Let me check. "}
    assert search["metadata"]["status"] == "done" and '"query": "cats"' in search["content"]
    assert "**Result**" in search["content"] and "[2] dogs.txt" in search["content"]  # passages, when no text
    assert calc["metadata"]["title"] == "🔧 calculator — failed" and "division by zero" in calc["content"]
    assert answer["content"].startswith("Cats sleep 16 hours [1].")
    assert "cats &lt;b&gt;.txt" in answer["content"] and "dogs.txt" not in answer["content"]  # only cited, escaped


def test_turn_without_deltas_uses_the_final_content_and_errors_are_shown():
    turn = Turn()
    turn.apply("references", {"references": [{"index": 1}, {"index": 2}]})
    assert turn.view()[0]["metadata"]["title"] == "Found 2 passages, writing the answer…"
    turn.apply("done", {"content": "A fixed reply.", "references": [], "cited": []})
    assert turn.messages == turn.view() == [{"role": "assistant", "content": "A fixed reply."}]
    failed = Turn()
    failed.apply("tool_call", {"id": "c", "name": "web", "arguments": "{}"})
    failed.apply("delta", {"content": "Partial"})
    failed.apply("error", {"message": "The model <timed out>"})
    assert failed.messages[0]["metadata"]["status"] == "done"  # no spinner left running
    assert failed.messages[1]["content"].startswith("Partial\n\n")
    assert "The model &lt;timed out&gt;" in failed.messages[1]["content"]


def test_the_page_speaks_the_visitors_language():
    assert page_language("", "zh-CN,zh;q=0.9,en;q=0.8") == "zh" and page_language("", "en-US") == "en"
    assert page_language("?lang=en", "zh-CN") == "en" and page_language("?token=x&lang=zh", "fr") == "zh"
    turn = Turn(lang="zh")
    assert turn.view()[0]["metadata"]["title"] == "思考中…"
    turn.apply("references", {"references": [{"index": 1}]})
    assert turn.view()[0]["metadata"]["title"] == "找到 1 个段落，正在撰写回答…"
    turn.apply("tool_call", {"id": "c", "name": "calculator", "arguments": {"expression": "1/0"}})
    turn.apply("tool_result", {"id": "c", "name": "calculator", "content": "division by zero", "is_error": True})
    turn.apply("done", {"content": "答案 [1]", "references": [{"index": 1, "document_name": "", "content": "年假"}],
                        "cited": [1]})
    assert turn.messages[0]["metadata"]["title"] == "🔧 calculator — 失败" and "**输入**" in turn.messages[0]["content"]
    assert "来源" in turn.messages[-1]["content"] and "未命名文档" in turn.messages[-1]["content"]


@pytest.mark.parametrize(("mode", "lang", "shown"), [("retrieval_only", "en", "no language model"),
                                                      ("fallback", "zh", "暂时不可用"), ("llm", "en", None)])
def test_answers_no_model_wrote_say_so_in_the_visitors_language(mode, lang, shown):
    turn = Turn(lang=lang)
    turn.apply("references", {"references": [{"index": 1, "document_name": "a.md", "content": "A"}], "mode": mode})
    turn.apply("delta", {"content": "[1] a.md: A"})
    turn.apply("done", {"content": "[1] a.md: A", "references": [], "cited": []})
    content = turn.messages[-1]["content"]
    assert (shown in content and content.startswith('<div class="pc-mode">')) if shown else "pc-mode" not in content


def test_sources_list_only_known_cited_passages():
    refs = [{"index": 1, "document_name": "a.md", "content": "word " * 200}]
    html = sources_html(refs, [3, 1])
    assert html.count('class="pc-source"') == 1 and "\n" not in html and len(html) < 500
    assert sources_html(refs, []) == "" and sources_html([], [1]) == ""


def test_open_assistant_checks_sharing_publication_and_token(svc, tenant):
    chat = svc.assistants.create(tenant, "Helper")
    with pytest.raises(NotFound):  # private until shared
        open_assistant(svc, chat.id, "")
    svc.assistants.set_access(tenant, chat.id, shared=True)
    assert open_assistant(svc, chat.id, "").id == chat.id
    assert open_assistant(svc, chat.id, "anything").id == chat.id  # open to all: a token is ignored
    locked = svc.assistants.set_access(tenant, chat.id, require_token=True)
    assert open_assistant(svc, chat.id, locked.access_token).id == chat.id
    for token in ("", "wrong", locked.access_token[:-1]):
        with pytest.raises(Forbidden):
            open_assistant(svc, chat.id, token)
    agent = svc.assistants.create(tenant, "Draft agent", kind="agent")
    svc.assistants.set_access(tenant, agent.id, shared=True)
    for assistant_id in (agent.id, "0" * 32, "not-an-id", ""):
        with pytest.raises(NotFound):
            open_assistant(svc, assistant_id, "")
    svc.assistants.publish(tenant, agent.id)
    assert open_assistant(svc, agent.id, "").kind == "agent"
    svc.assistants.set_access(tenant, agent.id, shared=False)
    with pytest.raises(NotFound):
        open_assistant(svc, agent.id, "")


# ---------------------------------------------------------------------- in a browser

def seed(data, llm_url: str) -> dict:
    svc = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        svc.models.create("default", type="llm", provider="openai", name="Mock", model="mock-gpt",
                          base_url=llm_url, params={"timeout": 10, "max_retries": 0}, is_default=True)
        kb = svc.knowledge.create("default", "Office handbook")
        ingest(svc, "default", kb.id, [(LEAVE_DOC, LEAVE_TEXT.encode()), (EXPENSE_DOC, EXPENSE_TEXT.encode())])
        chat = svc.assistants.create("default", "Office helper", avatar="🧭", kb_ids=[kb.id],
                                     description="Answers questions about leave and expenses.",
                                     prompt={"opener": OPENER})
        svc.assistants.publish("default", chat.id)
        agent = svc.assistants.create("default", "Leave planner", kind="agent", kb_ids=[kb.id], tools=["calculator"])
        svc.assistants.publish("default", agent.id)
        locked = svc.assistants.create("default", "Payroll desk", prompt={"opener": "Payroll questions?"})
        locked = svc.assistants.set_access("default", locked.id, require_token=True)
        draft = svc.assistants.create("default", "Unpublished agent", kind="agent")
        for shared in (chat, agent, locked, draft):
            svc.assistants.set_access("default", shared.id, shared=True)
        return {"chat": chat.id, "agent": agent.id, "locked": locked.id, "token": locked.access_token,
                "draft": draft.id}
    finally:
        svc.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_public_chat_in_a_browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "data"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with MockOpenAIServer() as llm:
        ids = seed(data, llm.base_url)
        server = start_server(data, port := free_port())
        try:
            with browser_page(width=1200, failure=SCREENSHOT.with_name("public_chat-failure")) as page:
                failed: list[str] = []
                page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
                        if r.status >= 400 and "/chat/" in r.url else None)
                visit(page, sync_api.expect, f"http://127.0.0.1:{port}/chat", ids, llm)
            assert failed == []  # every asset and queue call of the page was served from /chat/<id>
        finally:
            stop_process(server)
        questions = [str(r["body"].get("messages")) for r in llm.chat_requests]
        assert any(QUESTION in q for q in questions) and any(AGENT_QUESTION in q for q in questions)

    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        sessions = check.chat.list_sessions("default", assistant_id=ids["chat"], page_size=10).items
        assert len(sessions) == 2 and {s.channel for s in sessions} == {"published"}  # a second after "New chat"
        answers = sorted((m for s in sessions for m in check.chat.list_messages("default", s.id)
                          if m.role == "assistant" and m.mode != "opener"), key=lambda m: m.created_at)
        assert len(answers) == 3 and all(m.completed and m.content.startswith("Mock answer about") for m in answers)
        assert check.chat.list_sessions("default", assistant_id=ids["locked"]).total == 0  # viewing creates none
    finally:
        check.close()


def visit(page, expect, base: str, ids: dict, llm: MockOpenAIServer) -> None:
    bots = page.locator("#pc-chatbot [data-testid='bot']")
    box, send = page.locator("#pc-input textarea"), page.locator("#pc-send")

    # 1. The chat assistant: name, description, opener; the answer streams in, then cites its source.
    page.goto(f"{base}/{ids['chat']}")
    expect(page.locator("#pc-header")).to_contain_text("Office helper")
    expect(page.locator("#pc-header")).to_contain_text("Answers questions about leave and expenses.")
    expect(bots.first).to_have_text(OPENER)
    expect(page).to_have_title("Office helper")
    llm.script([Reply(delay_first=1.0, delay_chunk=0.15)])  # word by word, slowly enough to watch
    box.fill(QUESTION)
    send.click()
    expect(page.locator("#pc-chatbot [data-testid='user']")).to_have_text(QUESTION)
    final = f"Mock answer about: {QUESTION}. [1]"
    seen: list[str] = []
    for _ in range(400):
        text = bots.last.inner_text() if bots.count() > 1 else ""
        if not seen or text != seen[-1]:
            seen.append(text)
        if "Sources" in text:
            break
        page.wait_for_timeout(25)
    assert any("writing the answer" in t for t in seen), seen  # a spinner while the model starts
    partial = [t for t in seen if t.startswith("Mock") and final not in t]
    assert len(partial) >= 3 and all(final.startswith(t.strip()) for t in partial), seen  # streamed, in order
    answer = bots.last
    expect(answer).to_contain_text(final)
    sources = answer.locator(".pc-sources")
    expect(sources).to_contain_text("Sources")
    expect(sources.locator(".pc-source")).to_have_count(1)
    expect(sources).to_contain_text(LEAVE_DOC)
    expect(sources).to_contain_text("twenty-seven days of paid vacation")
    expect(box).to_have_value("")
    expect(send).to_be_enabled()
    page.wait_for_timeout(300)  # the button's fade back in
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # 2. While an answer streams, "Send" and "New chat" wait; then "New chat" shows the opener alone,
    #    and the next question starts another conversation.
    new_chat = page.locator("#pc-new")
    llm.script([Reply(delay_chunk=0.2)])
    box.fill("And how are unused days handled?")
    box.press("Enter")
    expect(bots.last).to_contain_text("Mock answer about: And")
    expect(new_chat).to_be_disabled()
    expect(send).to_be_disabled()
    expect(bots.last.locator(".pc-sources")).to_contain_text(LEAVE_DOC)
    expect(new_chat).to_be_enabled()
    new_chat.click()
    expect(bots).to_have_count(1)
    expect(bots.first).to_have_text(OPENER)
    box.fill(QUESTION)
    box.press("Enter")
    expect(bots.last.locator(".pc-sources")).to_contain_text(LEAVE_DOC)
    expect(send).to_be_enabled()

    # 3. The agent: its tool steps appear as collapsed bubbles before the cited answer.
    page.goto(f"{base}/{ids['agent']}/")
    expect(page.locator("#pc-header")).to_contain_text("Leave planner")
    expect(page.locator("#pc-header .pc-kind")).to_have_text("Agent")
    llm.script([Reply(text="", tool_calls=[{"name": "kb_search", "arguments": {"query": "paid vacation days"}}]),
                Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "27 * 3"}}]),
                Reply(text=AGENT_ANSWER)])
    box.fill(AGENT_QUESTION)
    send.click()
    chat = page.locator("#pc-chatbot")
    expect(chat.locator(".pc-sources")).to_contain_text(LEAVE_DOC)
    expect(chat).to_contain_text(AGENT_ANSWER)
    expect(chat.get_by_text("🔧 kb_search")).to_be_visible()
    expect(chat.get_by_text("🔧 calculator")).to_be_visible()
    expect(chat.get_by_text("27 * 3")).to_be_hidden()  # the steps are collapsed
    chat.get_by_text("🔧 calculator").click()
    expect(chat.get_by_text("81", exact=True)).to_be_visible()
    page.wait_for_timeout(500)  # the bubble's opening animation
    page.screenshot(path=str(SCREENSHOT.with_name("public_chat-agent.png")), full_page=True)

    # 4. A token-protected assistant: refused without the right token, open with it.
    notice = page.locator(".pc-notice")
    for query in ("", "?token=wrong"):
        page.goto(f"{base}/{ids['locked']}{query}")
        expect(notice).to_contain_text(translate("en", NEEDS_TOKEN[1]))
        expect(box).to_be_hidden()
        expect(page.locator("#pc-header")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOT.with_name("public_chat-token.png")), full_page=True)
    page.goto(f"{base}/{ids['locked']}?token={ids['token']}")
    expect(bots.first).to_have_text("Payroll questions?")
    expect(notice).to_be_hidden()

    # 5. Unknown, malformed and unpublished ids: "not available".
    for target in ("0123456789abcdef0123456789abcdef", "no-such-assistant", ids["draft"]):
        page.goto(f"{base}/{target}")
        expect(notice).to_contain_text(translate("en", NOT_AVAILABLE[1]))
        expect(box).to_be_hidden()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_public_chat_in_chinese_from_the_browser_language_with_a_switch(tmp_path):
    """Point 7: a Chinese browser gets the page in Chinese (words, notes, sources); the switch changes it, and a
    reload keeps the choice."""
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    data = tmp_path / "data"
    svc = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = svc.knowledge.create("default", "员工手册")
    ingest(svc, "default", kb.id, [("年假制度.md", "# 年假制度\n\n员工入职满一年后每年享有十五天带薪年假。".encode())])
    chat = svc.assistants.create("default", "人事助手", kb_ids=[kb.id], prompt={"opener": "你好！"})
    svc.assistants.set_access("default", chat.id, shared=True)
    svc.close()
    server = start_server(data, port := free_port())
    try:
        with browser_page(width=1100, locale="zh-CN", timeout=30_000) as page:
            page.goto(f"http://127.0.0.1:{port}/chat/{chat.id}")
            box, send, bots = page.locator("#pc-input textarea"), page.locator("#pc-send"), \
                page.locator("#pc-chatbot [data-testid='bot']")
            expect(box).to_have_attribute("placeholder", "请输入问题…")
            expect(send).to_have_text("发送")
            expect(page.locator("#pc-new")).to_have_text("＋ 新对话")
            box.fill("员工每年有多少天带薪年假？")
            send.click()
            answer = bots.last
            expect(answer.locator(".pc-sources")).to_contain_text("来源")  # no model: it quotes the passage
            expect(answer).to_contain_text("当前未配置大语言模型")  # the note in the visitor's language
            expect(answer).to_contain_text("十五天带薪年假")
            page.screenshot(path=str(SCREENSHOT.with_name("public_chat-zh.png")), full_page=True)
            page.locator("#pc-lang").get_by_text("English").click()
            expect(box).to_have_attribute("placeholder", "Ask a question…")
            expect(send).to_have_text("Send")
            expect(page).to_have_url(re.compile(r"lang=en"))
            expect(answer).to_contain_text("十五天带薪年假")  # the conversation stays
            page.reload()
            expect(page.locator("#pc-input textarea")).to_have_attribute("placeholder", "Ask a question…")
            expect(page.locator("#pc-lang input[value='en']")).to_be_checked()
            page.goto(f"http://127.0.0.1:{port}/chat/{'0' * 32}")  # the notices too
            expect(page.locator(".pc-notice")).to_contain_text("这个助手暂不可用")
    finally:
        stop_process(server)


def test_a_published_agent_without_a_model_quotes_its_knowledge_bases_to_visitors(tmp_path):
    """Point 4: no admin instructions for the public; the agent answers retrieval-only, and the page says so in the
    visitor's language (here a Chinese browser, an English question)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    data = tmp_path / "data"
    svc = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = svc.knowledge.create("default", "Handbook")
    ingest(svc, "default", kb.id, [(LEAVE_DOC, LEAVE_TEXT.encode())])
    agent = svc.assistants.create("default", "Leave planner", kind="agent", kb_ids=[kb.id], tools=["calculator"])
    svc.assistants.publish("default", agent.id)
    svc.assistants.set_access("default", agent.id, shared=True)
    assert svc.models.llm_spec("default") is None  # no model anywhere
    svc.close()
    server = start_server(data, port := free_port(), env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    try:
        with browser_page(width=1100, locale="zh-CN", timeout=30_000) as page:
            page.goto(f"http://127.0.0.1:{port}/chat/{agent.id}")
            page.locator("#pc-input textarea").fill(QUESTION)
            page.locator("#pc-send").click()
            answer = page.locator("#pc-chatbot [data-testid='bot']").last
            expect(answer.locator(".pc-sources")).to_contain_text(LEAVE_DOC)
            expect(answer.locator(".pc-mode")).to_have_text(translate("zh", "public.mode.retrieval_only"))
            expect(answer).to_contain_text("twenty-seven days of paid vacation")
            text = answer.inner_text()
            page.screenshot(path=str(SCREENSHOT.with_name("public_chat-agent-no-model.png")), full_page=True)
    finally:
        stop_process(server)
    for admin_words in ("Models page", "OPENAI_API_KEY", "Add one", "模型页面"):
        assert admin_words not in text
