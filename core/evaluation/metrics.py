"""Evaluation metrics: which retrieved chunks are relevant, how well they are ranked, how close an answer is.

Relevance contract (what `Judgement` decides):
- A question names *targets*: its `relevant_text` passages when it has any, else its `relevant_docs`.
- A chunk matches a text target when it contains the passage, ignoring whitespace; when the question also
  names documents, only chunks of those documents count (the documents say where the passage must be).
- A chunk matches a document target when it belongs to that document (by id, or by name ignoring case).
- A chunk is *relevant* when it matches at least one target.

Retrieval metrics of one question, over its ranked hits (rank 1 first), with binary gains:
- precision@k = relevant chunks in the top k / k
- recall@k    = targets matched by some chunk in the top k / number of targets
- hit@k       = 1 when a relevant chunk is in the top k, else 0
- MRR         = 1 / rank of the first relevant chunk (0 when none was retrieved)
- MAP         = average precision: a chunk counts as a new find when it matches a target that no
                higher-ranked chunk matched; AP = sum over new finds at rank i of (new finds up to i) / i,
                divided by the number of targets. A second chunk of the same passage finds nothing new.
- nDCG@k      = DCG@k / IDCG@k with gain 1 for each new find, DCG = sum gain_i / log2(i + 1), and the
                ideal ranking putting min(targets, k) new finds first.
A run's metric is the mean over its questions.

Generation metrics of one answer against its reference, both split into words by `core.text.words`
(Chinese through jieba): BLEU-1/2/4 (NLTK's sentence BLEU, uniform weights, smoothing method 1 so a
missing 4-gram does not zero a short answer) and ROUGE-1/2/L F1 (Google's rouge-score with those words).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.text import words

_SPACE = re.compile(r"\s+")
CUTOFFS = (1, 3, 5, 10)
RETRIEVAL_KEYS = ("mrr", "map", "ndcg@3", "ndcg@10")
GENERATION_KEYS = ("bleu1", "bleu2", "bleu4", "rouge1", "rouge2", "rougel")


def squash(text: str) -> str:
    """Text without whitespace: a passage matches however the splitter wrapped or indented it."""
    return _SPACE.sub("", text or "")


@dataclass(frozen=True)
class Judgement:
    docs: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()

    @property
    def targets(self) -> int:
        return len(self.texts) or len(self.docs)

    def _in_docs(self, doc_id: str, doc_name: str) -> list[int]:
        name = (doc_name or "").casefold()
        return [i for i, d in enumerate(self.docs) if d == doc_id or d.casefold() == name]

    def matches(self, doc_id: str, doc_name: str, content: str) -> list[int]:
        """The targets (by index) this chunk matches."""
        in_docs = self._in_docs(doc_id, doc_name)
        if not self.texts:
            return in_docs
        if self.docs and not in_docs:
            return []
        body = squash(content)
        return [i for i, text in enumerate(self.texts) if squash(text) and squash(text) in body]


def cutoffs(top_k: int) -> list[int]:
    """The k of precision@k, recall@k and hit@k that a run with this top_k reports."""
    return sorted({k for k in CUTOFFS if k <= top_k} | {top_k})


def _new_finds(matched: Sequence[Sequence[int]]) -> list[int]:
    seen: set[int] = set()
    gains = []
    for targets in matched:
        fresh = set(targets) - seen
        gains.append(1 if fresh else 0)
        seen |= fresh
    return gains


def ndcg(matched: Sequence[Sequence[int]], n_targets: int, k: int) -> float:
    if n_targets <= 0:
        return 0.0
    gains = _new_finds(matched)[:k]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(n_targets, k)))
    return dcg / ideal


def average_precision(matched: Sequence[Sequence[int]], n_targets: int) -> float:
    if n_targets <= 0:
        return 0.0
    total, found = 0.0, 0
    for i, gain in enumerate(_new_finds(matched), start=1):
        if gain:
            found += 1
            total += found / i
    return total / n_targets


def retrieval_metrics(matched: Sequence[Sequence[int]], n_targets: int, top_k: int) -> dict[str, float]:
    """One question's retrieval metrics from the targets each ranked hit matched (`matched[0]` = rank 1)."""
    relevant = [bool(m) for m in matched]
    first = next((i for i, r in enumerate(relevant, start=1) if r), None)
    out: dict[str, float] = {
        "mrr": 1.0 / first if first else 0.0,
        "map": average_precision(matched, n_targets),
        "ndcg@3": ndcg(matched, n_targets, 3),
        "ndcg@10": ndcg(matched, n_targets, 10),
    }
    for k in cutoffs(top_k):
        found = set().union(*matched[:k]) if matched[:k] else set()
        out[f"precision@{k}"] = sum(relevant[:k]) / k
        out[f"recall@{k}"] = len(found) / n_targets if n_targets else 0.0
        out[f"hit@{k}"] = 1.0 if any(relevant[:k]) else 0.0
    return out


# ------------------------------------------------------------------------------ generation
class _WordTokenizer:
    """rouge-score's tokenizer interface over our Chinese-aware words."""

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return words(text)


@lru_cache(maxsize=1)
def _rouge():  # noqa: ANN202 - a RougeScorer; built once (it is stateless)
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_WordTokenizer())


def bleu(reference: list[str], hypothesis: list[str], n: int) -> float:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    if not reference or not hypothesis:
        return 0.0
    weights = tuple([1.0 / n] * n)
    return float(sentence_bleu([reference], hypothesis, weights=weights,
                               smoothing_function=SmoothingFunction().method1))


def generation_metrics(answer: str, reference: str) -> dict[str, float]:
    """BLEU-1/2/4 and ROUGE-1/2/L F1 of an answer against a reference answer."""
    ref, hyp = words(reference), words(answer)
    rouge = _rouge().score(reference, answer) if ref and hyp else {}
    return {
        "bleu1": bleu(ref, hyp, 1), "bleu2": bleu(ref, hyp, 2), "bleu4": bleu(ref, hyp, 4),
        "rouge1": rouge["rouge1"].fmeasure if rouge else 0.0,
        "rouge2": rouge["rouge2"].fmeasure if rouge else 0.0,
        "rougel": rouge["rougeL"].fmeasure if rouge else 0.0,
    }


def mean_metrics(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-key mean over the questions that have the key."""
    keys = dict.fromkeys(k for row in rows for k in row)
    return {k: sum(r[k] for r in rows if k in r) / sum(1 for r in rows if k in r) for k in keys}
