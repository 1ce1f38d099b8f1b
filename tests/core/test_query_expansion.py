"""Cross-language search: questions in one language, answers in the other (core/query_expansion.py)."""

import json

import pytest

from core.errors import InvalidInput, NotFound
from core.languages import detect, languages_of, parse_languages
from core.query_expansion import ALL_LANGUAGES, NO_EXPANSION, Expansion, QueryVariant, fuse, parse_answer
from core.schemas import SearchHit
from tests.conftest import ingest
from tests.helpers.bilingual import CROSS_QUESTIONS, GLOSSARY, files
from tests.mock_llm import Reply


@pytest.fixture
def kb(svc, tenant):
    kb = svc.knowledge.create(tenant, "Bilingual API docs", retrieval_config={"query_languages": ["auto"]})
    ingest(svc, tenant, kb.id, files())
    return kb


@pytest.fixture
def mock_model(svc, tenant):
    """The in-process mock model (it translates a fixed phrase list) as the tenant's default LLM."""
    return svc.models.create(tenant, type="llm", provider="mock", name="mock", model="mock-model", is_default=True)


def top5(svc, tenant, kb, question, **kw):
    return [h.document_name for h in svc.retrieval.search(tenant, [kb.id], question, top_k=5, record=False, **kw)]


@pytest.mark.parametrize("question", CROSS_QUESTIONS)
def test_with_the_model_translating_each_answer_is_in_the_top_5(svc, tenant, kb, mock_model, question):
    assert CROSS_QUESTIONS[question] not in top5(svc, tenant, kb, question, expansion=NO_EXPANSION)
    assert CROSS_QUESTIONS[question] in top5(svc, tenant, kb, question)
    found = svc.retrieval.search_expanded(tenant, [kb.id], question, top_k=5, record=False)
    kinds = [(v.kind, v.language) for v in found.variants]
    other = "zh" if detect(question) == "en" else "en"
    assert kinds == [("question", detect(question)), ("translation", other)] and found.note == ""
    answer = next(h for h in found.hits if h.document_name == CROSS_QUESTIONS[question])
    assert found.variant_of(answer).kind == "translation"  # the translation found it


def test_one_model_call_per_question_and_it_is_cached(svc, tenant, kb, llm):
    question = "How many days is a refund valid?"
    assert "退款规则.txt" in top5(svc, tenant, kb, question)
    (request,) = llm.chat_requests
    sent = json.loads(request["body"]["messages"][-1]["content"])
    assert sent["task"] == "query_variants" and sent["query"] == question and sent["languages"] == {"zh": "Chinese"}
    assert request["body"]["temperature"] == 0.0
    assert "退款规则.txt" in top5(svc, tenant, kb, question, mode="full_text")  # other settings: same answer cached
    assert len(llm.chat_requests) == 1


def test_the_query_log_has_one_entry_and_translated_hits_count(svc, tenant, kb, mock_model):
    hits = svc.retrieval.search(tenant, [kb.id], "How many sub-accounts can a tenant create?", top_k=3, source="ui")
    svc.retrieval.flush()
    (entry,) = svc.retrieval.recent_queries(tenant, kb.id)
    assert entry.query == "How many sub-accounts can a tenant create?" and entry.result_count == len(hits)
    answer = next(h for h in hits if h.document_name == "子账号.txt")
    assert svc.chunks.get(tenant, answer.chunk_id).hit_count == 1


def test_a_failing_model_falls_back_to_the_question(svc, tenant, kb):
    svc.models.create(tenant, type="llm", provider="mock", name="broken", model="error", is_default=True)
    question = "How many days is a refund valid?"
    plain = top5(svc, tenant, kb, question, expansion=NO_EXPANSION)
    found = svc.retrieval.search_expanded(tenant, [kb.id], question, top_k=5, record=False)
    assert [h.document_name for h in found.hits] == plain
    assert found.note == "model_failed" and "always fails" in found.detail
    again = svc.retrieval.search_expanded(tenant, [kb.id], "访问令牌多久过期？", top_k=5, record=False)
    assert again.note == "model_paused" and again.hits  # a dead model is not asked again at once


