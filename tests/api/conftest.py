"""An app with the REST dialect routers over the per-test services (tests/conftest.py `svc`)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.mount import mount_dialects


@pytest.fixture
def api_app(svc) -> FastAPI:
    app = FastAPI()
    mount_dialects(app)
    app.state.services = svc
    return app


@pytest.fixture
def client(api_app, svc) -> TestClient:
    """Authenticated as the default tenant's admin key."""
    with TestClient(api_app, headers={"Authorization": f"Bearer {svc.admin_api_key}"}) as c:
        yield c


@pytest.fixture
def other_client(api_app, svc) -> TestClient:
    """Authenticated as a second tenant."""
    tenant = svc.tenants.create_tenant("other")
    key = svc.tenants.create_api_key(tenant)
    with TestClient(api_app, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


@pytest.fixture
def weknora(api_app, svc) -> TestClient:
    """WeKnora's way in: the admin key as X-API-Key."""
    with TestClient(api_app, headers={"X-API-Key": svc.admin_api_key}) as c:
        yield c


@pytest.fixture
def weknora_other(api_app, svc) -> TestClient:
    """A second tenant's key as X-API-Key."""
    key = svc.tenants.create_api_key(svc.tenants.create_tenant("stranger"))
    with TestClient(api_app, headers={"X-API-Key": key}) as c:
        yield c
