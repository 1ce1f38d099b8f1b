"""Shared fixtures: a fresh data dir and services per test, offline."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Before any engine loads OpenMP (and inherited by the servers and CLIs tests start): waiting threads
# sleep instead of spinning. Under a full parallel run this halved the voice and embedding tests' time.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from core.config import Settings  # noqa: E402
from core.container import Services, build_services  # noqa: E402
from core.tenants import DEFAULT_TENANT_ID  # noqa: E402
from tests.mock_llm import mock_llm  # noqa: F401, E402


@pytest.fixture(autouse=True)
def no_env_llm(monkeypatch):
    """The process environment would otherwise decide the default LLM of every test."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALMANAC_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64",
                    password_hash_rounds=4)  # bcrypt's cheapest cost: tests sign in often


@pytest.fixture
def svc(settings) -> Services:
    services = build_services(settings)
    yield services
    services.close()


@pytest.fixture
def tenant() -> str:
    return DEFAULT_TENANT_ID


@pytest.fixture
def llm(svc, tenant, mock_llm):
    """The mock OpenAI server (tests/mock_llm.py) as the default tenant's default LLM."""
    svc.models.create(tenant, type="llm", provider="openai", name="mock", model="mock-model",
                      base_url=mock_llm.base_url, params={"timeout": 5, "max_retries": 0}, is_default=True)
    return mock_llm


def ingest(svc: Services, tenant: str, kb_id: str, files: list[tuple[str, bytes]], **kw) -> list:
    """Upload and process files in this thread; returns the documents after processing."""
    docs = svc.documents.upload(tenant, kb_id, files, **kw)
    assert svc.workers.drain(timeout=120)
    return [svc.documents.get(tenant, d.id) for d in docs]