def test_an_unreachable_or_unreadable_model_falls_back(svc, tenant, kb, llm):
    llm.script([Reply(status=500)])
    question = "How long is an uploaded file kept?"
    failed = svc.retrieval.search_expanded(tenant, [kb.id], question, top_k=5, record=False)
    assert failed.note == "model_failed" and [v.kind for v in failed.variants] == ["question"]
    svc.retrieval.expander._paused.clear()  # the pause after a failure is tested above
    llm.script([Reply(text="Sorry, I can only answer questions about cooking.")])
    unreadable = svc.retrieval.search_expanded(tenant, [kb.id], question, top_k=5, record=False)
    assert unreadable.note == "unreadable" and [h.chunk_id for h in unreadable.hits] == \
        [h.chunk_id for h in failed.hits]


def test_no_model_is_asked_when_the_question_is_in_every_language_of_the_kb(svc, tenant, llm):
    kb = svc.knowledge.create(tenant, "English only", retrieval_config={"query_languages": ["auto"]})
    ingest(svc, tenant, kb.id, [("a.txt", b"Refunds are possible for 180 days."), ("b.txt", b"Orders close.")])
    found = svc.retrieval.search_expanded(tenant, [kb.id], "refund window", record=False)
    assert [v.kind for v in found.variants] == ["question"] and llm.chat_requests == []
    assert svc.retrieval.search_expanded(tenant, [kb.id], "退款", record=False, expansion=Expansion.of(["en", "zh"]))
    assert len(llm.chat_requests) == 1  # a Chinese question is translated into English


def test_no_model_and_no_glossary_is_the_plain_search(svc, tenant, kb):
    question = "How many sub-accounts can a tenant create?"
    found = svc.retrieval.search_expanded(tenant, [kb.id], question, top_k=5, record=False)
    assert found.note == "no_model" and [v.kind for v in found.variants] == ["question"]
    assert [h.document_name for h in found.hits] == top5(svc, tenant, kb, question, expansion=NO_EXPANSION)


@pytest.mark.parametrize("question", CROSS_QUESTIONS)
def test_with_a_glossary_and_no_model_the_keyword_side_finds_them(svc, tenant, kb, question):
    assert CROSS_QUESTIONS[question] not in top5(svc, tenant, kb, question, mode="full_text")
    svc.glossary.add(tenant, kb.id, GLOSSARY)
    found = svc.retrieval.search_expanded(tenant, [kb.id], question, mode="full_text", top_k=5, record=False)
    assert CROSS_QUESTIONS[question] in [h.document_name for h in found.hits]
    assert [v.kind for v in found.variants] == ["question", "glossary"]
    assert not svc.retrieval.search_expanded(tenant, [kb.id], question, mode="full_text", record=False,
                                             expansion=NO_EXPANSION).variants[1:]


def test_glossary_terms_go_to_the_model_and_its_translation_replaces_the_glossary_variant(svc, tenant, kb, llm):
    svc.glossary.add(tenant, kb.id, GLOSSARY)
    found = svc.retrieval.search_expanded(tenant, [kb.id], "How many days is a refund valid?", record=False)
    sent = json.loads(llm.chat_requests[0]["body"]["messages"][-1]["content"])
    assert sent["glossary"] == {"refund": "退款", "valid": "有效期"}
    assert [v.kind for v in found.variants] == ["question", "translation"]


def test_model_keywords(svc, tenant, kb, mock_model):
    svc.knowledge.update(tenant, kb.id, retrieval_config={"query_languages": [], "model_keywords": True})
    found = svc.retrieval.search_expanded(tenant, [kb.id], "How many days is a refund valid?", record=False)
    (question, keywords) = found.variants
    assert keywords.kind == "keywords" and keywords.text == question.text
    assert "refund" in keywords.keywords and "退款" in keywords.keywords  # the keyword side only


def test_settings_are_checked_and_scoped(svc, tenant, kb, mock_model):
    with pytest.raises(InvalidInput, match="unknown language 'klingon'"):
        svc.knowledge.update(tenant, kb.id, retrieval_config={"query_languages": ["klingon"]})
    with pytest.raises(InvalidInput, match="Query languages"):
        Expansion.of(["auto", "en"])
    assert svc.knowledge.get(tenant, kb.id).retrieval_config.query_languages == ["auto"]
    other = svc.tenants.create_tenant("other")
    with pytest.raises(NotFound):
        svc.retrieval.search(other, [kb.id], "How many days is a refund valid?")
    with pytest.raises(InvalidInput, match="empty"):
        svc.retrieval.search(tenant, [kb.id], "   ")


