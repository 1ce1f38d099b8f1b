"""Sign-in with user accounts, the signed-in user's workspace on every page, and the Settings page (API keys shown
once and revoked, the workspace's users)."""

from __future__ import annotations

import pytest

from core.errors import AuthenticationFailed
from core.tenants import DEFAULT_TENANT_ID
from tests.ui.conftest import open_page


def everything(at) -> str:
    parts = [m.value for m in at.markdown] + [str(m.value) for m in at.metric] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info] + [s.value for s in at.success]
    parts += [c.value for c in at.code] + [w.value for w in at.warning]
    return " ".join(parts)


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def form_button(at, form_key: str):
    return next(b for b in at.button if b.proto.form_id == form_key)


def sign_in(at, name: str, password: str):
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    form_button(at, "sign_in").click().run()
    return at


def test_without_accounts_the_ui_is_the_admins_and_can_open_the_sign_in_screen(ui):
    ui.knowledge.create(DEFAULT_TENANT_ID, "Admin handbook")
    at = open_page()
    assert "Admin handbook" in everything(at)
    button(at, "Sign in").click().run()
    assert at.text_input(key="sign_in_name") is not None and "Admin handbook" not in everything(at)
    button(at, "Back").click().run()
    assert "Admin handbook" in everything(at)


def test_with_accounts_everyone_signs_in_and_works_in_their_own_workspace(ui):
    ui.knowledge.create(DEFAULT_TENANT_ID, "Admin handbook")
    alice = ui.users.signup("alice", "pass-1234")
    ui.knowledge.create(alice.tenant_id, "Alice notes")
    at = open_page()
    assert "Admin handbook" not in everything(at) and "Alice notes" not in everything(at)
    sign_in(at, "alice", "wrong")
    assert "Wrong user name or password." in everything(at)
    sign_in(at, "ALICE", "pass-1234")
    assert not at.exception
    body = everything(at)
    assert "👤 **alice**" in body and "Workspace: alice's workspace" in body
    assert "Alice notes" in body and "Admin handbook" not in body
    at.switch_page("pages/knowledge_bases.py").run()
    assert "Alice notes" in everything(at) and "Admin handbook" not in everything(at)


def test_sign_up_in_the_browser(ui):
    ui.users.signup("existing", "pass-1234")
    at = open_page()
    at.text_input(key="sign_up_name").input("bob")
    at.text_input(key="sign_up_password").input("pass-1234")
    at.text_input(key="sign_up_again").input("pass-1235")
    form_button(at, "sign_up").click().run()
    assert "The two passwords differ." in everything(at) and ui.users.find("bob") is None
    at.text_input(key="sign_up_again").input("pass-1234")
    form_button(at, "sign_up").click().run()
    assert "Account 'bob' created" in everything(at)
    bob = ui.users.find("bob")
    assert bob is not None and bob.role == "owner" and bob.tenant_id != DEFAULT_TENANT_ID
    sign_in(at, "bob", "pass-1234")
    assert "👤 **bob**" in everything(at)
    token = at.session_state["auth_token"]
    button(at, "Sign out").click().run()
    assert at.text_input(key="sign_in_name") is not None and "👤 **bob**" not in everything(at)
    with pytest.raises(AuthenticationFailed, match="signed out"):
        ui.users.resolve_token(token)


def test_a_token_that_stops_working_ends_the_session(ui):
    ui.users.signup("carol", "pass-1234")
    at = sign_in(open_page(), "carol", "pass-1234")
    assert "👤 **carol**" in everything(at)
    ui.users.logout(at.session_state["auth_token"])  # e.g. signed out from another tab
    at.run()
    assert at.text_input(key="sign_in_name") is not None and "signed out" in everything(at)


def test_settings_api_keys_are_shown_once_and_revoked(ui):
    ui.users.signup("dave", "pass-1234")
    at = sign_in(open_page(), "dave", "pass-1234")
    at.switch_page("pages/settings.py").run()
    assert "No API keys yet." in everything(at)
    at.text_input[0].input("ci")
    form_button(at, "new_key").click().run()
    (shown,) = [c.value for c in at.code if c.value.startswith("almanac-") and not c.value.endswith("…")]
    dave = ui.users.find("dave")
    assert ui.tenants.resolve(shown) == dave.tenant_id
    assert "shown only once" in everything(at)
    button(at, "I have copied it").click().run()
    assert shown not in everything(at) and f"{shown[:12]}…" in everything(at)
    button(at, "Revoke").click().run()  # the confirmation inside the popover
    assert "No API keys yet." in everything(at)
    assert ui.tenants.list_keys(dave.tenant_id) == []


def test_settings_users_owner_adds_and_removes_a_member(ui):
    owner = ui.users.signup("erin", "pass-1234")
    at = sign_in(open_page(), "erin", "pass-1234")
    at.switch_page("pages/settings.py").run()
    assert "erin" in everything(at) and "you" in everything(at)
    form = [w for w in at.text_input if w.proto.form_id == "add_user"]
    form[0].input("frank")
    form[2].input("pass-5678")
    form_button(at, "add_user").click().run()
    frank = ui.users.find("frank")
    assert frank is not None and frank.tenant_id == owner.tenant_id and frank.role == "member"
    assert "**frank**" in everything(at)
    button(at, "Remove").click().run()
    assert ui.users.find("frank") is None


def test_a_member_sees_the_users_but_cannot_manage_them(ui):
    owner = ui.users.signup("gina", "pass-1234")
    ui.users.add(owner, owner.tenant_id, "hank", "pass-1234")
    at = sign_in(open_page(), "hank", "pass-1234")
    at.switch_page("pages/settings.py").run()
    assert "**gina**" in everything(at) and "**hank**" in everything(at)
    assert not [b for b in at.button if b.label in ("Remove", "Add a user to this workspace")]
    assert not [w for w in at.text_input if w.proto.form_id == "add_user"]


def test_settings_in_chinese(ui):
    at = open_page("pages/settings.py", lang="zh")
    assert "API 密钥" in everything(at) and "设置" in [t.value for t in at.title][0]
