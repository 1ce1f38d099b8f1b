"""core/users.py: accounts in workspaces, hashed passwords, access tokens, sign-out, sign-in rate limits."""

from __future__ import annotations

import os
import stat
import time
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select, update

from core import users as users_module
from core.config import Settings
from core.container import build_services
from core.errors import AuthenticationFailed, Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from core.secrets import Sealer
from core.tenants import DEFAULT_TENANT_ID
from storage.orm import LoginFailure, User


def test_signup_makes_a_workspace_and_stores_only_a_hash(svc):
    alice = svc.users.signup("alice", "correct horse", email="alice@example.com")
    assert alice.role == "owner" and alice.tenant_id != DEFAULT_TENANT_ID and alice.email == "alice@example.com"
    bob = svc.users.signup("Bob", "battery staple")
    assert bob.tenant_id != alice.tenant_id
    with svc.db.session() as s:
        stored = s.get(User, alice.id).password_hash
    assert "correct horse" not in stored and stored.startswith("$2b$04$")  # bcrypt at the test cost
    assert svc.users.list(alice.tenant_id) == [alice]


@pytest.mark.parametrize(("name", "password", "problem"), [
    ("", "secret", "must not be empty"), ("   ", "secret", "must not be empty"),
    ("x" * 21, "secret", "at most 20 characters"), ("tab\tname", "secret", "control characters"),
    ("carol", "abc", "at least 4 characters"), ("carol", None, "at least 4 characters"),
])
def test_signup_validation(svc, name, password, problem):
    with pytest.raises(InvalidInput, match=problem):
        svc.users.signup(name, password)
    assert not svc.users.any_users()


def test_names_are_unique_case_insensitively_and_twenty_characters_fit(svc):
    svc.users.signup("张" * 20, "secret")
    svc.users.signup("Dave", "secret")
    with pytest.raises(Conflict, match="already taken"):
        svc.users.signup("dave", "other")
    with pytest.raises(InvalidInput, match="e-mail"):
        svc.users.signup("erin", "secret", email="not-an-address")


def test_signup_can_be_turned_off_but_the_admin_still_adds_users(tmp_path):
    services = build_services(Settings(data_dir=tmp_path / "d", ingest_workers=0, allow_signup=False,
                                       password_hash_rounds=4))
    try:
        with pytest.raises(Forbidden, match="turned off"):
            services.users.signup("frank", "secret")
        frank = services.users.add(None, DEFAULT_TENANT_ID, "frank", "secret", role="owner")
        assert frank.is_admin and services.users.login("frank", "secret").user.id == frank.id
    finally:
        services.close()


def test_who_may_add_users_to_a_workspace(svc):
    owner = svc.users.signup("owner", "secret")
    member = svc.users.add(owner, owner.tenant_id, "member", "secret")
    assert member.role == "member" and member.tenant_id == owner.tenant_id
    with pytest.raises(Forbidden):
        svc.users.add(member, owner.tenant_id, "another", "secret")
    stranger = svc.users.signup("stranger", "secret")
    with pytest.raises(Forbidden):
        svc.users.add(stranger, owner.tenant_id, "intruder", "secret")
    admin = svc.users.add(None, DEFAULT_TENANT_ID, "admin", "secret")
    assert svc.users.add(admin, owner.tenant_id, "helper", "secret").tenant_id == owner.tenant_id
    with pytest.raises(NotFound):
        svc.users.add(None, "no-such-workspace", "ghost", "secret")
    with pytest.raises(NotFound):
        svc.users.get(stranger.tenant_id, member.id)  # another workspace's user is not found
    with pytest.raises(InvalidInput, match="your own"):
        svc.users.remove(owner, owner.tenant_id, owner.id)
    svc.users.remove(owner, owner.tenant_id, member.id)
    assert [u.name for u in svc.users.list(owner.tenant_id)] == ["owner", "helper"]


def test_login_token_resolves_and_logout_revokes_it(svc):
    user = svc.users.signup("grace", "secret")
    signin = svc.users.login("GRACE", "secret", address="10.0.0.1")
    assert signin.token.startswith("eyJ") and signin.token.count(".") == 2
    assert svc.users.resolve_token(signin.token).id == user.id
    assert svc.users.get(user.tenant_id, user.id).last_login_at is not None
    other = svc.users.login("grace", "secret")
    svc.users.logout(signin.token)
    with pytest.raises(AuthenticationFailed, match="signed out"):
        svc.users.resolve_token(signin.token)
    assert svc.users.resolve_token(other.token).id == user.id  # only the signed-out token stops


