"""Bounded pool of ingestion threads that claim tasks from the database.

Threads are enough here: reading and splitting are short, and the embedding engine and
the databases release the GIL. More capacity = more processes (`python -m core.cli
worker`) on any machine sharing the database and the Chroma server.
"""

from __future__ import annotations

import logging
import threading
import time

from core.ingestion.pipeline import Pipeline
from core.ingestion.tasks import TaskQueue

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0


class IngestionWorkers:
    def __init__(self, pipeline: Pipeline, queue: TaskQueue, concurrency: int, poll_seconds: float = 1.0):
        self.pipeline, self.queue = pipeline, queue
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._holding: dict[int, str] = {}  # thread -> the task it is working on
        self._busy_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def state(self) -> dict:
        return {"running": self.running, "threads": len(self._threads), "busy": self._busy,
                "worker_id": self.queue.worker}

    def start(self) -> None:
        if self.running or self.concurrency <= 0:
            return
        self._stop.clear()
        recovered = self.queue.recover()
        if recovered:
            log.info("resuming %d interrupted ingestion task(s)", recovered)
        self._threads = [
            threading.Thread(target=self._loop, name=f"ingest-{i}", daemon=True) for i in range(self.concurrency)
        ]
        for t in self._threads:
            t.start()

    def warm_up(self) -> None:
        """Load what the first document needs in a background thread (only where workers run): nothing waits for
        it, and a task arriving meanwhile simply runs. Call it once the process is serving, so it does not slow
        the start-up down."""
        if self.running:
            threading.Thread(target=self.pipeline.warm_up, name="ingest-warm-up", daemon=True).start()

    def notify(self) -> None:
        """New work was queued: wake idle threads now instead of at the next poll."""
        self._wake.set()

    def stop(self, grace: float = 1.0) -> None:
        """Stop within `grace` seconds: threads finish the step they are in or are left behind (they are
        daemons), and the tasks they still hold go back to the queue for any worker to resume."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + grace
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._busy_lock:
            unfinished = list(self._holding.values())
        if unfinished:
            try:
                released = self.queue.release(unfinished)
                log.info("stopping: %d unfinished ingestion task(s) back in the queue", released)
            except Exception:  # noqa: BLE001 - recover() adopts them at the next start anyway
                log.exception("could not hand back unfinished ingestion tasks")
        self._threads = []

    def _loop(self) -> None:
        idle_rounds = 0
        while not self._stop.is_set():
            try:
                task = self.queue.claim()
            except Exception:  # noqa: BLE001 - e.g. database briefly locked; try again later
                log.exception("could not claim an ingestion task")
                task = None
            if task is None:
                idle_rounds += 1
                if idle_rounds % 30 == 0:  # now and then, adopt tasks of workers that died elsewhere
                    self.queue.recover()
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            idle_rounds = 0
            with self._busy_lock:
                self._busy += 1
                self._holding[threading.get_ident()] = task.id
            done = threading.Event()
            beat = threading.Thread(target=self._heartbeat, args=(task.id, done), daemon=True)
            beat.start()
            try:
                self.pipeline.run(task)
            finally:
                done.set()
                with self._busy_lock:
                    self._busy -= 1
                    self._holding.pop(threading.get_ident(), None)

    def _heartbeat(self, task_id: str, done: threading.Event) -> None:
        # Reading a huge file can outlast STALE_AFTER without any progress update.
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                self.queue.heartbeat(task_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                log.warning("heartbeat for task %s failed", task_id)

    def run_now(self, task_ids: list[str], timeout: float = 120.0) -> bool:
        """Process these tasks in the calling thread (a caller that must see them done before it answers); a task
        another worker has claimed already is waited for. False when the time ran out first."""
        import time

        deadline = time.monotonic() + timeout
        for task_id in task_ids:
            while time.monotonic() < deadline:
                task = self.queue.claim(task_id)
                if task is not None:
                    self.pipeline.run(task)
                    break
                if not self.queue.is_active(task_id):
                    break
                time.sleep(0.05)  # another worker has it: it reports its progress in the database
        return not any(self.queue.is_active(task_id) for task_id in task_ids)

    def drain(self, timeout: float = 60.0) -> bool:
        """Process waiting tasks in the calling thread until none are left (CLI and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.queue.claim()
            if task is None:
                return True
            self.pipeline.run(task)
        return False
