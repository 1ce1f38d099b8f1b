"""User accounts in a real browser against the real server: sign up, sign in, create a knowledge base, see only
your own workspace, make an API key on the Settings page, sign out.

Another user and the admin's default workspace each hold a knowledge base made over the REST APIs first, so the
browser proves it sees neither. Screenshots go to test-artifacts/screenshots/accounts-NN-name.png.
"""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from core.container import build_services
from tests.helpers import (
    CHROMIUM, browser_page, SHOTS, free_port, nav, no_exception, settle, start_server, stop_process, toast,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
ADMIN_KEY = "almanac-accounts-admin-key"


def shot(page, n: int, name: str) -> None:
    settle(page)
    page.screenshot(path=str(SHOTS / f"accounts-{n:02d}-{name}.png"), full_page=True)


@pytest.fixture
def server(tmp_path):
    data, port = tmp_path / "data", free_port()
    proc = start_server(data, port, {"ALMANAC_ADMIN_API_KEY": ADMIN_KEY, "ALMANAC_PASSWORD_HASH_ROUNDS": "4",
                                     "ALMANAC_EMBEDDING_MODEL": "mock:words-64"})
    yield f"http://127.0.0.1:{port}", data
    stop_process(proc)


def seed(base: str) -> None:
    """The admin's knowledge base (RAGFlow API, admin key) and another user's (AgentChat API, their token)."""
    made = httpx.post(f"{base}/api/v1/datasets", json={"name": "admin_handbook"},
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
    assert made["code"] == 0, made
    httpx.post(f"{base}/api/v1/user/register", json={"user_name": "olga", "user_password": "olga-pass"})
    token = httpx.post(f"{base}/api/v1/user/login",
                       json={"user_name": "olga", "user_password": "olga-pass"}).json()["data"]["access_token"]
    kb = httpx.post(f"{base}/api/v1/knowledge/create", json={"knowledge_name": "Olga secrets"},
                    headers={"Authorization": f"Bearer {token}"}).json()
    assert kb["status_code"] == 200, kb


def test_sign_up_sign_in_own_workspace_sign_out(server):
    base, data = server
    seed(base)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(failure=SHOTS / "accounts-failure") as page:
        flow(page, f"{base}/ui/")
    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        zoe = check.users.find("zoe")
        assert [k.name for k in check.knowledge.list(zoe.tenant_id).items] == ["Zoe recipes"]
        assert len(check.tenants.list_keys(zoe.tenant_id)) == 1
    finally:
        check.close()


def flow(page, base: str) -> None:
    main = page.get_by_test_id("stMain")
    page.goto(base)
    settle(page)
    expect(main.get_by_role("tab", name="Sign in")).to_be_visible()  # users exist: everyone signs in
    shot(page, 1, "sign-in")

    # Sign up.
    main.get_by_role("tab", name="Create account").click()
    form = main.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Create account"))
    form.get_by_role("textbox", name="User name").fill("zoe")
    form.get_by_label("Password", exact=True).fill("zoe-pass-1")
    form.get_by_label("Password again").fill("zoe-pass-1")
    form.get_by_role("button", name="Create account").click()
    settle(page)
    expect(main.get_by_text("Account 'zoe' created")).to_be_visible()
    shot(page, 2, "signed-up")

    # Sign in: a wrong password first.
    main.get_by_role("tab", name="Sign in").click()
    form = main.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Sign in"))
    form.get_by_role("textbox", name="User name").fill("zoe")
    form.get_by_label("Password", exact=True).fill("wrong")
    form.get_by_role("button", name="Sign in").click()
    settle(page)
    expect(main.get_by_text("Wrong user name or password.")).to_be_visible()
    form.get_by_label("Password", exact=True).fill("zoe-pass-1")
    form.get_by_role("button", name="Sign in").click()
    settle(page)
    no_exception(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("zoe", exact=True)).to_be_visible()
    expect(sidebar.get_by_text("Workspace: zoe's workspace")).to_be_visible()
    expect(main.get_by_text("Welcome! Create a knowledge base")).to_be_visible()  # not the admin's, not Olga's
    shot(page, 3, "home-signed-in")

    # Create a knowledge base; only it is listed.
    nav(page, "Knowledge bases")
    main.get_by_role("button", name="New knowledge base").click()
    settle(page)
    kb_form = main.get_by_test_id("stForm")
    kb_form.get_by_label("Name", exact=True).fill("Zoe recipes")
    kb_form.get_by_role("button", name="Create knowledge base").click()
    toast(page, "Knowledge base “Zoe recipes” created.")
    settle(page)
    no_exception(page)
    expect(main.get_by_role("heading", name="Zoe recipes")).to_be_visible()
    for foreign in ("admin_handbook", "Olga secrets"):
        expect(page.get_by_text(foreign)).to_have_count(0)
    shot(page, 4, "knowledge-bases")

    # Settings: an API key, shown once; Zoe is the workspace's only user.
    nav(page, "Settings")
    main.get_by_label("Name of the new key").fill("laptop")
    main.get_by_role("button", name="Create key").click()
    settle(page)
    expect(main.get_by_text("Copy this key now: it is shown only once.")).to_be_visible()
    key = main.get_by_test_id("stCode").filter(has_text="almanac-").first.inner_text().strip()
    assert key.startswith("almanac-") and not key.endswith("…")
    datasets = httpx.get(base.replace("/ui/", "/api/v1/datasets"), headers={"Authorization": f"Bearer {key}"}).json()
    assert [d["name"] for d in datasets["data"]] == ["Zoe recipes"]  # the key opens Zoe's workspace only
    expect(main.get_by_text("olga")).to_have_count(0)
    shot(page, 5, "settings")

    # Sign out: back to the sign-in screen; nothing of Zoe's is shown.
    sidebar.get_by_role("button", name="Sign out").click()
    settle(page)
    expect(main.get_by_role("tab", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Zoe recipes")).to_have_count(0)
    shot(page, 6, "signed-out")