def test_wrong_name_and_wrong_password_get_the_same_answer(svc):
    svc.users.signup("heidi", "secret")
    answers = set()
    for name, password in (("heidi", "wrong"), ("nobody", "secret"), ("heidi", "")):
        with pytest.raises(AuthenticationFailed) as err:
            svc.users.login(name, password)
        answers.add(err.value.message)
    assert answers == {"Wrong user name or password"}


def test_forged_expired_and_disabled_tokens_are_refused(svc, settings):
    user = svc.users.signup("ivan", "secret")
    token = svc.users.login("ivan", "secret").token
    forged = jwt.encode({"sub": user.id, "jti": "x", "exp": 9_999_999_999}, b"a guessed key of thirty-two bytes", algorithm="HS256")
    with pytest.raises(AuthenticationFailed, match="invalid"):
        svc.users.resolve_token(forged)
    key = Sealer(settings).signing_key("jwt")
    expired = jwt.encode({"sub": user.id, "jti": "y", "exp": 1_000_000}, key, algorithm="HS256")
    with pytest.raises(AuthenticationFailed, match="expired"):
        svc.users.resolve_token(expired)
    none_alg = jwt.encode({"sub": user.id, "jti": "z", "exp": 9_999_999_999}, None, algorithm="none")
    with pytest.raises(AuthenticationFailed):
        svc.users.resolve_token(none_alg)
    svc.users.set_disabled(None, user.tenant_id, user.id, True)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        svc.users.resolve_token(token)
    with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
        svc.users.login("ivan", "secret")


def test_a_password_change_ends_older_tokens(svc, settings):
    user = svc.users.signup("judy", "secret")
    key = Sealer(settings).signing_key("jwt")
    now = int(time.time())
    earlier = jwt.encode({"sub": user.id, "jti": "old", "iat": now - 30, "exp": now + 3600}, key, algorithm="HS256")
    assert svc.users.resolve_token(earlier).id == user.id
    svc.users.set_password(user.id, "new secret")
    with pytest.raises(AuthenticationFailed, match="password was changed"):
        svc.users.resolve_token(earlier)
    with pytest.raises(AuthenticationFailed):
        svc.users.login("judy", "secret")
    assert svc.users.resolve_token(svc.users.login("judy", "new secret").token).id == user.id


def test_failed_logins_are_limited_per_name_and_per_address(svc, monkeypatch):
    svc.users.signup("mallory", "secret")
    for _ in range(users_module.MAX_FAILURES_PER_NAME):
        with pytest.raises(AuthenticationFailed):
            svc.users.login("mallory", "guess", address="192.0.2.1")
    with pytest.raises(RateLimited, match="this user name") as err:
        svc.users.login("mallory", "secret", address="192.0.2.99")  # even the right password waits
    assert 0 < err.value.retry_after <= 15 * 60
    # Spraying many names from one address hits the address limit.
    monkeypatch.setattr(users_module, "MAX_FAILURES_PER_ADDRESS", 3)
    for i in range(3):
        with pytest.raises(AuthenticationFailed):
            svc.users.login(f"name{i}", "guess", address="198.51.100.7")
    with pytest.raises(RateLimited, match="this address"):
        svc.users.login("someone-else", "guess", address="198.51.100.7")
    # The window passes: the name may try again, and a success clears its count.
    with svc.db.session() as s:
        s.execute(update(LoginFailure).values(created_at=LoginFailure.created_at - timedelta(minutes=16)))
    assert svc.users.login("mallory", "secret", address="192.0.2.1").user.name == "mallory"
    with svc.db.session() as s:
        assert s.scalars(select(LoginFailure)).all() == []  # old failures are cleaned up


def test_profile_updates_are_validated(svc):
    user = svc.users.signup("niaj", "secret")
    updated = svc.users.update_profile(user.id, avatar="https://example.com/a.png", description=" Hello ")
    assert updated.avatar == "https://example.com/a.png" and updated.description == "Hello"
    with pytest.raises(InvalidInput, match="at most"):
        svc.users.update_profile(user.id, description="x" * 1001)
    with pytest.raises(InvalidInput, match="must be text"):
        svc.users.update_profile(user.id, avatar=42)  # type: ignore[arg-type]


def test_the_secret_file_is_private_and_keys_differ_per_purpose(settings, svc):
    mode = stat.S_IMODE(os.stat(settings.secret_key_file).st_mode)
    assert mode == 0o600
    sealer = Sealer(settings)
    assert sealer.signing_key("jwt") == Sealer(settings).signing_key("jwt") != sealer.signing_key("other")
    assert sealer.unseal(sealer.seal("hush")) == "hush" and sealer.verify("m", sealer.sign("m"))
    other = Sealer(Settings(data_dir=settings.data_dir, secret_key="from the environment"))
    assert other.signing_key("jwt") != sealer.signing_key("jwt")
