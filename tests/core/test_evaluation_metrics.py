"""Every evaluation metric against values worked out by hand (the working is in the comments)."""

from __future__ import annotations

from math import exp, log2, sqrt

import pytest

from core.evaluation.metrics import Judgement, cutoffs, generation_metrics, mean_metrics, retrieval_metrics
from core.text import words

approx = pytest.approx


def test_a_passage_matches_whitespace_insensitively_and_within_the_named_documents():
    judge = Judgement(docs=("Refund.md",), texts=("within thirty\n days",))
    assert judge.targets == 1  # the passage is the target; the document only scopes it
    assert judge.matches("d1", "refund.md", "Return it   within thirty days of purchase.") == [0]  # name, any case
    assert judge.matches("d2", "other.md", "Return it within thirty days.") == []  # right text, wrong document
    assert judge.matches("d1", "refund.md", "Returns are free.") == []


def test_documents_alone_match_by_id_or_name():
    judge = Judgement(docs=("a.md", "doc-2"))
    assert judge.targets == 2
    assert judge.matches("x", "A.MD", "anything") == [0]
    assert judge.matches("doc-2", "b.md", "anything") == [1]
    assert judge.matches("y", "c.md", "anything") == []


def test_text_alone_matches_any_document():
    judge = Judgement(texts=("six hours", "35 euros"))
    assert judge.matches("d", "n", "at least six  hours of sun, 35 euros") == [0, 1]


def test_retrieval_metrics_by_hand():
    # Two targets. Ranks 1..5 match: nothing, target 0, target 0 again, target 1, nothing.
    m = retrieval_metrics([[], [0], [0], [1], []], n_targets=2, top_k=5)
    assert cutoffs(5) == [1, 3, 5]
    # precision@k: relevant chunks in the top k / k  -> 0/1, 2/3, 3/5
    assert (m["precision@1"], m["precision@3"], m["precision@5"]) == approx((0, 2 / 3, 3 / 5))
    # recall@k: targets found in the top k / 2  -> 0, {0} = 1/2, {0, 1} = 1
    assert (m["recall@1"], m["recall@3"], m["recall@5"]) == approx((0, 0.5, 1))
    assert (m["hit@1"], m["hit@3"], m["hit@5"]) == (0, 1, 1)
    assert m["mrr"] == approx(1 / 2)  # first relevant at rank 2
    # New finds at ranks 2 and 4 (rank 3 finds target 0 again): AP = (1/2 + 2/4) / 2
    assert m["map"] == approx(0.5)
    # nDCG@3: DCG = 1/log2(3) (rank 2); ideal = two finds at ranks 1, 2 = 1 + 1/log2(3)
    assert m["ndcg@3"] == approx((1 / log2(3)) / (1 + 1 / log2(3)))
    # nDCG@10: DCG adds rank 4: 1/log2(3) + 1/log2(5); the ideal is the same two finds
    assert m["ndcg@10"] == approx((1 / log2(3) + 1 / log2(5)) / (1 + 1 / log2(3)))


def test_a_perfect_and_an_empty_ranking():
    perfect = retrieval_metrics([[0], [], []], n_targets=1, top_k=3)
    assert perfect["mrr"] == perfect["map"] == perfect["ndcg@3"] == perfect["ndcg@10"] == 1.0
    assert perfect["precision@3"] == approx(1 / 3) and perfect["recall@1"] == 1.0
    empty = retrieval_metrics([], n_targets=1, top_k=3)
    assert set(empty.values()) == {0.0}


def test_a_single_target_found_at_rank_three_of_ten():
    m = retrieval_metrics([[], [], [0]] + [[]] * 7, n_targets=1, top_k=10)
    assert cutoffs(10) == [1, 3, 5, 10]
    assert m["mrr"] == approx(1 / 3) and m["map"] == approx(1 / 3)
    assert m["ndcg@3"] == m["ndcg@10"] == approx(1 / log2(4))  # 1/log2(3+1) over an ideal of 1
    assert (m["hit@1"], m["hit@3"], m["recall@10"], m["precision@10"]) == approx((0, 1, 1, 0.1))


def test_top_k_not_in_the_standard_cutoffs_is_reported_too():
    assert cutoffs(4) == [1, 3, 4] and cutoffs(1) == [1]
    assert "recall@4" in retrieval_metrics([[0]], 1, 4)


def test_bleu_and_rouge_in_english_by_hand():
    g = generation_metrics("the cat sat on a mat", "the cat sat on the mat")
    # Equal lengths: no brevity penalty. Clipped n-gram precisions: 5/6, 3/5, 2/4, 1/3.
    assert g["bleu1"] == approx(5 / 6)
    assert g["bleu2"] == approx(sqrt(5 / 6 * 3 / 5))
    assert g["bleu4"] == approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    # ROUGE F1: 5 shared words of 6 and 6; 3 shared bigrams of 5 and 5; LCS "the cat sat on mat" = 5
    assert (g["rouge1"], g["rouge2"], g["rougel"]) == approx((5 / 6, 3 / 5, 5 / 6))


def test_bleu_and_rouge_in_chinese_by_hand():
    assert words("年假需要提前两周申请") == ["年", "假", "需要", "提前", "两周", "申请"]
    assert words("年假需要提前申请") == ["年", "假", "需要", "提前", "申请"]
    g = generation_metrics("年假需要提前申请", "年假需要提前两周申请")
    # 5 answer words vs 6 reference words: brevity penalty exp(1 - 6/5); p1 = 5/5, p2 = 3/4
    assert g["bleu1"] == approx(exp(-0.2))
    assert g["bleu2"] == approx(exp(-0.2) * sqrt(3 / 4))
    # ROUGE-1: P 5/5, R 5/6 -> F = 10/11; ROUGE-2: P 3/4, R 3/5 -> F = 2/3; LCS = 5 -> 10/11
    assert (g["rouge1"], g["rouge2"], g["rougel"]) == approx((10 / 11, 2 / 3, 10 / 11))


def test_smoothing_keeps_a_short_answer_from_scoring_zero():
    g = generation_metrics("a b x", "a b c d")
    # BP = exp(1 - 4/3); p1 = 2/3, p2 = 1/2, p3 and p4 have no match: method 1 uses 0.1 / count (1 and 1)
    assert g["bleu4"] == approx(exp(-1 / 3) * (2 / 3 * 1 / 2 * 0.1 * 0.1) ** 0.25)


def test_an_empty_answer_scores_zero():
    assert set(generation_metrics("", "the answer").values()) == {0.0}


def test_means_skip_questions_without_the_metric():
    assert mean_metrics([{"mrr": 1.0, "bleu1": 0.5}, {"mrr": 0.0}]) == {"mrr": 0.5, "bleu1": 0.5}
