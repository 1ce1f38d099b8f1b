"""WeKnora's evaluation routes: start a task on the bundled set, watch it finish, read its metrics."""

from __future__ import annotations

import time

import pytest

from core.config import Settings
from tests.helpers import weknora_data, weknora_error


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Ingestion workers on: the bundled set's documents are ingested before its questions run."""
    return Settings(data_dir=tmp_path / "data", ingest_workers=2, embedding_model="mock:words-64")


def wait_for(weknora, task_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = weknora_data(weknora.get("/api/v1/evaluation", params={"task_id": task_id}))
        if task["status"] in (2, 3):
            return task
        time.sleep(0.2)
    raise AssertionError("the evaluation did not finish")


def test_default_dataset_runs_and_reports_metrics(weknora, svc):
    svc.workers.start()
    svc.eval_workers.start()
    started = weknora_data(weknora.post("/api/v1/evaluation", json={}))
    assert started["status"] in (0, 1) and started["tenant_id"] == 1
    assert started["embedding_id"] == started["chat_id"] == started["rerank_id"] == "default"
    assert started["start_time"].endswith("Z")
    done = wait_for(weknora, started["id"])
    assert done["status"] == 2 and done["finished"] == done["total"] > 20
    retrieval = done["metric"]["retrieval_metrics"]
    assert set(retrieval) == {"precision", "recall", "ndcg3", "ndcg10", "mrr", "map"}
    assert 0.5 < retrieval["recall"] <= 1 and 0 < retrieval["mrr"] <= 1
    assert done["metric"]["generation_metrics"] == {}  # no chat model configured: retrieval only


def test_unknown_task_and_dataset_and_other_tenants(weknora, weknora_other):
    weknora_error(weknora.get("/api/v1/evaluation", params={"task_id": "nope"}), 404, 1003)
    weknora_error(weknora.get("/api/v1/evaluation"), 400, 1010)  # validation: task_id required
    weknora_error(weknora.post("/api/v1/evaluation", json={"dataset_id": "no-such-set"}), 404, 1003)
    task = weknora_data(weknora.post("/api/v1/evaluation", json={"dataset_id": "default"}))
    weknora_error(weknora_other.get("/api/v1/evaluation", params={"task_id": task["id"]}), 404, 1003)
