"""The UI text catalog, in English and Simplified Chinese, for every face (admin UI, public chat page).

The catalog is assets/i18n/*.toml (one file per page, each with [en] and [zh] tables), merged into one
dictionary; a key defined twice is an error. No web framework here: pages/components/i18n.py adds the admin
UI's current language, the public chat page passes the visitor's.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parents[1] / "assets" / "i18n"
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


def translate(lang: str, key: str, **values: object) -> str:
    """The label for `key` in `lang` (English when missing); `{name}` placeholders are filled from `values`.

    A count `n == 1` picks the `<key>.one` variant when the language has one ("1 chunk").
    """
    texts = catalog()
    if values.get("n") == 1 and f"{key}.one" in texts.get(lang, {}):
        key = f"{key}.one"
    text = texts.get(lang, {}).get(key) or texts[DEFAULT_LANGUAGE].get(key) or key
    return text.format(**values) if values else text


def pick_language(*preferences: str | None) -> str:
    """The first supported language among preferences such as "zh-CN", "en-US,en;q=0.9" or "zh"."""
    for preference in preferences:
        for tag in (preference or "").replace(";", ",").split(","):
            code = tag.strip().lower().split("-")[0].split("_")[0]
            if code in LANGUAGES:
                return code
    return DEFAULT_LANGUAGE
