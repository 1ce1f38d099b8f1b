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

from core.durable import claim_next, recover_orphans, worker_id
from core.errors import NotFound
from core.schemas import ACTIVE_STATES, IngestionTask, TaskInfo
from storage.db import Database
from storage.orm import Document, Task, utcnow

STAGE_TIMESTAMP = {"parsing": "parsing_at", "splitting": "splitting_at", "indexing": "indexing_at"}


class TaskLost(Exception):
    """The task was cancelled, deleted or taken over; the worker must stop working on it."""


REQUEUED_MESSAGE = "Waiting: requeued when its worker stopped; it resumes where it left off"


def new_batch_id() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S") + f"{random.randint(100_000, 999_999)}"


def task_info(t: Task) -> TaskInfo:
    return TaskInfo(**_task_fields(t))


def _task_fields(t: Task) -> dict:
    times = (t.created_at, t.parsing_at, t.splitting_at, t.indexing_at, t.finished_at, t.heartbeat_at)
    return dict(id=t.id, doc_id=t.doc_id, batch_id=t.batch_id, state=t.state, progress=t.progress, message=t.message,
                error=t.error, created_at=t.created_at, parsing_at=t.parsing_at, splitting_at=t.splitting_at,
                indexing_at=t.indexing_at, finished_at=t.finished_at, updated_at=max(x for x in times if x))


def ingestion_task(t: Task, d: Document) -> IngestionTask:
    return IngestionTask(**_task_fields(t), kb_id=t.kb_id, document_name=d.name, source_type=d.source_type,
                         source_url=d.source_url, size=d.size, chunk_count=d.chunk_count)


class TaskQueue:
    def __init__(self, db: Database, worker: str | None = None):
        self.db = db
        self.worker = worker or worker_id()

    def claim(self, task_id: str | None = None) -> Task | None:
        """Take the oldest unowned waiting task, or that one task."""
        return claim_next(self.db, Task, self.worker, only=task_id)

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

    def reload(self, task_id: str) -> Task | None:
        """The task as stored now, if this worker still owns it and it is unfinished."""
        with self.db.session() as s:
            return s.scalar(select(Task).where(Task.id == task_id, Task.worker == self.worker,
                                               Task.state.in_(ACTIVE_STATES)))

    def note(self, task_id: str, message: str) -> None:
        """Change the message of a task this worker owns (e.g. why it is waiting)."""
        with self.db.session() as s:
            s.execute(update(Task).where(Task.id == task_id, Task.worker == self.worker,
                                         Task.state.in_(ACTIVE_STATES)).values(message=message, heartbeat_at=utcnow()))

    def release(self, task_ids: list[str] | None = None) -> int:
        """Hand tasks this worker still holds (all of them, or `task_ids`) back to the queue (it is stopping):
        another worker resumes them at once, where they stopped. A thread still busy with one notices at its
        next update. Returns how many."""
        where = [Task.worker == self.worker, Task.state.in_(ACTIVE_STATES)]
        if task_ids is not None:
            where.append(Task.id.in_(task_ids))
        with self.db.session() as s:
            return s.execute(update(Task).where(*where)
                             .values(state="waiting", worker="", message=REQUEUED_MESSAGE)).rowcount

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

    def is_active(self, task_id: str) -> bool:
        with self.db.session() as s:
            return s.scalar(select(Task.id).where(Task.id == task_id, Task.state.in_(ACTIVE_STATES))) is not None

    def has_waiting(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(Task.id).where(Task.state == "waiting", Task.worker == "").limit(1)) is not None

    # ------------------------------------------------------------------ queries for a tenant
    def find(self, tenant_id: str, task_id: str) -> IngestionTask:
        """One of the tenant's tasks (NotFound for another tenant's id too)."""
        with self.db.session() as s:
            row = s.execute(select(Task, Document).join(Document, Document.id == Task.doc_id)
                            .where(Task.id == task_id, Task.tenant_id == tenant_id)).first() if task_id else None
            if row is None:
                raise NotFound(f"Task '{task_id}' not found", kind="task", ident=str(task_id))
            return ingestion_task(*row)

    def list_tasks(self, tenant_id: str, *, kb_id: str | None = None, states: tuple[str, ...] | None = None,
                   latest: bool = False, limit: int = 1000) -> list[IngestionTask]:
        """The tenant's tasks, newest first; with `kb_id` one knowledge base's, with `states` only those, with
        `latest` only each document's latest."""
        q = select(Task, Document).join(Document, Document.id == Task.doc_id).where(Task.tenant_id == tenant_id)
        if latest:
            q = q.where(Document.task_id == Task.id)
        if kb_id is not None:
            q = q.where(Task.kb_id == kb_id)
        if states is not None:
            q = q.where(Task.state.in_(states))
        with self.db.session() as s:
            rows = s.execute(q.order_by(Task.created_at.desc(), Task.id).limit(limit)).all()
            return [ingestion_task(t, d) for t, d in rows]

    def active_count(self) -> int:
        with self.db.session() as s:
            return len(s.scalars(select(Task.id).where(or_(*(Task.state == st for st in ACTIVE_STATES)))).all())
