"""The admin UI's language: the session's choice (kept in a cookie across reloads) over the shared catalog
(core/i18n.py)."""

from __future__ import annotations

import streamlit as st

from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, pick_language, translate

__all__ = ["LANGUAGES", "initial_language", "language", "remember_language", "t", "write_language_cookie"]
COOKIE = "almanac_lang"  # the admin UI's language, kept by the browser across reloads and visits


def language() -> str:
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """The label for `key` in the session's language (see core.i18n.translate)."""
    return translate(language(), key, **values)


def initial_language() -> str:
    """A new session's language: ?lang= in the address, else the one chosen before (cookie), else the browser's."""
    cookie = st.context.cookies.get(COOKIE) if st.context.cookies else None
    return pick_language(st.query_params.get("lang"), cookie, st.context.locale)


def remember_language() -> None:
    """Widget callback: the browser keeps the chosen language for a year (the cookie is written on this run)."""
    st.session_state["lang_to_remember"] = st.session_state.get("lang", DEFAULT_LANGUAGE)


def write_language_cookie() -> None:
    lang = st.session_state.pop("lang_to_remember", None)
    if lang in LANGUAGES:
        st.html(f"<script>document.cookie = '{COOKIE}={lang}; path=/; max-age=31536000; samesite=lax';</script>",
                unsafe_allow_javascript=True)
