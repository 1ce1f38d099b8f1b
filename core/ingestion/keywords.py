"""Keyword extraction per chunk (shown on chunk cards, boosted in full-text search)."""

from __future__ import annotations

import math
import re
from collections import Counter

from core.text import CHINESE_STOPWORDS, english_stopwords, has_cjk, jieba_module, search_tokens

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NUMBERISH = re.compile(r"^[\d.,]+$")


def _chinese_keywords(text: str, top_k: int) -> list[str]:
    """jieba's TF-IDF (its bundled IDF table), keeping only Chinese words worth showing."""
    jieba_module()  # quiet, initialised once
    import jieba.analyse

    tags = jieba.analyse.extract_tags(text, topK=top_k * 4)
    # Words jieba's HMM invented from fragments across word boundaries ("职满", "多十天") are
    # not in its dictionary; they read as noise on a chunk card.
    known = jieba.dt.FREQ
    out = [t for t in tags if has_cjk(t) and known.get(t) and t not in CHINESE_STOPWORDS
           and not _NUMBERISH.match(t)]
    return out[:top_k]


def _english_terms(text: str) -> list[str]:
    stop = english_stopwords()
    return [
        t
        for t in search_tokens(text)
        if len(t) >= 3 and not has_cjk(t) and t not in stop and not _NUMBERISH.match(t)
    ]


def _english_keywords(terms: list[list[str]], top_k: int) -> list[list[str]]:
    """TF-IDF where document frequency counts the given texts (the chunks of one document),
    so words that appear in every chunk (the product name, say) rank below distinctive ones."""
    n = len(terms)
    df: Counter[str] = Counter()
    for ts in terms:
        df.update(set(ts))
    out = []
    for ts in terms:
        if not ts:
            out.append([])
            continue
        tf = Counter(ts)
        first = {}
        for i, t in enumerate(ts):
            first.setdefault(t, i)
        score = {t: (c / len(ts)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in tf.items()}
        # Ties resolve by first occurrence: deterministic and favours words from the start.
        ranked = sorted(score, key=lambda t: (-score[t], first[t]))
        out.append(ranked[:top_k])
    return out


def _interleave(first: list[str], second: list[str], top_k: int) -> list[str]:
    merged: list[str] = []
    for i in range(max(len(first), len(second))):
        for source in (first, second):
            if i < len(source) and source[i] not in merged:
                merged.append(source[i])
    return merged[:top_k]


def extract_keywords(texts: list[str], top_k: int = 5) -> list[list[str]]:
    """One keyword list (at most `top_k`, best first) per text. Deterministic."""
    if top_k <= 0:
        return [[] for _ in texts]
    en_terms = [_english_terms(t) for t in texts]
    en_keywords = _english_keywords(en_terms, top_k)
    result = []
    for text, terms, en in zip(texts, en_terms, en_keywords):
        if not has_cjk(text):
            result.append(en)
            continue
        zh = _chinese_keywords(text, top_k)
        # Mixed text: alternate, starting with the language that has more words here.
        han_chars = len(_HAN_RUN.findall(text))
        result.append(_interleave(zh, en, top_k) if han_chars >= len(terms) else _interleave(en, zh, top_k))
    return result
