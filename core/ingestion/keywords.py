"""Keyword extraction per chunk (shown on chunk cards, boosted in full-text search)."""

from __future__ import annotations

import math
import re
from collections import Counter

from core.text import CHINESE_STOPWORDS, english_stopwords, has_cjk, jieba_module, search_tokens

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NUMBERISH = re.compile(r"^[\d.,]+$")

# Words that say little about what a chunk is about, though search keeps them: units of time, quantities,
# modal and everyday verbs, fillers ("days", "within", "time" were shown as keywords).
KEYWORD_NOISE_EN = frozenset("""
    day week month year hour minute second time today date daily weekly monthly yearly annual
    one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand
    first second third last next per each every full half many much more less least several
    within without also may might must can could shall should will would need get make made use used come
    take give keep kept receive include including cover cost allow require required
    new old etc via upon thing way lot number part case example following available able well just still even
    however therefore thus always never often usually
""".split())
KEYWORD_NOISE_ZH = frozenset("""
    时间 时候 每年 每月 每周 每天 每次 每位 每个 小时 分钟 工作日 工作日内 以上 以下 以内 之前 之后 左右 最多 最少
    最长 最短 至少 默认 需要 可以 应该 必须 进行 使用 提供 包括 根据 相关 情况 问题 方面 其他 其中 提前 附上 本店 对于 以及
""".split())
# Chinese numbers with a unit: 十五天, 三十天, 两小时, 五千元, 九五 (facts, but no topic).
_ZH_QUANTITY = re.compile(r"^[零一二两三四五六七八九十百千万亿半多几每第]+[天年月日周个次点分秒元倍位号岁份折半]*$")


def _chinese_keywords(text: str, top_k: int) -> list[str]:
    """jieba's TF-IDF (its bundled IDF table), keeping only Chinese words worth showing."""
    jieba_module()  # quiet, initialised once
    import jieba.analyse

    tags = jieba.analyse.extract_tags(text, topK=top_k * 4)
    # Words jieba's HMM invented from fragments across word boundaries ("职满", "多十天") are
    # not in its dictionary; they read as noise on a chunk card.
    known = jieba.dt.FREQ
    out = [t for t in tags if has_cjk(t) and known.get(t) and t not in CHINESE_STOPWORDS
           and t not in KEYWORD_NOISE_ZH and not _ZH_QUANTITY.match(t) and not _NUMBERISH.match(t)]
    return out[:top_k]


def _noise(word: str) -> bool:
    return word in KEYWORD_NOISE_EN or (word.endswith("s") and word[:-1] in KEYWORD_NOISE_EN)


def _english_terms(text: str) -> list[str]:
    stop = english_stopwords()
    return [
        t
        for t in search_tokens(text)
        if len(t) >= 3 and not has_cjk(t) and t not in stop and not _NUMBERISH.match(t) and not _noise(t)
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
