"""Glossary suggestions from a knowledge base's own text: where its authors wrote a term in both scripts.

Recognised: a term with its translation in brackets (分片上传（Multipart Upload）, Tenant（租户）), a heading
that carries both ("## 租户管理 Tenant Management"), a term and its translation around a slash (租户 / tenant),
and a table row with exactly one Chinese and one English cell (a bilingual term list). The Chinese side of
"……创建数据集（dataset）" is cut to as many words as the English side has (jieba), so it is the term and
not the clause before it. Suggestions are only offered: the user accepts them into the glossary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.text import CHINESE_STOPWORDS, english_stopwords, jieba_module

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = r"[A-Za-z][A-Za-z0-9_.\-]*"
_LATIN = rf"{_WORD}(?:[ \-]{_WORD}){{0,4}}"
_OPEN, _CLOSE = r"[（(]", r"[)）]"
_BRACKETED_LATIN = re.compile(rf"(?P<han>[{_HAN}]{{1,30}})\s*{_OPEN}\s*(?P<latin>{_LATIN})\s*{_CLOSE}")
_BRACKETED_HAN = re.compile(rf"(?P<latin>{_LATIN})\s*{_OPEN}\s*(?P<han>[{_HAN}]{{1,8}})\s*{_CLOSE}")
_SLASH = re.compile(rf"(?P<han>[{_HAN}]{{1,12}})\s*/\s*(?P<latin>{_LATIN})(?![\w/])"
                    rf"|(?<![\w/])(?P<latin2>{_LATIN})\s*/\s*(?P<han2>[{_HAN}]{{1,12}})")
_TWO_WORDS = rf"{_WORD}(?:[ \-]{_WORD}){{1,4}}"  # a heading's English side: one word is too often a name (App 推送)
_HEADING = re.compile(rf"^#{{1,6}}\s*(?:(?P<han>[{_HAN}]{{2,16}})\s+(?P<latin>{_TWO_WORDS})"
                      rf"|(?P<latin2>{_TWO_WORDS})\s+(?P<han2>[{_HAN}]{{2,16}}))\s*$", re.M)
_PURE_HAN = re.compile(rf"[{_HAN}]{{1,12}}")
_PURE_LATIN = re.compile(_LATIN)
_RULE = re.compile(r"^\|?\s*:?-{3,}")  # a Markdown table's header rule
MAX_EXAMPLE = 80


@dataclass(frozen=True)
class Suggestion:
    term: str  # the Chinese side
    translation: str
    count: int  # how many times the text pairs them
    example: str  # where, first seen


def _han_words(text: str) -> list[str]:
    return [w for w in jieba_module().lcut(text) if w.strip()]


def _latin_words(text: str) -> list[str]:
    return re.split(r"[ \-]+", text.strip())


def _trim_han(han: str, latin: str) -> str:
    """The end of a Chinese run, as many words long as the English side (the run may hold a whole clause), and
    longer than one character a word: jieba cuts 数据集 into 数据 / 集."""
    words = _han_words(han)
    n = max(1, len(_latin_words(latin)))
    keep = min(len(words), n)
    while keep < len(words) and len("".join(words[-keep:])) <= n:
        keep += 1
    return "".join(words[-keep:])


def _trim_latin(latin: str, han: str, *, head: bool = False) -> str:
    """The end (or with `head` the start) of an English run, as many words as the Chinese side has, without a
    leading article."""
    words = _latin_words(latin)
    keep = max(1, min(len(words), len(_han_words(han))))
    words = words[:keep] if head else words[-keep:]
    stop = english_stopwords()
    while words and words[0].casefold() in stop:
        words = words[1:]
    return " ".join(words)


def _plausible(han: str, latin: str) -> bool:
    stop = english_stopwords()
    return (bool(han) and bool(latin) and han not in CHINESE_STOPWORDS and latin.casefold() not in stop
            and len(latin) >= 2 and not latin.isdigit())


def _table_pairs(text: str) -> Iterator[tuple[str, str, int]]:
    lines = text.splitlines()
    at = 0
    for i, line in enumerate(lines):
        at += len(line) + 1
        row = line.strip()
        header = i + 1 < len(lines) and _RULE.match(lines[i + 1].strip())
        if header or not (row.startswith("|") and row.endswith("|")) or _RULE.match(row):
            continue
        cells = [c.strip().strip("`*") for c in row[1:-1].split("|")]
        han = [c for c in cells if _PURE_HAN.fullmatch(c)]
        latin = [c for c in cells if _PURE_LATIN.fullmatch(c)]
        if len(han) == 1 and len(latin) == 1:
            yield han[0], latin[0], at - len(line) - 1


def _pairs(text: str) -> Iterator[tuple[str, str, int]]:
    """(Chinese, English, offset) for every place the text pairs a term with its translation."""
    for m in _BRACKETED_LATIN.finditer(text):
        yield _trim_han(m["han"], m["latin"]), m["latin"], m.start()
    for m in _BRACKETED_HAN.finditer(text):
        yield m["han"], _trim_latin(m["latin"], m["han"]), m.start()
    for m in _SLASH.finditer(text):
        if m["han"]:
            han = _trim_han(m["han"], m["latin"])
            yield han, _trim_latin(m["latin"], han, head=True), m.start()
        else:
            yield _trim_han(m["han2"], m["latin2"]), _trim_latin(m["latin2"], m["han2"]), m.start()
    for m in _HEADING.finditer(text):
        han, latin = (m["han"], m["latin"]) if m["han"] else (m["han2"], m["latin2"])
        yield han, latin, m.start()
    yield from _table_pairs(text)


def _display(latin: str) -> str:
    """Lower case, except acronyms and identifiers (API, SDK, page_size)."""
    return " ".join(w if (w.isupper() or "_" in w) else w.lower() for w in latin.split())


def mine(texts: Iterable[str]) -> list[Suggestion]:
    """Term pairs found in `texts`, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for text in texts:
        for han, latin, at in _pairs(text):
            latin = _display(latin)
            if not _plausible(han, latin):
                continue
            key = (han, latin)
            counts[key] += 1
            if key not in examples:
                snippet = " ".join(text[max(0, at - 20): at + MAX_EXAMPLE - 20].split())
                examples[key] = snippet
    order = sorted(counts, key=lambda k: -counts[k])  # stable: first seen first among equals
    return [Suggestion(term=han, translation=latin, count=counts[(han, latin)], example=examples[(han, latin)])
            for han, latin in order]
