"""Optional text clean-up applied between reading and splitting."""

from __future__ import annotations

import re

from core.errors import InvalidInput

PREPROCESS_RULES: tuple[str, ...] = ("remove_extra_space", "remove_url_and_email")

# Markdown links/images pointing at a URL keep their visible text: "[docs](https://x)" -> "docs".
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*(?:https?://|www\.)[^)\s]*(?:\s+\"[^\"]*\")?\s*\)", re.I)
# Stop at whitespace, quotes, brackets and CJK punctuation; trailing ASCII punctuation is
# trimmed afterwards so "see https://x.org/a." keeps its full stop.
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`，。；！？、（）【】《》「」]+", re.I)
_URL_TAIL = re.compile(r"[.,;:!?)\]}]+$")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _remove_extra_space(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    # Whitespace-only lines became empty above, so paragraph breaks are runs of "\n".
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _remove_url_and_email(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)

    def drop_url(m: re.Match[str]) -> str:
        tail = _URL_TAIL.search(m.group(0))
        return tail.group(0) if tail else ""

    text = _URL.sub(drop_url, text)
    return _EMAIL.sub("", text)


_RULES = {
    "remove_url_and_email": _remove_url_and_email,
    "remove_extra_space": _remove_extra_space,
}


def validate_rules(rules: list[str]) -> None:
    for rule in rules:
        if rule not in _RULES:
            raise InvalidInput(
                f"Unknown preprocessing rule '{rule}' (valid rules: {', '.join(PREPROCESS_RULES)})"
            )


def clean(text: str, rules: list[str]) -> str:
    """Apply `rules` to `text`.

    Rules run in a fixed order (URL/e-mail removal before space collapsing) whatever order
    they were given in, because removing a URL leaves a double space behind.
    """
    validate_rules(rules)
    for name, fn in _RULES.items():
        if name in rules:
            text = fn(text)
    return text
