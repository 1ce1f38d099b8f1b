"""Nexent's data-process tasks (/api/tasks) over Almanac's ingestion tasks: create (a URL, a file of the file
storage, or text, into an index), batch, get, list, an index's tasks, details.

A task id is the ingestion task's id; its status is Nexent's (waiting, processing, forwarding = embedding into the
index, completed, failed). Errors are FastAPI's `{"detail": ...}`, as Nexent's data-process app answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import PrincipalDep, ServicesDep
from api.nexent.errors import TaskRoute
from api.nexent.sources import MAX_BATCH, Source, add_all
from api.nexent.views import index_task_view, task_details, task_view
from core.schemas import ACTIVE_STATES

router = APIRouter(prefix="/api/tasks", tags=["Nexent: tasks"], route_class=TaskRoute)
INDEX_TASK_STATES = (*ACTIVE_STATES, "error")  # what Nexent reports per index: unfinished and failed


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sources: list[Source] = Field(min_length=1, max_length=MAX_BATCH)


@router.post("", status_code=201, summary="Make a document of a URL, a stored file or text in an index; its task")
def create_task(svc: ServicesDep, who: PrincipalDep, body: Source) -> dict:
    (doc,) = add_all(svc, who.tenant_id, [body])
    return {"task_id": doc.task.id}


@router.post("/batch", status_code=201, summary="Several sources at once (all or none)")
def create_batch(svc: ServicesDep, who: PrincipalDep, body: BatchBody) -> dict:
    return {"task_ids": [doc.task.id for doc in add_all(svc, who.tenant_id, list(body.sources))]}


@router.get("", summary="The tenant's tasks, newest first")
def list_tasks(svc: ServicesDep, who: PrincipalDep,
               limit: int = Query(1000, ge=1, le=10_000, description="At most this many")) -> dict:
    return {"tasks": [task_view(t) for t in svc.tasks.list_tasks(who.tenant_id, limit=limit)]}


@router.get("/indices/{index_name}/tasks", summary="An index's unfinished and failed documents")
def index_tasks(svc: ServicesDep, who: PrincipalDep, index_name: str) -> dict[str, Any]:
    kb = svc.knowledge.find(who.tenant_id, index_name)
    found = svc.tasks.list_tasks(who.tenant_id, kb_id=kb.id, states=INDEX_TASK_STATES, latest=True)
    return {"index_name": kb.name, "files": [index_task_view(t) for t in found]}


@router.get("/{task_id}", summary="A task's status")
def get_task(svc: ServicesDep, who: PrincipalDep, task_id: str) -> dict:
    return task_view(svc.tasks.find(who.tenant_id, task_id))


@router.get("/{task_id}/details", summary="A task's status with what it made")
def get_task_details(svc: ServicesDep, who: PrincipalDep, task_id: str) -> dict:
    task = svc.tasks.find(who.tenant_id, task_id)
    return task_details(task, svc.knowledge.get(who.tenant_id, task.kb_id).name)
