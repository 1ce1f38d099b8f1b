"""Streamlit pages in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


@contextmanager
def browser_page(*, width: int = 1400, height: int = 900, locale: str | None = None, timeout: float = 20_000,
                 args: tuple[str, ...] = (), failure: Path | None = None) -> Iterator:
    """A page in a fresh Debian chromium, closed however the block ends (a second tab: page.context.new_page()).
    With `failure` (a path without suffix), a block that raises leaves failure.png and failure.html there."""
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[*BROWSER_ARGS, *args])
        try:
            page = browser.new_context(locale=locale, viewport={"width": width, "height": height}).new_page()
            page.set_default_timeout(timeout)
            try:
                yield page
            except Exception:
                if failure is not None:
                    with suppress(Exception):  # a crashed page must not hide the test's own error
                        failure.parent.mkdir(parents=True, exist_ok=True)
                        failure.with_suffix(".html").write_text(page.content(), encoding="utf-8")
                        page.screenshot(path=str(failure.with_suffix(".png")), full_page=True)
                raise
        finally:
            browser.close()


def settle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished running the script (the app reports its run state)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                   && app.getAttribute('data-test-connection-state') === 'CONNECTED';
        }""", timeout=timeout)
    page.wait_for_timeout(300)


def no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, path: Path) -> None:
    """A full-page screenshot; Streamlit scrolls inside its main area, so grow the viewport to fit it."""
    settle(page)
    size = page.viewport_size
    height = page.evaluate("""() => {
        const el = document.querySelector('[data-testid="stMain"]') || document.body;
        return Math.max(el.scrollHeight, document.body.scrollHeight);
    }""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height + 40, 6000))})
    page.wait_for_timeout(400)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def nav(page, label: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label).click()
    settle(page)
    no_exception(page)


def toast(page, text: str) -> None:
    """Wait for a toast right after the click: it fades after a few seconds, maybe before a busy page settles."""
    page.get_by_test_id("stToast").filter(has_text=text).first.wait_for(timeout=30_000)


def main_area(page):
    return page.get_by_test_id("stMain")


def shot(page, name: str) -> Path:
    """test-artifacts/screenshots/<name>.png of the whole settled page."""
    path = SHOTS / f"{name}.png"
    screenshot(page, path)
    return path
