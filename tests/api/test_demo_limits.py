"""A public demo's limits over REST: the address middleware (api/visitors.py) names the caller, the core refuses."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import openai, ragflow
from api.visitors import VisitorAddress
from core.config import Settings
from core.container import build_services


@pytest.fixture
def demo(tmp_path):
    services = build_services(Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64",
                                       demo=True, demo_max_files=2, demo_uploads_per_hour=3,
                                       demo_questions_per_hour=1))
    yield services
    services.close()


def client_at(demo, address: str) -> TestClient:
    app = FastAPI()
    for router in ragflow.routers() + openai.routers():
        app.include_router(router)
    app.add_middleware(VisitorAddress)
    app.state.services = demo
    return TestClient(app, headers={"Authorization": f"Bearer {demo.admin_api_key}"}, client=(address, 50000))


def test_uploads_over_the_ragflow_api(demo, tenant):
    kb = demo.knowledge.create(tenant, "visitors")
    url = f"/api/v1/datasets/{kb.id}/documents"
    files = lambda n: [("file", (f"{i}.txt", b"hello", "text/plain")) for i in range(n)]  # noqa: E731
    with client_at(demo, "10.0.0.1") as one, client_at(demo, "10.0.0.2") as two:
        too_many = one.post(url, files=files(3)).json()
        assert too_many["code"] != 0 and "at most 2 files per upload" in too_many["message"]
        assert one.post(url, files=files(2)).json()["code"] == 0
        over = one.post(url, files=files(2)).json()
        assert over["code"] != 0 and "3 files uploaded per hour" in over["message"]
        assert two.post(url, files=files(2)).json()["code"] == 0  # another address, its own budget
    assert demo.documents.list(tenant, kb.id).total == 4


def test_questions_over_the_openai_api_get_429(demo, tenant):
    kb = demo.knowledge.create(tenant, "handbook")
    assistant = demo.assistants.create(tenant, "Helper", kb_ids=[kb.id])
    body = {"model": assistant.id, "messages": [{"role": "user", "content": "What is the refund window?"}]}
    with client_at(demo, "10.0.0.1") as visitor:
        assert visitor.post("/v1/chat/completions", json=body).status_code == 200
        refused = visitor.post("/v1/chat/completions", json=body)
    assert refused.status_code == 429
    assert "1 questions per hour" in refused.json()["error"]["message"]