def test_an_assistant_can_set_its_own_query_languages(svc, tenant, mock_model):
    kb = svc.knowledge.create(tenant, "Plain")  # no cross-language setting of its own
    ingest(svc, tenant, kb.id, files())
    assistant = svc.assistants.create(tenant, "Bilingual", kb_ids=[kb.id],
                                      prompt={"query_languages": ["auto"], "similarity_threshold": 0.0})
    conv = svc.chat.create_session(tenant, assistant_id=assistant.id)
    events = list(svc.chat.answer(tenant, conv.id, "How many sub-accounts can a tenant create?"))
    refs = next(e for e in events if e.type == "references").data["references"]
    assert "子账号.txt" in [r["document_name"] for r in refs]


def test_evaluation_compares_with_and_without_cross_language(svc, tenant, kb, mock_model):
    lines = [json.dumps({"question": q, "relevant_docs": [d]}) for q, d in CROSS_QUESTIONS.items()]
    qset = svc.evaluation.sets.import_file(tenant, "\n".join(lines).encode(), "cross.jsonl", kb_id=kb.id).set
    runs = svc.evaluation.start(tenant, qset.id, [{"cross_language": True}, {"cross_language": False}],
                                kb_ids=[kb.id])
    svc.eval_workers.drain()
    on, off = (svc.evaluation.get_run(tenant, r.id) for r in runs)
    assert on.retrieval["hit@5"] == 1.0 and off.retrieval["hit@5"] < 0.5
    assert "cross-language" in on.label and "no cross-language" in off.label


# ------------------------------------------------------------------ units
def test_languages_are_parsed_and_detected():
    assert parse_languages(["Chinese", "en-US", "zh_CN", "中文"]) == ["zh", "en"]
    assert parse_languages("auto") == ["auto"] and parse_languages("en, ja") == ["en", "ja"]
    with pytest.raises(ValueError, match="unknown language"):
        parse_languages(["xx"])
    assert [detect(t) for t in ("How long?", "多久？", "Webhook 投递失败会重试几次？", "どのくらい", "123", "")] == \
        ["en", "zh", "zh", "ja", None, None]
    assert languages_of(["english text"] * 60 + ["中文内容"] * 2) == {"en", "zh"}
    assert languages_of(["english text"] * 100 + ["中文"]) == {"en"}  # one stray passage in a hundred is noise


@pytest.mark.parametrize("reply", [
    '{"translations": {"zh": "退款有效期多久？"}}',
    '```json\n{"translations": {"Chinese": "退款有效期多久？"}, "keywords": "退款, 有效期"}\n```',
    '{"zh": "退款有效期多久？"}',
    "Chinese: 退款有效期多久？",
    "退款有效期多久？",
])
def test_model_answers_are_read_leniently(reply):
    answer = parse_answer(reply, ["zh"], "How long is a refund valid?")
    assert answer.translations == {"zh": "退款有效期多久？"}


@pytest.mark.parametrize("reply", ["", "I don't know", '{"translations": {"zh": "How long is a refund valid?"}}',
                                   '{"translations": {"fr": "Combien de temps?"}}', "not json {"])
def test_model_answers_that_translate_nothing_are_refused(reply):
    assert parse_answer(reply, ["zh"], "How long is a refund valid?") is None


def test_fusion_keeps_each_chunk_at_its_best_score():
    def hit(cid, score):
        return SearchHit(chunk_id=cid, kb_id="k", doc_id="d", document_name="n", position=0, content="",
                         keywords=[], meta={}, score=score)
    hits, found_by = fuse([[hit("a", 0.9), hit("b", 0.5)], [hit("b", 0.8), hit("c", 0.95)], [hit("a", 0.9)]], 2)
    assert [(h.chunk_id, h.score) for h in hits] == [("c", 0.95), ("a", 0.9)]
    assert found_by == {"c": 1, "a": 0}  # a tie goes to the earlier variant


def test_expansion_constants():
    assert NO_EXPANSION.languages == () and not NO_EXPANSION.glossary
    assert ALL_LANGUAGES.languages == ("auto",)
    assert QueryVariant("q", "question").keywords is None
