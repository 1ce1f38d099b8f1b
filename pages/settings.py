"""Settings: the workspace's API keys (create, shown once, revoke) and its users (add, remove)."""

from __future__ import annotations

import streamlit as st

from core.tenants import DEFAULT_TENANT_ID
from pages.components.common import (
    attempt,
    current_user,
    flash,
    fmt_time,
    page_header,
    services,
    show_flash,
    tenant,
)
from pages.components.i18n import t

NEW_KEY = "settings_new_key"  # the key just created: shown until dismissed, never again


def workspace_box() -> None:
    svc = services()
    cols = st.columns(3)
    cols[0].metric(t("settings.workspace"), svc.tenants.find(tenant()).name)
    cols[1].metric(t("settings.users"), len(svc.users.list(tenant())))
    cols[2].metric(t("settings.keys"), len(svc.tenants.list_keys(tenant())))
    st.caption(t("settings.workspace_id", id=tenant()))


def api_keys() -> None:
    svc = services()
    st.subheader(f"🔑 {t('settings.keys')}")
    st.caption(t("settings.keys_caption"))
    if new := st.session_state.get(NEW_KEY):
        with st.container(border=True):
            st.warning(t("settings.key_once"), icon="⚠️")
            st.code(new, language=None)
            if st.button(t("settings.key_copied"), key="dismiss_key"):
                st.session_state.pop(NEW_KEY)
                st.rerun()
    with st.form("new_key", clear_on_submit=True):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input(t("settings.key_name"), max_chars=100, placeholder=t("settings.key_name_hint"))
        if right.form_submit_button(t("settings.key_create"), type="primary", use_container_width=True):
            key = attempt(lambda: svc.tenants.create_api_key(tenant(), name.strip()))
            if key:
                st.session_state[NEW_KEY] = key
                st.rerun()
    keys = svc.tenants.list_keys(tenant())
    if not keys:
        st.caption(t("settings.no_keys"))
    for k in keys:
        cols = st.columns([3, 3, 3, 3, 2], vertical_alignment="center")
        cols[0].markdown(f"**{k.name or '—'}**")
        cols[1].code(f"{k.prefix}…", language=None)
        cols[2].caption(t("settings.created", time=fmt_time(k.created_at)))
        cols[3].caption(t("settings.last_used", time=fmt_time(k.last_used_at)))
        with cols[4].popover(t("settings.revoke"), icon=":material/block:", use_container_width=True):
            st.write(t("settings.revoke_confirm", prefix=k.prefix))
            if st.button(t("settings.revoke"), key=f"revoke_{k.id}", type="primary"):
                if attempt(lambda k=k: svc.tenants.revoke_key(tenant(), k.id)):
                    flash(t("settings.revoked", prefix=k.prefix))
                    st.rerun()


def can_manage_users() -> bool:
    me = current_user()
    return me is None or me.tenant_id == DEFAULT_TENANT_ID or me.role == "owner"


def users() -> None:
    svc = services()
    me = current_user()
    st.subheader(f"👥 {t('settings.users')}")
    st.caption(t("settings.signup_open") if svc.settings.signup_open else t("settings.signup_closed"))
    people = svc.users.list(tenant())
    if not people:
        st.info(t("settings.no_users"), icon="👤")
    for u in people:
        cols = st.columns([3, 2, 3, 3, 2], vertical_alignment="center")
        you = f" · {t('settings.you')}" if me and me.id == u.id else ""
        cols[0].markdown(f"**{u.name}**{you}  \n:gray[{u.email or '—'}]")
        cols[1].markdown(f":blue-badge[{t('settings.role.' + u.role)}]")
        cols[2].caption(t("settings.created", time=fmt_time(u.created_at)))
        cols[3].caption(t("settings.last_sign_in", time=fmt_time(u.last_login_at)))
        if can_manage_users() and not (me and me.id == u.id):
            with cols[4].popover(t("settings.remove"), icon=":material/person_remove:", use_container_width=True):
                st.write(t("settings.remove_confirm", name=u.name))
                if st.button(t("settings.remove"), key=f"remove_{u.id}", type="primary"):
                    if attempt(lambda u=u: svc.users.remove(me, tenant(), u.id)) is None:
                        flash(t("settings.removed", name=u.name))
                        st.rerun()
    if can_manage_users():
        add_user_form()


def add_user_form() -> None:
    with st.expander(t("settings.add_user"), icon=":material/person_add:", expanded=False):
        if current_user() is None:
            st.caption(t("settings.first_user_note"))
        with st.form("add_user", clear_on_submit=True):
            name = st.text_input(t("account.name"), max_chars=20, help=t("account.name_help"))
            email = st.text_input(t("account.email"))
            password = st.text_input(t("login.password"), type="password")
            role = st.selectbox(t("settings.role"), ["member", "owner"], format_func=lambda r: t(f"settings.role.{r}"))
            if st.form_submit_button(t("settings.add_user"), type="primary"):
                added = attempt(lambda: services().users.add(current_user(), tenant(), name, password, email=email,
                                                             role=role))
                if added:
                    flash(t("settings.added", name=added.name))
                    st.rerun()


show_flash()
page_header(t("settings.title"), t("settings.caption"))
workspace_box()
api_keys()
st.divider()
users()
