"""WeKnora evaluation tasks: POST starts one over a question set (dataset "" or "default" = the bundled bilingual
set), GET reports its progress (total / finished) and metrics. Status is WeKnora's: 0 pending, 1 running,
2 success, 3 failed (a cancelled run is failed, with its message in err_msg)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.common.auth import ServicesDep
from api.weknora.errors import WeknoraRoute
from api.weknora.views import CallerDep, ok, rfc3339
from core.evaluation.schemas import RunInfo

router = APIRouter(prefix="/api/v1", tags=["WeKnora: evaluation"], route_class=WeknoraRoute)
STATUS = {"waiting": 0, "running": 1, "completed": 2}  # anything else (error, cancelled) is 3
RETRIEVAL = ("precision", "recall", "ndcg3", "ndcg10", "mrr", "map")


class EvaluationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    embedding_id: str = Field("", max_length=64)
    chat_id: str = Field("", max_length=64)
    rerank_id: str = Field("", max_length=64)
    dataset_id: str = Field("", max_length=64)


def task_view(run: RunInfo, number: int, with_metric: bool) -> dict[str, Any]:
    cfg = run.config
    view = {"id": run.id, "tenant_id": number, "dataset_id": run.set_id,
            "embedding_id": cfg.embedding_model_id or "default", "rerank_id": cfg.rerank_model_id or "default",
            "chat_id": cfg.chat_model_id or "default", "start_time": rfc3339(run.started_at or run.created_at),
            "status": STATUS.get(run.state, 3), "total": run.total, "finished": run.finished}
    if STATUS.get(run.state) is None:
        view["err_msg"] = run.error or run.message
    if with_metric:
        summary = run.summary()
        view["metric"] = {"retrieval_metrics": {k: summary.get(k, 0.0) for k in RETRIEVAL},
                          "generation_metrics": run.generation or {}}
    return view


@router.post("/evaluation", summary="Start an evaluation task (dataset_id empty or 'default' = the bundled set)")
def start_evaluation(svc: ServicesDep, who: CallerDep, body: EvaluationBody | None = None) -> dict:
    body = body or EvaluationBody()
    run = svc.evaluation.start_dataset(who.tenant_id, body.dataset_id.strip(), embedding_id=body.embedding_id.strip(),
                                       chat_id=body.chat_id.strip(), rerank_id=body.rerank_id.strip())
    return ok(task_view(run, who.number, with_metric=False))


@router.get("/evaluation", summary="An evaluation task: progress and metrics")
@router.get("/evaluation/", include_in_schema=False)  # the spec's example calls /evaluation/?task_id=
def get_evaluation(svc: ServicesDep, who: CallerDep, task_id: str = Query(..., min_length=1, max_length=64)) -> dict:
    return ok(task_view(svc.evaluation.get_run(who.tenant_id, task_id), who.number, with_metric=True))
