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
