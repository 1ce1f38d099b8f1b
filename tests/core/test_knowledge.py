import pytest

from core.errors import Conflict, InvalidInput, NotFound
from core.scope import MAX_PAGE, MAX_PAGE_SIZE
from tests.conftest import ingest


def test_create_get_list_update(svc, tenant):
    kb = svc.knowledge.create(tenant, "Handbook", description="HR rules", chunk_config={"chunk_size": 256})
    assert kb.embedding_model == "mock:words-64"
    assert kb.chunk_config.chunk_size == 256 and kb.document_count == 0
    svc.knowledge.create(tenant, "Other")
    page = svc.knowledge.list(tenant, search="hand")
    assert [k.name for k in page.items] == ["Handbook"] and page.total == 1
    assert svc.knowledge.list(tenant, page=2, page_size=1).total == 2
    kb2 = svc.knowledge.update(tenant, kb.id, name="Staff handbook", retrieval_config={"top_k": 9})
    assert kb2.name == "Staff handbook" and kb2.retrieval_config.top_k == 9
    assert kb2.chunk_config.chunk_size == 256  # untouched settings are kept


def test_names_unique_case_insensitive(svc, tenant):
    svc.knowledge.create(tenant, "Docs")
    with pytest.raises(Conflict):
        svc.knowledge.create(tenant, "DOCS")
    with pytest.raises(InvalidInput):
        svc.knowledge.create(tenant, "   ")


def test_bad_settings_are_rejected_with_reasons(svc, tenant):
    with pytest.raises(InvalidInput, match="chunk_overlap must be smaller"):
        svc.knowledge.create(tenant, "x", chunk_config={"chunk_size": 64, "chunk_overlap": 64})
    with pytest.raises(InvalidInput, match="unknown chunk method"):
        svc.knowledge.create(tenant, "x", chunk_config={"method": "magic"})
    with pytest.raises(InvalidInput, match="not a valid regular expression"):
        svc.knowledge.create(tenant, "x", chunk_config={"separators": ["("]})
    with pytest.raises(InvalidInput, match="Unknown|unknown"):
        svc.knowledge.create(tenant, "x", embedding_model="nosuch:model")
    assert svc.knowledge.list(tenant).total == 0  # nothing was created


def test_tenants_are_isolated(svc, tenant):
    kb = svc.knowledge.create(tenant, "Private")
    other = svc.tenants.create_tenant("Acme")
    with pytest.raises(NotFound):
        svc.knowledge.get(other, kb.id)
    with pytest.raises(NotFound):
        svc.knowledge.update(other, kb.id, name="stolen")
    with pytest.raises(NotFound):
        svc.knowledge.delete(other, kb.id)
    assert svc.knowledge.list(other).total == 0
    svc.knowledge.create(other, "Private")  # same name in another tenant is fine
    with pytest.raises(NotFound):
        svc.documents.upload(other, kb.id, [("a.txt", b"hello")])


def test_embedding_model_locked_while_chunks_exist(svc, tenant):
    kb = svc.knowledge.create(tenant, "Locked")
    svc.knowledge.update(tenant, kb.id, embedding_model="mock:other-64")  # empty: allowed
    ingest(svc, tenant, kb.id, [("a.txt", b"Some text about llamas and alpacas.")])
    with pytest.raises(Conflict, match="cannot change"):
        svc.knowledge.update(tenant, kb.id, embedding_model="mock:words-64")


def test_delete_removes_everything_at_once(svc, tenant):
    kb = svc.knowledge.create(tenant, "Temp")
    ingest(svc, tenant, kb.id, [("a.txt", b"Quantum flux capacitors store temporal energy.")])
    assert svc.retrieval.search(tenant, [kb.id], "flux capacitors", mode="full_text", record=False)
    svc.knowledge.delete(tenant, kb.id)
    with pytest.raises(NotFound):
        svc.knowledge.get(tenant, kb.id)
    assert not list((svc.settings.files_dir).rglob("*")) or all(p.is_dir() for p in svc.settings.files_dir.rglob("*"))


def test_copy_keeps_documents_chunks_and_vectors(svc, tenant):
    kb = svc.knowledge.create(tenant, "Source")
    ingest(svc, tenant, kb.id, [("a.txt", b"Zebras have black and white stripes."),
                                 ("b.txt", b"Penguins live in the southern hemisphere.")])
    copy = svc.knowledge.copy(tenant, kb.id)
    assert copy.name == "Source (copy)" and copy.document_count == 2 and copy.chunk_count == 2
    hits = svc.retrieval.search(tenant, [copy.id], "zebra stripes", mode="semantic", record=False)
    assert hits and hits[0].kb_id == copy.id and "Zebras" in hits[0].content
    svc.knowledge.delete(tenant, kb.id)  # the copy does not depend on the source
    doc = svc.documents.list(tenant, copy.id, search="a.txt").items[0]
    assert svc.documents.download(tenant, doc.id)[1] == b"Zebras have black and white stripes."


def test_paging_out_of_range_is_refused_clearly(svc, tenant):
    kb = svc.knowledge.create(tenant, "Paged")
    lists = [lambda **p: svc.knowledge.list(tenant, **p), lambda **p: svc.documents.list(tenant, kb.id, **p),
             lambda **p: svc.assistants.list(tenant, **p), lambda **p: svc.chat.list_sessions(tenant, **p)]
    for list_ in lists:
        for paging in ({"page": 10**20}, {"page_size": 10**20}, {"page": 0}):
            with pytest.raises(InvalidInput, match="page"):
                list_(**paging)
        assert list_(page=MAX_PAGE, page_size=MAX_PAGE_SIZE).items == []
