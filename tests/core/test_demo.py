"""Demo mode's sample site (core/demo.py): seeded once, kept through resets, restored when a visitor changes it."""

from __future__ import annotations

import json

import pytest

from core.config import Settings
from core.container import build_services
from core.demo import AGENT_NAME, ASSISTANT_NAME, DEMO_DOCS, KB_NAME
from core.visitors import visiting


@pytest.fixture
def demo(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64", demo=True)
    services = build_services(settings)
    yield services
    services.close()


def seeded(svc):
    """Seed (as the server does at start-up) and ingest the sample in this thread."""
    sample = svc.demo.ensure_sample()
    assert svc.workers.drain(120)
    assert svc.demo.record_fingerprint()
    return svc.demo.sample()


def test_first_start_seeds_a_bilingual_sample_with_public_pages(demo, tenant):
    sample = demo.demo.ensure_sample()
    # At once, before any ingestion: the knowledge base, its documents, the assistant and the published agent.
    kb = demo.knowledge.get(tenant, sample.kb_id)
    assert kb.name == KB_NAME and kb.document_count == len(list(DEMO_DOCS.iterdir())) >= 4
    assistant = demo.assistants.get_public(sample.assistant_id)
    agent = demo.assistants.get_public(sample.agent_id)
    assert (assistant.name, assistant.kind, assistant.kb_ids) == (ASSISTANT_NAME, "chat", [kb.id])
    assert (agent.name, agent.kind, agent.published is not None) == (AGENT_NAME, "agent", True)
    assert {t["tool"] for t in agent.tools} == {"kb_search", "calculator", "current_time"}
    assert not assistant.access_token and not agent.access_token  # open to anyone with the link
    assert demo.demo.ensure_sample() == sample  # a restart seeds nothing new
    assert demo.knowledge.list(tenant).total == 1

    assert demo.workers.drain(120)
    names = {d.name for d in demo.documents.list(tenant, kb.id).items if d.status == "completed"}
    assert {"travel-and-expenses.md", "年假与请假制度.md"} <= names
    zh = demo.retrieval.search(tenant, [kb.id], "年假 顺延", mode="full_text", top_k=1)
    en = demo.retrieval.search(tenant, [kb.id], "expense claim receipt", mode="full_text", top_k=1)
    assert zh[0].document_name == "年假与请假制度.md" and en[0].document_name == "travel-and-expenses.md"


def test_reset_removes_what_visitors_made_and_keeps_the_sample(demo, tenant):
    sample = seeded(demo)
    with visiting("10.0.0.7"):
        theirs = demo.knowledge.create(tenant, "visitor notes")
        demo.documents.upload(tenant, theirs.id, [("notes.txt", b"my notes")])
        demo.documents.upload(tenant, sample.kb_id, [("extra.txt", b"an extra page in the sample")])
        bot = demo.assistants.create(tenant, "my bot", kb_ids=[theirs.id])
        chat = demo.chat.create_session(tenant, assistant_id=sample.assistant_id)
        list(demo.chat.answer(tenant, chat.id, "How many days of annual leave?"))
        demo.retrieval.search(tenant, [sample.kb_id], "hotel costs")
        demo.tools.create_api_provider(tenant, "weather", openapi_schema=json.dumps({
            "server": "https://weather.example.com", "description": "Weather",
            "paths": {"/now": {"get": {"operationId": "Now", "description": "Weather now", "parameters": []}}}}))
    removed = demo.demo.reset()
    assert removed == {"knowledge_bases": 1, "documents": 1, "assistants": 1, "tool_providers": 1, "chats": 1,
                       "searches": 2}  # the hit test, and the chat's own retrieval
    assert [kb.id for kb in demo.knowledge.list(tenant).items] == [sample.kb_id]
    assert {d.id for d in demo.documents.list(tenant, sample.kb_id).items} == set(sample.doc_ids)
    assert {a.id for a in demo.assistants.list(tenant).items} == {sample.assistant_id, sample.agent_id}
    assert demo.chat.list_sessions(tenant).total == 0 and not demo.retrieval.recent_queries(tenant)
    assert bot.id not in {a.id for a in demo.assistants.list(tenant).items}
    after = demo.demo.sample()
    assert after.kb_id == sample.kb_id and after.fingerprint == sample.fingerprint  # untouched: same ids
    assert after.last_reset > sample.last_reset and demo.demo.next_reset() is not None


@pytest.mark.parametrize("vandalism", ["edit a chunk", "disable a document", "rename the assistant",
                                       "delete the agent", "delete the knowledge base"])
def test_a_sample_a_visitor_changed_is_seeded_afresh(demo, tenant, vandalism):
    sample = seeded(demo)
    with visiting("10.0.0.7"):
        if vandalism == "edit a chunk":
            doc = demo.documents.get(tenant, sample.doc_ids[0])
            chunk = demo.chunks.list(tenant, doc.id).items[0]
            demo.chunks.update(tenant, chunk.id, content="Nonsense written by a visitor.")
        elif vandalism == "disable a document":
            demo.documents.set_enabled(tenant, sample.doc_ids[0], False)
        elif vandalism == "rename the assistant":
            demo.assistants.update(tenant, sample.assistant_id, name="Vandalised")
        elif vandalism == "delete the agent":
            demo.assistants.delete(tenant, sample.agent_id)
        else:
            demo.knowledge.delete(tenant, sample.kb_id)
    removed = demo.demo.reset()
    fresh = demo.demo.sample()
    assert removed.get("changed_sample") == 1 or fresh.kb_id != sample.kb_id
    kbs = demo.knowledge.list(tenant).items
    assert [kb.name for kb in kbs] == [KB_NAME] and kbs[0].id == fresh.kb_id != sample.kb_id
    assert {a.name for a in demo.assistants.list(tenant).items} == {ASSISTANT_NAME, AGENT_NAME}
    assert demo.workers.drain(120) and demo.demo.record_fingerprint()
    assert all(d.enabled and d.status == "completed" for d in demo.documents.list(tenant, fresh.kb_id).items)
