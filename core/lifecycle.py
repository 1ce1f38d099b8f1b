"""Long-running commands end on SIGINT (Ctrl+C) or SIGTERM (service managers, `kill`) alike, promptly."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import NoReturn

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Inside the block, SIGINT and SIGTERM ask for a stop instead of interrupting whatever runs:
    a signal during start-up is kept until wait(). Use from the main thread.

        with StopSignals() as stop:
            start()
            stop.wait()     # returns the signal's name
            shut_down()     # a second Ctrl+C still waits for this; SIGKILL does not
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._received: list[str] = []
        self._previous: dict = {}

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._received.append(signal.Signals(signum).name)
        self._stop.set()

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def wait(self, timeout: float | None = None) -> str | None:
        """The signal's name once one arrived; None when `timeout` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                return None
            self._stop.wait(left)  # short waits: the handler runs between them at the latest
        return self._received[0]


def exit_now(code: int = 0) -> NoReturn:
    """End the process once its own shutdown is done, skipping the interpreter's teardown: with the
    libraries of a full server loaded, collecting the heap at exit took seconds on two busy cores."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone: nothing left to say
            pass
    os._exit(code)
