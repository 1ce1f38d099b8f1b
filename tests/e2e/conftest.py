"""Browser tests wait on conditions, generously: on two busy cores a step can take many seconds to render."""

from __future__ import annotations

import pytest

EXPECT_TIMEOUT_MS = 30_000  # Playwright's default of 5 s made the chat test fail under a full parallel run


@pytest.fixture(autouse=True, scope="session")
def generous_expect() -> None:
    try:
        from playwright.sync_api import expect
    except ImportError:  # the browser tests skip themselves; the others do not need it
        return
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
