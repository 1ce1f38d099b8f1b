"""Chat in a real browser, as a new user would: retrieval-only first, then with an LLM added on the Models page.

A knowledge base with two small documents is seeded through the services before the server starts.
Chat over it answers in retrieval-only mode (quoting the passage, citing it); then Models -> add an
OpenAI-compatible LLM pointing at tests/mock_llm.py's server (run in this process), test the
connection, save (the key only ever appears masked); back in Chat the answer streams from the mock
with its citation, and gets a like. Screenshots: test-artifacts/screenshots/chat-NN-name.png.
"""

from __future__ import annotations

import re

import pytest

from core.config import Settings
from core.container import build_services
from tests.helpers import (
    CHROMIUM, browser_page, SHOTS, free_port, nav, no_exception, settle, start_server, stop_process, toast,
)
from tests.mock_llm import MockOpenAIServer

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

KB_NAME = "Office handbook"
LEAVE_DOC = "leave-policy.md"
LEAVE_TEXT = """# Leave policy

Every employee receives twenty-seven days of paid vacation per calendar year. Unused vacation days
may be carried over until the end of March of the following year.
"""
EXPENSE_DOC = "expenses.txt"
EXPENSE_TEXT = ("Expense claims must be filed within thirty days of the purchase, with the original receipt. "
                "Claims above 500 euros need the approval of a department head.")
QUESTION = "How many days of paid vacation does an employee receive?"
API_KEY = "sk-browser-test-123456789"
MASKED = "sk-…6789"
LLM_NAME = "Browser mock LLM"
LLM_MODEL = "mock-gpt"


MAIN = "main.stMain"  # a page with st.chat_input names its main area stAppScrollToBottomContainer, not stMain


def main_area(page):
    return page.locator(MAIN)


