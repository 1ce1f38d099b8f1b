"""Helpers shared by test modules: the real server in a subprocess and a real browser (Playwright + chromium)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python api_server.py` on `data`, once /health answers; the caller terminates it."""
    env = {**os.environ, "ALMANAC_DATA_DIR": str(data), "ALMANAC_PORT": str(port), "ALMANAC_HOST": "127.0.0.1",
           "ALMANAC_INGEST_WORKERS": "2", "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "api_server.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("server did not start")


# ---- Streamlit pages in the browser ---------------------------------------------------------------

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
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def main_area(page):
    return page.get_by_test_id("stMain")


def nav(page, label: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label).click()
    settle(page)
    no_exception(page)


def toast(page, text: str) -> None:
    """Wait for a toast right after the click: it fades after a few seconds, maybe before a busy page settles."""
    page.get_by_test_id("stToast").filter(has_text=text).first.wait_for(timeout=30_000)


def shot(page, name: str, *, streamlit: bool = True) -> Path:
    """A full-page screenshot in test-artifacts/screenshots; Streamlit scrolls inside its main area, so the
    viewport grows to fit it first."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if streamlit:
        settle(page)
    size = page.viewport_size
    height = page.evaluate("""() => {
        const el = document.querySelector('[data-testid="stMain"]') || document.body;
        return Math.max(el.scrollHeight, document.body.scrollHeight);
    }""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height + 40, 6000))})
    page.wait_for_timeout(400)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
