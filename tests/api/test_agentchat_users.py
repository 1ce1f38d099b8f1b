"""AgentChat's user routes: register, login, info, update, logout; the token on every dialect; the envelope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core import users as users_module

REGISTER, LOGIN = "/api/v1/user/register", "/api/v1/user/login"


@pytest.fixture
def anon(api_app) -> TestClient:
    with TestClient(api_app) as c:
        yield c


def body(res, status: int = 200):
    assert res.status_code == status, res.text
    envelope = res.json()
    assert set(envelope) == {"status_code", "status_message", "data"} and envelope["status_code"] == status
    return envelope["data"] if status == 200 else envelope["status_message"]


def test_register_then_login_as_the_spec_shows(anon):
    user = body(anon.post(REGISTER, json={"user_name": "test", "user_email": "t@example.com", "user_password": "test"}))
    assert user["user_name"] == "test" and user["user_email"] == "t@example.com" and "user_password" not in user
    assert user["workspace_id"] and user["role"] == "owner"
    login = anon.post(LOGIN, json={"user_name": "test", "user_password": "test"}).json()
    assert login["status_code"] == 200 and login["status_message"] == "SUCCESS"
    assert login["data"]["user_id"] == user["user_id"] and login["data"]["access_token"].startswith("eyJ")
    assert login["data"]["token_type"] == "bearer" and login["data"]["expires_at"].endswith("Z")


@pytest.mark.parametrize(("payload", "problem"), [
    ({"user_name": "x" * 21, "user_password": "secret"}, "at most 20 characters"),
    ({"user_name": "", "user_password": "secret"}, "must not be empty"),
    ({"user_name": "ann", "user_password": "abc"}, "at least 4 characters"),
    ({"user_name": "ann"}, "user_password: Field required"),
    ({"user_name": "ann", "user_password": "secret", "user_email": "nope"}, "not an e-mail address"),
    ({"user_name": ["ann"], "user_password": "secret"}, "user_name"),
])
def test_register_validation(anon, svc, payload, problem):
    assert problem in body(anon.post(REGISTER, json=payload), 400)
    assert not svc.users.any_users()


def test_register_refuses_a_taken_name_and_can_be_turned_off(anon, svc, monkeypatch):
    body(anon.post(REGISTER, json={"user_name": "Alice", "user_password": "secret"}))
    assert "already taken" in body(anon.post(REGISTER, json={"user_name": "alice", "user_password": "x1234"}), 400)
    monkeypatch.setattr(svc.settings, "allow_signup", False)
    assert "turned off" in body(anon.post(REGISTER, json={"user_name": "bob", "user_password": "secret"}), 403)


def test_login_failures_never_say_which_part_was_wrong_and_are_rate_limited(anon, monkeypatch):
    body(anon.post(REGISTER, json={"user_name": "carol", "user_password": "secret"}))
    wrong_password = body(anon.post(LOGIN, json={"user_name": "carol", "user_password": "nope"}), 401)
    wrong_name = body(anon.post(LOGIN, json={"user_name": "nobody", "user_password": "secret"}), 401)
    assert wrong_password == wrong_name == "Wrong user name or password"
    monkeypatch.setattr(users_module, "MAX_FAILURES_PER_NAME", 3)
    for _ in range(2):  # carol's 2nd and 3rd failures
        body(anon.post(LOGIN, json={"user_name": "carol", "user_password": "nope"}), 401)
    limited = anon.post(LOGIN, json={"user_name": "carol", "user_password": "secret"})
    assert "Too many failed sign-ins" in body(limited, 429) and int(limited.headers["Retry-After"]) > 0


def test_info_and_update_are_about_your_own_workspace(sign_up, client):
    dave, erin = sign_up("dave"), sign_up("erin")
    me = body(dave.get("/api/v1/user/info"))
    assert me["user_name"] == "dave" and body(dave.get("/api/v1/user/info", params={"user_id": me["user_id"]})) == me
    erin_id = body(erin.get("/api/v1/user/info"))["user_id"]
    assert "not found" in body(dave.get("/api/v1/user/info", params={"user_id": erin_id}), 404)
    updated = body(dave.put("/api/v1/user/update", json={"user_id": me["user_id"], "user_avatar": "https://a/b.png",
                                                           "user_description": "Hi there"}))
    assert updated["user_avatar"] == "https://a/b.png" and updated["user_description"] == "Hi there"
    assert "only update your own" in body(dave.put("/api/v1/user/update", json={"user_id": erin_id,
                                                                                "user_description": "x"}), 403)
    assert body(erin.get("/api/v1/user/info"))["user_description"] == ""
    # An API key names a workspace, not a user.
    assert "access token" in body(client.put("/api/v1/user/update", json={"user_id": erin_id}), 403)


def test_logout_revokes_the_token(sign_up):
    frank = sign_up("frank")
    assert body(frank.get("/api/v1/agent")) == []
    body(frank.post("/api/v1/user/logout"))
    assert "signed out" in body(frank.get("/api/v1/agent"), 401)
    assert "signed out" in body(frank.post("/api/v1/user/logout"), 401)


def test_missing_malformed_and_forged_tokens(anon, sign_up):
    assert "can't be empty" in body(anon.get("/api/v1/agent"), 401)
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert "invalid" in body(anon.get("/api/v1/agent", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert "authorization format" in body(anon.get("/api/v1/agent", headers={"Authorization": "Token x"}), 401)


def test_a_users_token_works_on_ragflows_api_in_their_workspace_only(sign_up, client):
    grace, heidi = sign_up("grace"), sign_up("heidi")
    body(grace.post("/api/v1/knowledge/create", json={"knowledge_name": "grace_kb"}))
    body(heidi.post("/api/v1/knowledge/create", json={"knowledge_name": "heidi_kb"}))
    client.post("/api/v1/datasets", json={"name": "admin_kb"})
    assert [d["name"] for d in grace.get("/api/v1/datasets").json()["data"]] == ["grace_kb"]
    assert [d["name"] for d in heidi.get("/api/v1/datasets").json()["data"]] == ["heidi_kb"]
    made = grace.post("/api/v1/datasets", json={"name": "made_by_ragflow"}).json()
    assert made["code"] == 0 and made["data"]["tenant_id"] == grace.workspace
    names = {k["name"] for k in body(grace.get("/api/v1/knowledge/select"))}
    assert names == {"grace_kb", "made_by_ragflow"}  # one workspace, whichever dialect made it


def test_unknown_paths_answer_in_agentchats_envelope_for_a_token(sign_up):
    ivan = sign_up("ivan")
    assert "No such endpoint" in body(ivan.get("/api/v1/no-such-route"), 404)
    assert "not allowed" in body(ivan.patch("/api/v1/agent"), 405)