def shoot(page, n: int, name: str) -> None:
    """Like test_browser.shot(): grow the viewport to the main area's scroll height, then a full-page shot."""
    settle(page)
    size = page.viewport_size
    height = page.evaluate(f"""() => {{
        const el = document.querySelector('{MAIN}') || document.body;
        return Math.max(el.scrollHeight, document.body.scrollHeight);
    }}""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height + 40, 6000))})
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"chat-{n:02d}-{name}.png"), full_page=True)
    page.set_viewport_size(size)


def seed(data) -> None:
    svc = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        kb = svc.knowledge.create("default", KB_NAME, description="Leave and expense rules.")
        svc.documents.upload("default", kb.id, [(LEAVE_DOC, LEAVE_TEXT.encode()), (EXPENSE_DOC, EXPENSE_TEXT.encode())])
        assert svc.workers.drain(120)
        assert svc.knowledge.get("default", kb.id).chunk_count >= 2
    finally:
        svc.close()


def ask(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    settle(page)
    no_exception(page)


def last_answer(page):
    return main_area(page).get_by_test_id("stChatMessage").last


def test_chat_retrieval_only_then_with_llm(tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SHOTS.glob("chat-*.png"), *SHOTS.glob("chat-*.html")]:
        old.unlink()
    data = tmp_path / "data"
    seed(data)
    with MockOpenAIServer(api_key=API_KEY) as llm:
        server = start_server(data, port := free_port())
        try:
            with browser_page(failure=SHOTS / "chat-failure") as page:
                flow(page, f"http://127.0.0.1:{port}/ui/", llm)
        finally:
            stop_process(server)
        # The chat went through the mock with the saved key; the question reached the model.
        chats = llm.chat_requests
        assert chats and all(r["headers"].get("Authorization") == f"Bearer {API_KEY}" for r in chats)
        assert any(QUESTION in str(r["body"].get("messages")) and r["body"].get("stream") for r in chats)

    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        answers = [m for c in check.chat.list_sessions("default", page_size=10).items
                   for m in check.chat.list_messages("default", c.id, limit=100) if m.role == "assistant" and m.mode != "opener"]
        assert sorted((m.mode, m.feedback) for m in answers) == [("llm", 1), ("retrieval_only", 0)]
    finally:
        check.close()


def flow(page, base: str, llm: MockOpenAIServer) -> None:
    main = main_area(page)
    page.goto(base)
    settle(page)
    no_exception(page)

    # 1. Chat with the knowledge base, no model yet: the retrieval-only answer quotes the passage.
    nav(page, "Chat")
    expect(main.get_by_role("heading", level=1, name="Chat")).to_be_visible()
    expect(main.get_by_text(KB_NAME).first).to_be_visible()
    header_badge = main.get_by_text("Retrieval only")
    expect(header_badge.first).to_be_visible()
    expect(main.get_by_role("link", name="Configure a model")).to_be_visible()
    shoot(page, 1, "quick-chat-empty")
    ask(page, QUESTION)
    answer = last_answer(page)
    expect(main.get_by_test_id("stChatMessage").filter(has_text=QUESTION)).to_have_count(1)
    expect(answer.get_by_text("Retrieval only")).to_be_visible()
    expect(answer).to_contain_text("twenty-seven days of paid vacation")
    expect(answer).to_contain_text(f"[1] {LEAVE_DOC}")
    sources = answer.get_by_test_id("stExpander")
    expect(sources).to_contain_text(re.compile(r"\d+ sources? · cited: 1"))
    sources.locator("summary").click()
    settle(page)
    expect(sources.get_by_text(LEAVE_DOC).first).to_be_visible()
    expect(sources.get_by_text("✓ cited").first).to_be_visible()
    shoot(page, 2, "retrieval-only-answer")

    # 2. Models: add an OpenAI-compatible LLM at the mock server, test the connection, save.
    nav(page, "Models")
    expect(main.get_by_text("No LLM is configured")).to_be_visible()
    shoot(page, 3, "models-empty")
    main.get_by_role("button", name="Add an LLM").click()
    settle(page)
    no_exception(page)
    expect(main.get_by_role("heading", name="Add a model")).to_be_visible()
    main.get_by_test_id("stSelectbox").filter(has_text="Provider").click()
    page.get_by_role("option", name="OpenAI-compatible").click()
    settle(page)
    fields = {"Display name": LLM_NAME, "Model name": LLM_MODEL, "Base URL": llm.base_url, "API key": API_KEY}
    for label, value in fields.items():
        box = main.get_by_role("textbox", name=label)
        box.fill(value)
        box.press("Enter")
        settle(page)
    expect(main.get_by_role("textbox", name="API key")).to_have_attribute("type", "password")
    main.get_by_role("button", name="Test connection").click()
    settle(page)
    no_exception(page)
    verdict = main.get_by_test_id("stAlert").filter(has_text="Connection OK")
    expect(verdict).to_be_visible()
    assert API_KEY not in verdict.inner_text()
    shoot(page, 4, "models-test-connection")
    main.get_by_text("Make it the default LLM").click()  # nothing becomes the default unless asked
    settle(page)
    main.get_by_role("button", name="Add model").click()
    toast(page, f"Model '{LLM_NAME}' added")
    settle(page)
    no_exception(page)
    heading = main.get_by_role("heading", name=LLM_NAME)
    expect(heading).to_be_visible()
    expect(heading).to_contain_text("Default")
    expect(main.get_by_text(MASKED, exact=True)).to_be_visible()
    expect(main.get_by_text(llm.base_url, exact=True)).to_be_visible()
    expect(main.get_by_text("No LLM is configured")).to_have_count(0)
    html = page.content()
    assert API_KEY not in html and API_KEY[3:] not in html and MASKED in html
    shoot(page, 5, "models-saved")

    # 3. Back in Chat: the header names the model; the answer streams from the mock, cites, and is liked.
    nav(page, "Chat")
    expect(main.get_by_text(LLM_MODEL).first).to_be_visible()
    expect(main.get_by_role("link", name="Configure a model")).to_have_count(0)
    ask(page, QUESTION)
    answer = last_answer(page)
    expect(answer).to_contain_text(f"Mock answer about: {QUESTION}")
    expect(answer).to_contain_text("[1]")
    expect(answer.get_by_text("Retrieval only")).to_have_count(0)
    expect(main.get_by_text("Retrieval only")).to_have_count(0)  # nor in the header: a new chat, with the model
    sources = answer.get_by_test_id("stExpander")
    expect(sources).to_contain_text("cited: 1")
    sources.locator("summary").click()
    settle(page)
    expect(sources.get_by_text(LEAVE_DOC).first).to_be_visible()
    answer.locator('[class*="st-key-chat_like_"] button').first.click()  # the 👍 (Streamlit renders it twice)
    toast(page, "Thanks for the feedback")
    settle(page)
    no_exception(page)
    expect(last_answer(page).locator('[class*="st-key-chat_like_"] button').first).to_have_attribute(
        "data-testid", "stBaseButton-primary")
    assert API_KEY not in page.content()
    shoot(page, 6, "llm-answer-liked")
