"""Languages of questions and passages, told apart by their script: no model, no download.

Han is Chinese, kana Japanese, Hangul Korean, Cyrillic Russian, Arabic script Arabic, and Latin
letters English (the script cannot tell English from French; list such languages explicitly).
A knowledge base's query languages are "auto" (the languages found in its chunks) or a list of codes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

AUTO = "auto"
LANGUAGES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French", "de": "German",
             "es": "Spanish", "pt": "Portuguese", "it": "Italian", "ru": "Russian", "ar": "Arabic",
             "vi": "Vietnamese"}
_ALIASES = {"zh-cn": "zh", "zh-hans": "zh", "zh-tw": "zh", "zh-hant": "zh", "zh-hk": "zh", "en-us": "en",
            "en-gb": "en", "chinese simplified": "zh", "simplified chinese": "zh", "traditional chinese": "zh",
            "中文": "zh", "简体中文": "zh", "英文": "en", "英语": "en", "日文": "ja", "日语": "ja",
            "韩文": "ko", "韩语": "ko"}
_NAMES = {name.casefold(): code for code, name in LANGUAGES.items()}
# One Han (or kana, Hangul) character carries about as much as a Latin word of three letters.
_SCRIPTS = (("ja", re.compile(r"[\u3040-\u30ff]"), 3), ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"), 3),
            ("zh", re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"), 3),
            ("ru", re.compile(r"[\u0400-\u04ff]"), 1), ("ar", re.compile(r"[\u0600-\u06ff]"), 1),
            ("en", re.compile(r"[A-Za-z\u00c0-\u024f]"), 1))
SAMPLE_CHARS = 400  # of each chunk, when finding a knowledge base's languages


def parse_languages(values: Iterable[str] | str | None) -> list[str]:
    """Codes from codes or names ("zh", "Chinese", "zh-CN", "中文"), or ["auto"]; ValueError names a wrong one."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\s]+", values) if v] if values.strip().casefold() != AUTO else [AUTO]
    codes: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"a language must be a name or a code, got {value!r}")
        v = value.strip().casefold().replace("_", "-")
        code = AUTO if v == AUTO else v if v in LANGUAGES else _NAMES.get(v) or _ALIASES.get(v) \
            or (v.split("-")[0] if v.split("-")[0] in LANGUAGES else None)
        if code is None:
            raise ValueError(f"unknown language '{value}' (known: auto, {', '.join(LANGUAGES)})")
        codes.append(code)
    codes = list(dict.fromkeys(codes))
    if AUTO in codes and len(codes) > 1:
        raise ValueError("'auto' already means every language of the knowledge base; give it alone")
    return codes


def detect(text: str) -> str | None:
    """The language of `text` by its dominant script; None when it has no letters."""
    best, weight = None, 0
    for code, pattern, per_char in _SCRIPTS:
        w = len(pattern.findall(text)) * per_char
        if w > weight:
            best, weight = code, w
    if best == "zh" and _SCRIPTS[0][1].search(text):  # Japanese writes Han with kana
        return "ja"
    return best


def languages_of(texts: Iterable[str], min_share: float = 0.02) -> set[str]:
    """The languages of a sample of passages: each one that is the main language of at least 2 % of them."""
    counts = Counter(lang for text in texts if (lang := detect(text[:SAMPLE_CHARS])))
    total = sum(counts.values())
    return {lang for lang, n in counts.items() if n >= max(1.0, min_share * total)}


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
