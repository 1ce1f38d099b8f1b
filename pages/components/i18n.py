"""One catalog for every UI label, in English and Simplified Chinese.

The catalog is assets/i18n/*.toml (one file per page, each with [en] and [zh] tables),
merged into one dictionary; a key defined twice is an error.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import streamlit as st

CATALOG_DIR = Path(__file__).resolve().parents[2] / "assets" / "i18n"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(CATALOG_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for lang in LANGUAGES:
            for key, text in data.get(lang, {}).items():
                if key in merged[lang]:
                    raise ValueError(f"i18n key '{key}' is defined twice ({path.name})")
                merged[lang][key] = text
    return merged


def language() -> str:
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """The label for `key` in the current language; `{name}` placeholders are filled from `values`.

    A count `n == 1` picks the `<key>.one` variant when the language has one ("1 chunk").
    """
    texts = catalog()
    if values.get("n") == 1 and f"{key}.one" in texts.get(language(), {}):
        key = f"{key}.one"
    text = texts.get(language(), {}).get(key) or texts[DEFAULT_LANGUAGE].get(key) or key
    return text.format(**values) if values else text
