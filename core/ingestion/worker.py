"""Bounded pool of ingestion threads that claim tasks from the database.

Each thread drives one task at a time; the CPU-heavy steps (reading, splitting, embedding) run in
helper processes at a lower CPU priority (core/ingestion/helpers.py), so queries come first. More
capacity = more processes (`python -m core.cli worker`) on any machine sharing the database and the
Chroma server.

Faults: when the database or the vector store cannot be reached, the task stays claimed and is
tried again with a growing pause (it resumes where it stopped). `stop()` takes at most its timeout:
the helpers are killed, and the tasks that were running go back to the queue.
"""

from __future__ import annotations

import logging
import threading
import time

from core.errors import Unavailable
from core.ingestion.helpers import ProcessHelpers
from core.ingestion.pipeline import Pipeline
from core.ingestion.tasks import TaskQueue
from storage.orm import Task

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0
RETRY_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)  # between attempts while a store is unreachable (the last repeats)


class IngestionWorkers:
    def __init__(self, pipeline: Pipeline, queue: TaskQueue, concurrency: int, poll_seconds: float = 1.0,
                 nice: int = 0):
        self.pipeline, self.queue = pipeline, queue
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.nice = nice
        self.helpers: ProcessHelpers | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
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
        self.helpers = ProcessHelpers(self.concurrency, self.nice)
        self.helpers.start()
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

    def stop(self, timeout: float = 4.0) -> int:
        """Stop within `timeout` seconds; the tasks still running go back to the queue. Returns their number."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self.helpers is not None:
            self.helpers.close()  # work in the helpers ends now; their callers see HelpersStopped
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        try:
            requeued = self.queue.release()
        except Exception:  # noqa: BLE001 - the database is gone too: recover() at the next start requeues them
            log.warning("could not requeue the running ingestion tasks; the next start will")
            return 0
        if requeued:
            log.info("requeued %d ingestion task(s) that were running", requeued)
        return requeued

    def _loop(self) -> None:
        idle_rounds = 0
        while not self._stop.is_set():
            try:
                task = self.queue.claim()
            except Exception:  # noqa: BLE001 - e.g. database briefly unreachable; try again later
                log.warning("could not claim an ingestion task", exc_info=True)
                task = None
            if task is None:
                idle_rounds += 1
                if idle_rounds % 30 == 0:  # now and then, adopt tasks of workers that died elsewhere
                    self._try(self.queue.recover)
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            idle_rounds = 0
            with self._busy_lock:
                self._busy += 1
            done = threading.Event()
            beat = threading.Thread(target=self._heartbeat, args=(task.id, done), daemon=True)
            beat.start()
            try:
                self._process(task)
            except Exception:  # noqa: BLE001 - a bug must not end the thread; the task goes back to the queue
                log.exception("ingestion task %s failed unexpectedly", task.id)
                self._try(self.queue.release, [task.id])
            finally:
                done.set()
                with self._busy_lock:
                    self._busy -= 1

    def _process(self, task: Task) -> None:
        """Run a task to its end; while a store is unreachable, wait and run it again (it resumes)."""
        attempt = 0
        while True:
            try:
                self.pipeline.run(task, self.helpers)
                return
            except Unavailable as exc:
                pause = RETRY_PAUSES[min(attempt, len(RETRY_PAUSES) - 1)]
                log.warning("ingestion task %s waits %.0f s: %s", task.id, pause, exc.message)
                self._try(self.queue.note, task.id, f"Waiting to retry: {exc.message}")
            attempt += 1
            if self._stop.wait(pause):
                return  # stopping: stop() requeues it
            try:
                fresh = self.queue.reload(task.id)
            except Exception:  # noqa: BLE001 - still unreachable: try again after the next pause
                continue
            if fresh is None:
                return  # cancelled, deleted or adopted by another worker meanwhile
            task = fresh

    @staticmethod
    def _try(fn, *args):  # noqa: ANN001, ANN205 - best-effort bookkeeping while stores come and go
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001
            log.debug("%s failed", getattr(fn, "__name__", fn), exc_info=True)
            return None

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
            self._process(task)
        return False
