"""AppTest fixtures: the real app script against services on a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.container import set_services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ui(svc):
    """Services shared with the app under test (same process), removed afterwards."""
    set_services(svc)
    yield svc
    set_services(None)


def open_page(page: str | None = None, lang: str = "en", **params: str) -> AppTest:
    """Run app.py (navigation, sidebar) and switch to `page` (e.g. "pages/documents.py")."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at
