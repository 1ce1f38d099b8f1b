"""What the LLMOps dialect needs from the core, on PostgreSQL: uploads listed by prefix, documents from uploads
in one batch (positions by window function), disabled times, exchanges, agents' extra settings."""

import pytest

from core.errors import NotFound


def test_uploads_batches_positions_and_exchanges_on_postgres(pg_svc, tenant):
    svc = pg_svc
    a = svc.files.save(tenant, "Leave_100%.md", b"# Leave\n\nTwenty-seven days of paid vacation.\n")
    b = svc.files.save(tenant, "leave-faq.txt", b"Unused days expire in March.")
    assert {f.id for f in svc.files.list(tenant, prefix="LEAVE").items} == {a.id, b.id}
    assert [f.id for f in svc.files.list(tenant, prefix="leave_100%").items] == [a.id]  # % is a character

    kb = svc.knowledge.create(tenant, "Handbook")
    batch, docs = svc.documents.add_files(tenant, kb.id, [a.id, b.id], chunk_config={"chunk_size": 32, "chunk_overlap": 0})
    assert [d.position for d in docs] == [1, 2]
    assert svc.workers.drain(timeout=120)
    done = svc.documents.batch(tenant, kb.id, batch)
    assert [(d.status, d.position) for d in done] == [("completed", 1), ("completed", 2)]
    assert all(d.embedded_count == d.chunk_count > 0 for d in done)
    with_search = svc.documents.list(tenant, kb.id, search="faq")
    assert [(d.name, d.position) for d in with_search.items] == [("leave-faq.txt", 2)]
    disabled = svc.documents.set_enabled(tenant, docs[0].id, False)
    assert disabled.disabled_at is not None and not disabled.enabled
    chunk = svc.chunks.list(tenant, docs[1].id).items[0]
    assert [c.document_kind for c in svc.chunks.get_many(tenant, [chunk.id, "nope"])] == ["txt"]

    agent = svc.assistants.create(tenant, "Planner", kind="agent", kb_ids=[kb.id], extra={"llmops": {"x": [1]}})
    assert agent.extra == {"llmops": {"x": [1]}} and svc.knowledge.get(tenant, kb.id).assistant_count == 1
    session = svc.chat.debug_session(tenant, agent.id)
    for question in ("first", "second"):
        list(svc.chat.answer(tenant, session.id, question))  # no LLM: the agent says it needs one
    rounds = svc.chat.list_exchanges(tenant, session.id)
    assert [x.question for x in rounds.items] == ["second", "first"] and rounds.total == 2
    svc.chat.delete_exchange(tenant, session.id, rounds.items[0].question_id)
    assert [x.question for x in svc.chat.list_exchanges(tenant, session.id).items] == ["first"]
    with pytest.raises(NotFound) as err:
        svc.chat.get_exchange(tenant, session.id, rounds.items[0].id)
    assert err.value.kind == "message"
