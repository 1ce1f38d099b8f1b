"""api/mount.py: every documented route reaches its own dialect's handler, shared paths dispatch by credential,
unknown /api/v1 paths answer in the caller's dialect, and each dialect also lives under /<dialect>."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from api import mount
from api.mount import DIALECTS, CredentialDispatch, credential_dialect, mount_dialects

ROUTES_TSV = Path(__file__).resolve().parents[1] / "fixtures" / "ROUTES.tsv"  # a copy of shared/api-specs/ROUTES.tsv


def documented_routes() -> list[tuple[str, str, str]]:
    rows = [line.split("\t") for line in ROUTES_TSV.read_text().splitlines() if line and not line.startswith("#")]
    return [(dialect, method, path) for dialect, method, path, *_ in rows]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    app = FastAPI()
    mount_dialects(app)
    return app


def scope_for(method: str, path: str, headers: dict[str, str] | None = None) -> dict:
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    kind = "websocket" if method == "WS" else "http"
    return {"type": kind, "method": "GET" if method == "WS" else method, "path": concrete, "root_path": "",
            "query_string": b"", "headers": raw}


def handler_module(app: FastAPI, scope: dict) -> str | None:
    """The module of the endpoint that serves this request (the first full match, as Starlette picks it)."""
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            if isinstance(route, CredentialDispatch):
                route = route.candidates.get(credential_dialect_of(scope), route.first)
            return getattr(route, "endpoint", None).__module__
    return None


def credential_dialect_of(scope: dict) -> str:
    from starlette.requests import HTTPConnection

    return credential_dialect(HTTPConnection(scope))


HEADERS = {"weknora": {"X-API-Key": "k"}, "agentchat": {"Authorization": "Bearer eyJa.eyJb.sig"}}


def owned_by(dialect: str, module: str | None) -> bool:
    return module is not None and module.startswith(f"api.{dialect}.")


def test_every_documented_route_of_a_mounted_dialect_reaches_its_own_handler(app):
    checked, wrong = 0, []
    for dialect, method, path in documented_routes():
        module = handler_module(app, scope_for(method, path, HEADERS.get(dialect)))
        if dialect not in DIALECTS and not owned_by(dialect, module):
            continue  # a dialect still to come; nothing else may answer in its place
        checked += 1
        if not owned_by(dialect, module):
            wrong.append(f"{dialect} {method} {path} -> {module}")
    assert not wrong, wrong
    assert checked == len(list(documented_routes())) == 184  # all five dialects are mounted


def test_documented_routes_are_in_the_openapi_schema(app):
    paths = app.openapi()["paths"]
    missing = [f"{method} {path}" for dialect, method, path in documented_routes()
               if dialect in DIALECTS and method != "WS" and method.lower() not in paths.get(path, {})]
    assert not missing


def fake_dialect(name: str, path: str) -> APIRouter:
    router = APIRouter()

    @router.get(path)
    def answer() -> dict:
        return {"dialect": name}

    answer.__module__ = f"api.{name}.fake"
    return router


def test_a_path_two_dialects_claim_must_be_declared_then_dispatches_by_credential(monkeypatch):
    routes = [("ragflow", r) for r in fake_dialect("ragflow", "/api/v1/shared").routes]
    routes += [("weknora", r) for r in fake_dialect("weknora", "/api/v1/shared").routes]
    routes += [("agentchat", r) for r in fake_dialect("agentchat", "/api/v1/shared").routes]
    with pytest.raises(RuntimeError, match="claimed by ragflow, weknora, agentchat"):
        mount.merge_claims(routes)

    monkeypatch.setattr(mount, "SHARED_ROUTES", {("GET", "/api/v1/shared")})
    app = FastAPI()
    app.router.routes.extend(mount.merge_claims(routes))
    client = TestClient(app)
    assert client.get("/api/v1/shared", headers={"X-API-Key": "k"}).json() == {"dialect": "weknora"}
    assert client.get("/api/v1/shared", headers={"Authorization": "Bearer eyJa.eyJb.c"}).json() == \
        {"dialect": "agentchat"}
    assert client.get("/api/v1/shared", headers={"Authorization": "Bearer almanac-key"}).json() == \
        {"dialect": "ragflow"}


def test_fixed_segments_are_matched_before_parameters():
    routes = [("weknora", r) for r in fake_dialect("weknora", "/api/v1/knowledge/{id}").routes]
    routes += [("agentchat", r) for r in fake_dialect("agentchat", "/api/v1/knowledge/select").routes]
    app = FastAPI()
    app.router.routes.extend(mount.merge_claims(routes))
    client = TestClient(app)
    assert client.get("/api/v1/knowledge/select").json() == {"dialect": "agentchat"}
    assert client.get("/api/v1/knowledge/k1").json() == {"dialect": "weknora"}


def test_unknown_api_v1_paths_answer_in_the_callers_envelope(client):
    missing = client.get("/api/v1/no-such-thing")  # RAGFlow's envelope and wording (its web framework's)
    assert missing.status_code == 200 and missing.json() == {"code": 100, "message": "<NotFound '404: Not Found'>"}
    wrong_method = client.patch("/api/v1/datasets").json()
    assert wrong_method == {"code": 100, "message": "<MethodNotAllowed '405: Method Not Allowed'>"}


def test_repeated_slashes_count_as_one(client):
    """An empty id leaves `//` in a path; like Flask-based servers, such a path is matched with one slash."""
    assert client.get("/api/v1/datasets//documents").json()["message"] == "<MethodNotAllowed '405: Method Not " \
                                                                          "Allowed'>"
    moved = client.get("/api/v1//datasets", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"].endswith("/api/v1/datasets")
    assert client.get("/api/v1//datasets").json()["code"] == 0


def test_each_dialect_is_also_under_its_own_prefix(client):
    assert client.get("/ragflow/api/v1/datasets").json() == client.get("/api/v1/datasets").json()
    assert client.get("/openai/v1/models").json() == client.get("/v1/models").json()
    assert client.get("/ragflow/v1/models").status_code == 404  # a prefix holds its own dialect only
    assert not any(p.startswith(("/ragflow/", "/openai/")) for p in client.get("/openapi.json").json()["paths"])


def test_an_api_key_works_as_bearer_x_api_key_or_query(client, svc):
    key = svc.admin_api_key
    plain = TestClient(client.app)
    for kwargs in ({"headers": {"Authorization": f"Bearer {key}"}}, {"headers": {"X-API-Key": key}},
                   {"params": {"api_key": key}}):
        assert plain.get("/api/v1/datasets", **kwargs).json()["code"] == 0
    assert plain.get("/api/v1/datasets").json() == {"code": 109, "message": "`Authorization` can't be empty"}
    assert plain.get("/api/v1/datasets", headers={"X-API-Key": "nope"}).json()["code"] == 109

