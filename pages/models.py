"""Models: the workspace's LLM, embedding, rerank, speech-to-text and text-to-speech configs: add, edit, test,
check, set default, delete.

API keys only ever appear masked (api_key_masked); a key from the process environment is never shown.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import streamlit as st

from core.model_configs import MODEL_TYPES, ModelConfigInfo
from pages.components.common import attempt, flash, fmt_time, page_header, services, show_flash, tenant
from pages.components.i18n import t
from pages.components.model_form import model_form, reset_form

TYPE_ICONS = {"llm": "💬", "embedding": "🧬", "rerank": "🔀", "stt": "🎙️", "tts": "🔊"}
STATUS_COLORS = {"ok": "green", "error": "red", "unknown": "gray", "checking": "blue"}
STATUS_ICONS = {"ok": ":material/check_circle:", "error": ":material/error:", "unknown": ":material/help:",
                "checking": ":material/pending:"}
MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#<>|$~"})


def md(text: str) -> str:
    """User text shown as literal markdown."""
    return text.translate(MARKDOWN_SPECIAL)


def code(text: str) -> str:
    """User text as inline code (backslash escapes would show literally there)."""
    return f"`{text.replace('`', '')}`"


def safe_url(url: str | None) -> str:
    """A base URL without any user:password@ part."""
    if not url:
        return "https://api.openai.com/v1"
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=host).geturl()
    return url


def open_form(target: str, type_: str = "llm") -> None:
    st.session_state["models_form"] = target
    st.session_state["models_form_type"] = type_
    st.session_state.pop("models_deleting", None)


# --- banners ----------------------------------------------------------------------------------


def env_llm() -> bool:
    return bool(os.environ.get("OPENAI_API_KEY", "").strip() or os.environ.get("OPENAI_BASE_URL", "").strip())


def llm_banners() -> bool:
    """Where chat answers come from: the environment, a saved LLM, or nobody (retrieval-only).

    True when the retrieval-only banner was shown.
    """
    spec = attempt(lambda: services().models.llm_spec(tenant()))
    if env_llm() and spec is not None:
        has_key = bool(os.environ.get("OPENAI_API_KEY", "").strip())
        st.info(t("models.env_banner", model=md(spec.model), url=code(safe_url(spec.base_url)),
                  auth=t("models.env_key_set") if has_key else t("models.env_key_unset")), icon="🖥️")
    elif spec is None and services().models.list(tenant(), "llm"):
        st.warning(f"**{t('models.no_default_title')}**  \n{t('models.no_default_body')}", icon="⭐")
        return True
    elif spec is None:
        with st.container(border=True):
            st.warning(f"**{t('models.no_llm_title')}**  \n{t('models.no_llm_body')}", icon="💡")
            st.button(t("models.add_llm"), type="primary", icon=":material/add:", key="models_add_llm_banner",
                      on_click=open_form, args=("new", "llm"))
        return True
    return False


# --- cards ------------------------------------------------------------------------------------


def start_delete(model_id: str) -> None:
    st.session_state["models_deleting"] = model_id


def cancel_delete() -> None:
    st.session_state.pop("models_deleting", None)


def check_model(m: ModelConfigInfo) -> None:
    with st.spinner(t("models.checking", name=m.name)):
        checked = attempt(lambda: services().models.check(tenant(), m.id))
    if checked is not None:
        flash(t("models.checked_ok", name=m.name) if checked.status == "ok" else t("models.checked_error", name=m.name))
        st.rerun()


def set_default(m: ModelConfigInfo) -> None:
    if attempt(lambda: services().models.set_default(tenant(), m.id)):
        flash(t("models.default_set", name=m.name, type=t(f"models.type.{m.type}")))
        st.rerun()


def users_of(m: ModelConfigInfo) -> list[str]:
    """Assistants that name this model explicitly (they fall back to the default when it goes)."""
    if m.type != "llm":
        return []
    page = attempt(lambda: services().assistants.list(tenant(), page_size=1000))
    return [a.name for a in (page.items if page else []) if a.llm.model_id == m.id]


def delete_confirmation(m: ModelConfigInfo) -> None:
    with st.container(border=True):
        st.markdown(f"**:red[:material/warning: {t('models.delete_title', name=md(m.name))}]**")
        notes = [t("models.delete_warning")]
        if m.is_default:
            notes.append(t("models.delete_default"))
        users = users_of(m)
        if users:
            notes.append(t("models.delete_users", names=", ".join(md(u) for u in users)))
        st.caption("  \n".join(notes))
        with st.container(horizontal=True, gap="small"):
            confirmed = st.button(t("models.delete_confirm"), type="primary", icon=":material/delete_forever:",
                                  key=f"models_del_go_{m.id}")
            st.button(t("common.cancel"), key=f"models_del_cancel_{m.id}", on_click=cancel_delete)
    if confirmed and attempt(lambda: services().models.delete(tenant(), m.id) or True):
        cancel_delete()
        flash(t("models.deleted", name=m.name))
        st.rerun()


def params_text(params: dict) -> str:
    parts = []
    for name, value in params.items():
        label = t(f"models.param.{name}") if name in ("max_tokens", "dimension", "timeout", "max_retries") else name
        shown = f"{value:g}" if isinstance(value, float) else f"{value}"
        parts.append(f"{md(label)}: **{md(shown)}**")
    return " · ".join(parts)


def status_line(m: ModelConfigInfo) -> None:
    badge = f":{STATUS_COLORS.get(m.status, 'gray')}-badge[{STATUS_ICONS.get(m.status, '')} " \
            f"{t('models.status.' + m.status)}]"
    if m.status == "unknown" or m.checked_at is None:
        st.markdown(f"{badge} :gray[{t('models.never_checked')}]")
        return
    color = {"ok": "green", "checking": "blue"}.get(m.status, "red")
    st.markdown(f"{badge} :{color}[{md(m.status_message)}]  \n"
                f":gray[:material/schedule: {t('models.checked_at', time=fmt_time(m.checked_at))}]")


def model_card(m: ModelConfigInfo, env_overrides: bool) -> None:
    with st.container(border=True):
        head, actions = st.columns([1, 1], vertical_alignment="top")
        with head:
            badges = ""
            if m.is_default:
                badges = f" :blue-badge[:material/star: {t('models.default')}]"
                if env_overrides:
                    badges += f" :orange-badge[{t('models.env_overrides')}]"
            st.markdown(f"#### {md(m.name)}{badges}")
        with actions, st.container(horizontal=True, horizontal_alignment="right", gap="small"):
            check = st.button(t("models.check"), icon=":material/network_check:", key=f"models_check_{m.id}",
                              help=t("models.check_help"))
            make_default = not m.is_default and st.button(t("models.set_default"), icon=":material/star:",
                                                          key=f"models_default_{m.id}")
            st.button(t("common.edit"), icon=":material/edit:", key=f"models_edit_{m.id}",
                      on_click=open_form, args=(m.id, m.type))
            st.button(t("common.delete"), icon=":material/delete:", key=f"models_delete_{m.id}",
                      on_click=start_delete, args=(m.id,))
        cols = st.columns(4)
        cols[0].markdown(f":gray[{t('models.form.provider')}]  \n{t('models.provider.' + m.provider)}")
        cols[1].markdown(f":gray[{t('models.form.model')}]  \n{code(m.model)}")
        if m.provider == "openai":
            cols[2].markdown(f":gray[{t('models.form.base_url')}]  \n{code(safe_url(m.base_url))}")
            key_text = code(m.api_key_masked) if m.has_api_key else f":gray[{t('models.no_key')}]"
            cols[3].markdown(f":gray[{t('models.form.api_key')}]  \n{key_text}")
        if m.params:
            st.markdown(f":gray[{t('models.form.params')}:] {params_text(m.params)}")
        status_line(m)
        if check:
            check_model(m)
        if make_default:
            set_default(m)
        if st.session_state.get("models_deleting") == m.id:
            delete_confirmation(m)


# --- page -------------------------------------------------------------------------------------


def group(type_: str, models: list[ModelConfigInfo], env_overrides: bool) -> None:
    title, add = st.columns([3, 1], vertical_alignment="bottom")
    title.subheader(f"{TYPE_ICONS[type_]} {t(f'models.type.{type_}')}  :gray-badge[{len(models)}]")
    add.button(t(f"models.add.{type_}"), icon=":material/add:",
               use_container_width=True, key=f"models_add_{type_}", on_click=open_form, args=("new", type_))
    st.caption(t(f"models.type.{type_}_caption"))
    if not models:
        st.markdown(f":gray[{t(f'models.empty.{type_}')}]")
    for m in models:
        model_card(m, env_overrides and type_ == "llm")


def form_view(target: str) -> None:
    model = None
    if target != "new":
        model = attempt(lambda: services().models.get(tenant(), target))
        if model is None:
            st.session_state.pop("models_form", None)
            return
    if st.button(t("models.back"), icon=":material/arrow_back:", key="models_back"):
        reset_form(target)
        st.session_state.pop("models_form", None)
        st.rerun()
    saved = model_form(model, st.session_state.get("models_form_type", "llm"))
    if saved:
        reset_form(target)
        st.session_state.pop("models_form", None)
        flash(t("models.saved", name=saved.name) if model else t("models.added", name=saved.name))
        st.rerun()


def list_view() -> None:
    models = attempt(lambda: services().models.list(tenant())) or []
    if not llm_banners() and not models:  # the no-LLM banner already says what to do first
        st.info(t("models.empty"), icon="🧠")
    by_type = {ty: [m for m in models if m.type == ty] for ty in MODEL_TYPES}
    for type_ in MODEL_TYPES:
        group(type_, by_type[type_], env_llm())


page_header(f"🧠 {t('models.title')}", t("models.caption"))
show_flash()
if services().visitors.settings_read_only():
    st.info(t("demo.models_read_only"), icon="🔒")
if st.session_state.get("models_form"):
    form_view(st.session_state["models_form"])
else:
    list_view()
