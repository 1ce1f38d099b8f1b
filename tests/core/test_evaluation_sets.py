"""Question sets: JSONL and CSV import (all or nothing, errors naming line and field), editing, generation."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput, NotFound
from tests.conftest import ingest

FILES = [("refund.md", b"# Refunds\n\nCustomers may return any product within thirty days of purchase for a full "
                       b"refund. Items must be unused and in their original packaging."),
         ("年假.md", "员工入职满一年后每年享有十五天带薪年假。年假需要提前两周通过人事系统申请，由直属经理批准。"
                    "未休完的年假最多顺延五天。".encode())]


@pytest.fixture
def kb(svc, tenant):
    kb = svc.knowledge.create(tenant, "Handbook")
    ingest(svc, tenant, kb.id, FILES)
    return kb


def jsonl(*rows) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows).encode()


def test_jsonl_import_keeps_every_field_and_reports_unknown_ones(svc, tenant, kb):
    data = jsonl({"question": "How long can I return things?", "answer": "Thirty days.", "relevant_docs": ["refund.md"],
                  "relevant_text": "within thirty days", "lang": "en"},
                 "",
                 {"question": "每年有几天年假？", "relevant_text": ["十五天带薪年假"]})
    report = svc.evaluation.sets.import_file(tenant, data, "hr.jsonl", kb_id=kb.id)
    assert report.set.name == "hr" and report.set.question_count == 2 and report.set.kb_id == kb.id
    assert report.ignored_fields == ["lang"]
    first, second = svc.evaluation.sets.questions(tenant, report.set.id)
    assert first.relevant_docs == ["refund.md"] and first.relevant_text == ["within thirty days"]
    assert first.answer == "Thirty days." and second.relevant_docs == [] and second.relevant_text == ["十五天带薪年假"]


def test_csv_import_with_lists_and_a_multiline_cell(svc, tenant, kb):
    data = ('question,answer,relevant_docs,relevant_text\n'
            '"How long can I return things?",Thirty days.,refund.md|年假.md,\n'
            '"Two\nlines",,"[""refund.md""]",original packaging\n').encode()
    report = svc.evaluation.sets.import_file(tenant, data, "set.csv", kb_id=kb.id)
    first, second = svc.evaluation.sets.questions(tenant, report.set.id)
    assert first.relevant_docs == ["refund.md", "年假.md"] and first.relevant_text == []
    assert second.question == "Two\nlines" and second.relevant_docs == ["refund.md"]
    assert second.relevant_text == ["original packaging"]
    bad = b'question,relevant_docs\nfine,refund.md\n"multi\nline",\n'
    with pytest.raises(InvalidInput, match=r"^line 3: fields 'relevant_docs' / 'relevant_text'"):
        svc.evaluation.sets.import_file(tenant, bad, "bad.csv")


@pytest.mark.parametrize("data,name,message", [
    (jsonl({"question": "a", "relevant_text": "x"}, '{"question": "b", "relevant_text": }'), "s.jsonl",
     r"^line 2: not valid JSON"),
    (jsonl({"question": "a", "relevant_text": "x"}, {"answer": "no question", "relevant_text": "x"}), "s.jsonl",
     r"^line 2: field 'question': missing or empty"),
    (jsonl({"question": "a", "relevant_docs": "refund.md", "relevant_text": 3}), "s.jsonl",
     r"^line 1: field 'relevant_text': expected a string or a list of strings"),
    (jsonl({"question": "a", "relevant_docs": ["refund.md"], "answer": ["x"]}), "s.jsonl",
     r"^line 1: field 'answer': expected a string"),
    (jsonl({"question": "no judgement"}), "s.jsonl", r"^line 1: fields 'relevant_docs' / 'relevant_text'"),
    (jsonl(["a list"]), "s.jsonl", r"^line 1: expected a JSON object"),
    (b"query,relevant_docs\nx,refund.md\n", "s.csv", r"^line 1: the CSV header must name a 'question' column"),
    (b"question,relevant_docs\nx,refund.md,extra\n", "s.csv", r"^line 2: more cells than the header"),
    (b"question,relevant_docs\nx,\"[refund.md\"\n", "s.csv", r"^line 2: field 'relevant_docs': not a valid JSON list"),
    ("question\nx\n".encode("utf-16"), "s.csv", r"^The file is not UTF-8 text"),
    (b"\n\n", "s.jsonl", r"^The file has no questions"),
])
def test_a_malformed_file_names_line_and_field_and_imports_nothing(svc, tenant, data, name, message):
    with pytest.raises(InvalidInput, match=message):
        svc.evaluation.sets.import_file(tenant, data, name)
    assert svc.evaluation.sets.list(tenant) == []


def test_unknown_documents_of_the_knowledge_base_are_refused(svc, tenant, kb):
    data = jsonl({"question": "a", "relevant_docs": ["refund.md"]}, {"question": "b", "relevant_docs": ["nope.md"]})
    with pytest.raises(InvalidInput, match=r"^line 2, field 'relevant_docs': no document 'nope.md' in knowledge base"):
        svc.evaluation.sets.import_file(tenant, data, "s.jsonl", kb_id=kb.id)
    assert svc.evaluation.sets.list(tenant) == []


def test_an_edit_is_saved_whole_or_not_at_all(svc, tenant, kb):
    qset = svc.evaluation.sets.import_file(tenant, jsonl({"question": "a", "relevant_docs": ["refund.md"]}), "s.jsonl",
                                           kb_id=kb.id).set
    with pytest.raises(InvalidInput, match=r"^question 2: field 'question': missing or empty"):
        svc.evaluation.sets.replace_questions(tenant, qset.id, [{"question": "new", "relevant_docs": ["refund.md"]},
                                                                {"question": " ", "relevant_docs": ["refund.md"]}])
    assert [q.question for q in svc.evaluation.sets.questions(tenant, qset.id)] == ["a"]
    saved = svc.evaluation.sets.replace_questions(tenant, qset.id, [
        {"question": "new", "relevant_docs": ["refund.md"], "relevant_text": [], "answer": ""},
        {"question": "second", "relevant_text": ["年假"], "relevant_docs": [], "answer": "x"}])
    assert saved.question_count == 2
    assert [q.question for q in svc.evaluation.sets.questions(tenant, qset.id)] == ["new", "second"]


def test_sets_belong_to_their_tenant(svc, tenant, kb):
    qset = svc.evaluation.sets.import_file(tenant, jsonl({"question": "a", "relevant_text": "x"}), "s.jsonl").set
    other = svc.tenants.create_tenant("other")
    assert svc.evaluation.sets.list(other) == []
    for call in (lambda: svc.evaluation.sets.questions(other, qset.id),
                 lambda: svc.evaluation.sets.delete(other, qset.id),
                 lambda: svc.evaluation.start(other, qset.id, [{}], kb_ids=[kb.id])):
        with pytest.raises(NotFound):
            call()
    own = svc.evaluation.sets.import_file(other, jsonl({"question": "a", "relevant_text": "x"}), "s.jsonl").set
    with pytest.raises(NotFound):  # nor may a tenant run its set on another tenant's knowledge base
        svc.evaluation.start(other, own.id, [{}], kb_ids=[kb.id])


def test_generated_without_a_model_asks_key_sentences_of_sampled_chunks(svc, tenant, kb):
    qset = svc.evaluation.generate_set(tenant, kb.id, count=5, seed=1)
    assert qset.source == "generated" and qset.question_count == 2  # one per chunk with enough text
    chunks = {c.content for d in svc.documents.list(tenant, kb.id).items for c in svc.chunks.list(tenant, d.id).items}
    for q in svc.evaluation.sets.questions(tenant, qset.id):
        assert q.question == q.relevant_text[0] and any(q.question in c for c in chunks)
        assert q.relevant_docs[0] in ("refund.md", "年假.md")


def test_generated_with_a_model_keeps_the_chunk_as_the_judgement(svc, tenant, kb, llm):
    qset = svc.evaluation.generate_set(tenant, kb.id, count=2, chat_model_id="default", seed=1)
    questions = svc.evaluation.sets.questions(tenant, qset.id)
    chunks = {c.content for d in svc.documents.list(tenant, kb.id).items for c in svc.chunks.list(tenant, d.id).items}
    assert len(questions) == 2 and all(q.question.startswith("Mock answer about:") for q in questions)
    assert {q.relevant_text[0] for q in questions} == chunks
    assert llm.requests  # the model was really asked


def test_generation_needs_chunks_and_a_sane_count(svc, tenant):
    empty = svc.knowledge.create(tenant, "Empty")
    with pytest.raises(InvalidInput, match="no processed chunks"):
        svc.evaluation.generate_set(tenant, empty.id, count=3)
    with pytest.raises(InvalidInput, match="1 to 200"):
        svc.evaluation.generate_set(tenant, empty.id, count=0)
    with pytest.raises(InvalidInput, match="No chat model is configured"):
        svc.evaluation.generate_set(tenant, empty.id, count=3, chat_model_id="default")
