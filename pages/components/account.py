"""Who uses the UI: user accounts when there are any, else the single-user ALMANAC_UI_PASSWORD gate.

With accounts, a browser session holds the user's access token (core/users.py) and checks it on every run, so a
token that expires, is signed out or whose user is removed ends the session at once. Without accounts the UI is
the admin's (the default workspace), behind ALMANAC_UI_PASSWORD when that is set.
"""

from __future__ import annotations

import hmac

import streamlit as st

from core.errors import AlmanacError, AuthenticationFailed, RateLimited
from pages.components.common import SIGNED_IN, current_user, services
from pages.components.i18n import t

TOKEN = "auth_token"
WANTS_ACCOUNT = "account_form"  # a single-user session that asked for the sign-in / sign-up screen
NOTICE = "account_notice"


def gate() -> bool:
    """True when this run may show the app; otherwise the sign-in (or password) screen is shown."""
    svc = services()
    token = st.session_state.get(TOKEN)
    if token:
        try:
            st.session_state[SIGNED_IN] = svc.users.resolve_token(token)
            return True
        except AuthenticationFailed as exc:
            forget()
            st.session_state[NOTICE] = exc.message
    st.session_state.pop(SIGNED_IN, None)
    if st.session_state.get(WANTS_ACCOUNT) or svc.users.any_users():
        account_screen()
        return False
    return password_gate()


def forget() -> None:
    for key in (TOKEN, SIGNED_IN, WANTS_ACCOUNT):
        st.session_state.pop(key, None)


def password_gate() -> bool:
    """When ALMANAC_UI_PASSWORD is set (and there are no accounts), ask for it once per browser session."""
    password = services().settings.ui_password
    if not password or st.session_state.get("authenticated"):
        return True
    _, mid, _ = st.columns([1, 2, 1])
    with mid, st.form("login"):
        st.subheader(f"🔒 {t('login.title')}")
        typed = st.text_input(t("login.password"), type="password")
        if st.form_submit_button(t("login.submit"), type="primary", use_container_width=True):
            if hmac.compare_digest(typed.encode(), password.encode()):
                st.session_state.authenticated = True
                st.rerun()
            st.error(t("login.wrong"))
    return False


def account_screen() -> None:
    svc = services()
    _, mid, _ = st.columns([1, 2, 1])
    with mid:
        st.subheader(f"🔒 {t('login.title')}")
        if notice := st.session_state.pop(NOTICE, None):
            st.info(notice, icon="ℹ️")
        if svc.settings.signup_open:
            sign_in_tab, sign_up_tab = st.tabs([t("account.sign_in"), t("account.sign_up")])
            with sign_in_tab:
                sign_in_form()
            with sign_up_tab:
                sign_up_form()
        else:
            sign_in_form()
            st.caption(t("account.signup_closed"))
        if st.session_state.get(WANTS_ACCOUNT) and not svc.users.any_users():
            if st.button(t("account.back"), icon=":material/arrow_back:"):
                st.session_state.pop(WANTS_ACCOUNT, None)
                st.rerun()


def sign_in_form() -> None:
    with st.form("sign_in"):
        name = st.text_input(t("account.name"), key="sign_in_name")
        password = st.text_input(t("login.password"), type="password", key="sign_in_password")
        if not st.form_submit_button(t("account.sign_in"), type="primary", use_container_width=True):
            return
    try:
        signin = services().users.login(name, password, address=st.context.ip_address or "")
    except RateLimited as exc:
        st.error(t("account.rate_limited", minutes=-(-exc.retry_after // 60)))
        return
    except AuthenticationFailed:
        st.error(t("account.wrong"))  # never which of the two was wrong
        return
    st.session_state[TOKEN] = signin.token
    st.session_state.pop(WANTS_ACCOUNT, None)
    st.rerun()


def sign_up_form() -> None:
    with st.form("sign_up", clear_on_submit=False):
        name = st.text_input(t("account.name"), max_chars=20, help=t("account.name_help"), key="sign_up_name")
        email = st.text_input(t("account.email"), key="sign_up_email")
        password = st.text_input(t("login.password"), type="password", key="sign_up_password")
        again = st.text_input(t("account.password_again"), type="password", key="sign_up_again")
        if not st.form_submit_button(t("account.create"), use_container_width=True):
            return
    if password != again:
        st.error(t("account.password_mismatch"))
        return
    try:
        user = services().users.signup(name, password, email=email)
    except AlmanacError as exc:
        st.error(exc.message, icon="⚠️")
        return
    st.success(t("account.created", name=user.name), icon="✅")


def sidebar_box() -> None:
    """Who is signed in, with sign-out; on a single-user install, a way to the sign-in screen."""
    user = current_user()
    if user is None:
        if st.button(t("account.sign_in"), icon=":material/login:", use_container_width=True, key="open_sign_in"):
            st.session_state[WANTS_ACCOUNT] = True
            st.rerun()
        return
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.markdown(f"👤 **{user.name}**")
    signed_out = right.button(t("account.sign_out"), key="sign_out", type="tertiary", help=t("account.sign_out_help"))
    st.caption(t("sidebar.workspace", name=services().tenants.find(user.tenant_id).name))
    if signed_out:
        try:
            services().users.logout(st.session_state.get(TOKEN, ""))
        except AuthenticationFailed:
            pass  # already expired or signed out elsewhere: nothing left to revoke
        forget()
        st.rerun()
