"""The durable ingestion task: claiming, stage changes, heartbeats, recovery.

State machine: waiting -> parsing -> splitting -> indexing -> completed | error | cancelled.
A worker owns a task while `worker` holds its id; every write is conditional on that
ownership and on the task not being cancelled, so a cancel (or a takeover after a
crash) is noticed at the next progress update.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import or_, select, update

from core.durable import STALE_AFTER, claim_next, recover_orphans, worker_id  # noqa: F401 - STALE_AFTER re-exported
from core.schemas import ACTIVE_STATES, TaskInfo
from storage.db import Database
from storage.orm import Task, utcnow

STAGE_TIMESTAMP = {"parsing": "parsing_at", "splitting": "splitting_at", "indexing": "indexing_at"}


class TaskLost(Exception):
    """The task was cancelled, deleted or taken over; the worker must stop working on it."""


def new_batch_id() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S") + f"{random.randint(0, 999_999):06d}"


def task_info(t: Task) -> TaskInfo:
    return TaskInfo(
        id=t.id, doc_id=t.doc_id, batch_id=t.batch_id, state=t.state, progress=t.progress, message=t.message,
        error=t.error, created_at=t.created_at, parsing_at=t.parsing_at, splitting_at=t.splitting_at,
        indexing_at=t.indexing_at, finished_at=t.finished_at,
    )


class TaskQueue:
    def __init__(self, db: Database, worker: str | None = None):
        self.db = db
        self.worker = worker or worker_id()

    def claim(self) -> Task | None:
        """Take the oldest unowned waiting task."""
        return claim_next(self.db, Task, self.worker)

    def advance(self, task_id: str, *, state: str | None = None, progress: float | None = None,
                message: str | None = None) -> None:
        """Record progress (and optionally enter a new stage); raises TaskLost when no longer ours."""
        values: dict = {"heartbeat_at": utcnow()}
        if state:
            values["state"] = state
            if state in STAGE_TIMESTAMP:
                values[STAGE_TIMESTAMP[state]] = utcnow()
        if progress is not None:
            values["progress"] = max(0.0, min(1.0, progress))
        if message is not None:
            values["message"] = message
        with self.db.session() as s:
            done = s.execute(
                update(Task).where(Task.id == task_id, Task.worker == self.worker, Task.state.in_(ACTIVE_STATES))
                .values(**values)
            ).rowcount
        if not done:
            raise TaskLost(task_id)

    def heartbeat(self, task_id: str) -> None:
        """Say 'still working' during a long step, so no other host adopts the task."""
        with self.db.session() as s:
            s.execute(update(Task).where(Task.id == task_id, Task.worker == self.worker).values(heartbeat_at=utcnow()))

    def finish(self, task_id: str, state: str, message: str, error: str = "") -> None:
        with self.db.session() as s:
            s.execute(
                update(Task).where(Task.id == task_id, Task.worker == self.worker, Task.state.in_(ACTIVE_STATES))
                .values(state=state, message=message, error=error, finished_at=utcnow(), heartbeat_at=utcnow(),
                        progress=1.0 if state == "completed" else Task.progress, worker="")
            )

    def recover(self) -> int:
        """Put back tasks whose worker died (same host: pid gone; elsewhere: silent too long)."""
        return recover_orphans(self.db, Task, ACTIVE_STATES, self.worker, state="waiting",
                               message="Resuming after an interrupted run")

    def cancel(self, task_ids: list[str]) -> int:
        with self.db.session() as s:
            return s.execute(
                update(Task).where(Task.id.in_(task_ids), Task.state.in_(ACTIVE_STATES))
                .values(state="cancelled", message="Cancelled", finished_at=utcnow(), worker="")
            ).rowcount

    def has_waiting(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(Task.id).where(Task.state == "waiting", Task.worker == "").limit(1)) is not None

    def active_count(self) -> int:
        with self.db.session() as s:
            return len(s.scalars(select(Task.id).where(or_(*(Task.state == st for st in ACTIVE_STATES)))).all())
