"""Durable task rows shared by ingestion tasks and evaluation runs: claim the next one, adopt orphans.

A row is owned while its `worker` column holds a worker id (host:pid); every write by the owner is
conditional on that ownership, so a cancel or a takeover is noticed at the next update. The table
needs the columns id, state, worker, heartbeat_at, attempts and created_at.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from storage.db import Database
from storage.orm import utcnow

STALE_AFTER = timedelta(minutes=2)  # a worker that has not reported for this long is presumed dead


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_next(db: Database, model: Any, worker: str, only: str | None = None, **values: Any) -> Any | None:
    """Take the oldest unowned waiting row, or the row `only` when it is one (SKIP LOCKED on PostgreSQL, atomic
    UPDATE on SQLite), setting `values` on it as well."""
    with db.session() as s:
        pick = select(model.id).where(model.state == "waiting", model.worker == "").order_by(model.created_at).limit(1)
        if only is not None:
            pick = pick.where(model.id == only)
        if db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row_id = s.execute(
            update(model).where(model.id == pick.scalar_subquery(), model.worker == "")
            .values(worker=worker, heartbeat_at=utcnow(), attempts=model.attempts + 1, **values)
            .returning(model.id)
        ).scalar()
        return s.get(model, row_id) if row_id else None


def recover_orphans(db: Database, model: Any, active_states: tuple[str, ...], worker: str, **reset: Any) -> int:
    """Put back rows whose worker died (same host: pid gone; elsewhere: silent too long): worker ""
    plus `reset` (e.g. state waiting and a message). Returns how many."""
    host = socket.gethostname()
    now = utcnow()
    with db.session() as s:
        owned = s.execute(
            select(model.id, model.worker, model.heartbeat_at).where(model.state.in_(active_states), model.worker != "")
        ).all()
        dead: dict[str, list[str]] = {}  # worker -> its rows
        for row_id, owner, beat in owned:
            w_host, _, w_pid = owner.rpartition(":")
            if w_host == host and w_pid.isdigit():
                if owner != worker and not pid_alive(int(w_pid)):
                    dead.setdefault(owner, []).append(row_id)
            elif beat is None or now - beat > STALE_AFTER:
                dead.setdefault(owner, []).append(row_id)
        # Reset a row only while the dead worker still owns it (and, for one elsewhere, is still
        # silent): since the select, another worker may have recovered and claimed it already.
        count = 0
        for owner, ids in dead.items():
            still = [model.id.in_(ids), model.worker == owner, model.state.in_(active_states)]
            w_host, _, w_pid = owner.rpartition(":")
            if not (w_host == host and w_pid.isdigit()):
                still.append(or_(model.heartbeat_at.is_(None), model.heartbeat_at < now - STALE_AFTER))
            count += s.execute(update(model).where(*still).values(worker="", **reset)).rowcount
        return count
