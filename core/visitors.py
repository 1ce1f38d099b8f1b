"""Visitors of a public demo (ALMANAC_DEMO=true): who is asking, and what they may do.

Every face says who is asking with `visiting(address)` (REST: a middleware in api_server.py; the
admin UI: pages/components/common.services(); the public chat page: its answer handler). The
services ask this policy before they upload or answer, and before model settings change, so
the UI, the public page and every REST dialect obey the same rules. Callers that name no visitor
(the command line, seeding, tests) are the operator and are never limited.

Outside demo mode the policy allows everything.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from core.config import Settings
from core.errors import Forbidden, InvalidInput, RateLimited, TooLarge

HOUR = 3600.0
_visitor: ContextVar[str | None] = ContextVar("almanac_visitor", default=None)


def current_visitor() -> str | None:
    """The address of the visitor being served, or None for the operator."""
    return _visitor.get()


def set_visitor(address: str | None) -> None:
    """From now on, the calling thread serves this visitor (a Streamlit script run does this)."""
    _visitor.set(address or "unknown")


@contextmanager
def visiting(address: str | None) -> Iterator[None]:
    """Within the block, calls are made on behalf of the visitor at `address` ("unknown" if not known)."""
    token = _visitor.set(address or "unknown")
    try:
        yield
    finally:
        _visitor.reset(token)


class VisitorPolicy:
    def __init__(self, settings: Settings, clock=time.monotonic):  # noqa: ANN001 - a () -> float
        self.settings = settings
        self._clock = clock
        self._spent: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    @property
    def max_file_bytes(self) -> int:
        return self.settings.demo_max_upload_mb * 1024 * 1024

    @property
    def max_files(self) -> int:
        return self.settings.demo_max_files

    def _visitor(self) -> str | None:
        return current_visitor() if self.settings.demo else None

    def check_upload(self, files: Sequence[tuple[str, bytes]]) -> None:
        """Before storing uploads: count and size per upload, and the hourly budget of files."""
        visitor = self._visitor()
        if visitor is None:
            return
        if len(files) > self.max_files:
            raise InvalidInput(f"This demo takes at most {self.max_files} files per upload")
        for name, data in files:
            if len(data) > self.max_file_bytes:
                raise TooLarge(f"'{name}' is {len(data) / 2**20:.1f} MB; this demo takes files up to "
                               f"{self.max_file_bytes / 2**20:.0f} MB")
        self._spend(visitor, "upload", len(files), "files uploaded")

    def upload_limit(self, limit: int) -> int:
        """The largest file the current caller may upload, given the server's own limit in bytes."""
        return limit if self._visitor() is None else min(limit, self.max_file_bytes)

    def check_question(self) -> None:
        """Before answering: the hourly budget of questions."""
        visitor = self._visitor()
        if visitor is not None:
            self._spend(visitor, "question", 1, "questions")

    def check_settings_change(self, what: str) -> None:
        """Model settings and their API keys are the operator's: visitors may look, not change."""
        if self._visitor() is not None:
            raise Forbidden(f"{what} are read-only in this demo")

    def settings_read_only(self) -> bool:
        return self._visitor() is not None

    def _spend(self, visitor: str, action: str, amount: int, what: str) -> None:
        budget = {"upload": self.settings.demo_uploads_per_hour, "question": self.settings.demo_questions_per_hour}[action]
        now = self._clock()
        with self._lock:
            spent = self._spent.setdefault((visitor, action), deque())
            while spent and spent[0][0] <= now - HOUR:
                spent.popleft()
            used = sum(n for _, n in spent)
            if used + amount > budget:
                wait = HOUR - (now - spent[0][0]) if spent else HOUR
                raise RateLimited(f"This demo allows {budget} {what} per hour from one address; "
                                  f"try again in {max(1, round(wait / 60))} min", retry_after=max(1, int(wait)))
            spent.append((now, amount))
            if len(self._spent) > 10_000:  # forget addresses that have been quiet for an hour
                self._spent = {k: v for k, v in self._spent.items() if v and v[-1][0] > now - HOUR}
