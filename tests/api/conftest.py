"""An app with the REST dialect routers over the per-test services (tests/conftest.py `svc`)."""

from __future__ import annotations

from contextlib import ExitStack

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


@pytest.fixture
def sign_up(api_app):
    """sign_up(name) registers and signs in a user over AgentChat's API and returns a client sending their token
    (the user's workspace id is `client.workspace`)."""
    with ExitStack() as stack:
        def make(name: str, password: str = "pass-1234") -> TestClient:
            c = stack.enter_context(TestClient(api_app))
            registered = c.post("/api/v1/user/register", json={"user_name": name, "user_password": password})
            assert registered.status_code == 200, registered.text
            token = c.post("/api/v1/user/login", json={"user_name": name, "user_password": password})
            c.headers["Authorization"] = f"Bearer {token.json()['data']['access_token']}"
            c.workspace = registered.json()["data"]["workspace_id"]
            return c

        yield make
