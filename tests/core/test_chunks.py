import pytest

from core.errors import InvalidInput, NotFound
from tests.conftest import ingest


@pytest.fixture
def doc(svc, tenant):
    kb = svc.knowledge.create(tenant, "Chunks", chunk_config={"chunk_size": 32, "chunk_overlap": 0})
    text = ("Bananas are yellow fruits rich in potassium. " * 6 + "\n\n" +
            "Volcanoes erupt molten rock called lava. " * 6).encode()
    (d,) = ingest(svc, tenant, kb.id, [("mix.txt", text)])
    return d


def modes_find(svc, tenant, kb_id, query, needle):
    found = {}
    for mode in ("semantic", "full_text", "hybrid"):
        hits = svc.retrieval.search(tenant, [kb_id], query, mode=mode, top_k=3, threshold=0.0, record=False)
        found[mode] = any(needle in h.content for h in hits)
    return found


def test_edit_is_found_by_new_text_only(svc, tenant, doc):
    first = svc.chunks.list(tenant, doc.id).items[0]
    svc.chunks.update(tenant, first.id, content="Kangaroos hop across the Australian outback.",
                      keywords=["kangaroo", "outback"])
    assert modes_find(svc, tenant, doc.kb_id, "kangaroos outback", "Kangaroos") == dict.fromkeys(
        ("semantic", "full_text", "hybrid"), True)
    old = first.content.split(".")[0]
    for mode in ("semantic", "full_text", "hybrid"):
        hits = svc.retrieval.search(tenant, [doc.kb_id], "kangaroos outback", mode=mode, record=False)
        assert all(h.content != first.content for h in hits if h.chunk_id == first.id)
    assert svc.chunks.get(tenant, first.id).keywords == ["kangaroo", "outback"]
    assert old  # the old text is gone from the chunk row
    assert "Bananas" not in svc.chunks.get(tenant, first.id).content


def test_add_disable_delete(svc, tenant, doc):
    before = svc.documents.get(tenant, doc.id).chunk_count
    added = svc.chunks.add(tenant, doc.id, "Platypus lays eggs despite being a mammal.", questions=["Which mammal lays eggs?"])
    assert added.position == before and svc.documents.get(tenant, doc.id).chunk_count == before + 1
    assert modes_find(svc, tenant, doc.kb_id, "mammal that lays eggs", "Platypus")["full_text"]
    svc.chunks.update(tenant, added.id, enabled=False)
    assert not any(modes_find(svc, tenant, doc.kb_id, "platypus eggs", "Platypus").values())
    svc.chunks.set_enabled(tenant, [added.id], True)
    assert modes_find(svc, tenant, doc.kb_id, "platypus eggs", "Platypus")["semantic"]
    svc.chunks.delete(tenant, [added.id])
    assert not any(modes_find(svc, tenant, doc.kb_id, "platypus eggs", "Platypus").values())
    assert svc.documents.get(tenant, doc.id).chunk_count == before
    with pytest.raises(NotFound):
        svc.chunks.get(tenant, added.id)


def test_list_filters_and_page_of(svc, tenant, doc):
    all_chunks = svc.chunks.list(tenant, doc.id, page_size=100)
    lava = svc.chunks.list(tenant, doc.id, keyword="LAVA")
    assert 0 < lava.total < all_chunks.total
    last = all_chunks.items[-1]
    assert svc.chunks.page_of(tenant, last.id, page_size=2) == (all_chunks.total - 1) // 2 + 1


def test_bad_input_changes_nothing(svc, tenant, doc):
    c = svc.chunks.list(tenant, doc.id).items[0]
    with pytest.raises(InvalidInput):
        svc.chunks.update(tenant, c.id, content="   ")
    with pytest.raises(InvalidInput):
        svc.chunks.add(tenant, doc.id, "")
    with pytest.raises(InvalidInput):
        svc.chunks.update(tenant, c.id, keywords="not-a-list")
    assert svc.chunks.get(tenant, c.id).content == c.content
    other = svc.tenants.create_tenant("other")
    with pytest.raises(NotFound):
        svc.chunks.update(other, c.id, content="hijack")
    with pytest.raises(NotFound):
        svc.chunks.delete(other, [c.id])
    assert svc.chunks.get(tenant, c.id).content == c.content


def test_chunk_size_is_bounded(svc, tenant, doc):
    c = svc.chunks.list(tenant, doc.id).items[0]
    count = svc.documents.get(tenant, doc.id).chunk_count
    with pytest.raises(InvalidInput, match="1,048,576 characters long; the limit is 30,000"):
        svc.chunks.add(tenant, doc.id, "a" * 2**20)
    with pytest.raises(InvalidInput, match="the limit is 30,000"):
        svc.chunks.update(tenant, c.id, content="b " * 20_000)
    with pytest.raises(InvalidInput, match="at most 100 keywords"):
        svc.chunks.update(tenant, c.id, keywords=[f"k{i}" for i in range(101)])
    with pytest.raises(InvalidInput, match="at most 1,000 characters"):
        svc.chunks.add(tenant, doc.id, "fine", questions=["why? " * 300])
    assert svc.chunks.get(tenant, c.id).content == c.content
    assert svc.documents.get(tenant, doc.id).chunk_count == count
    assert svc.chunks.add(tenant, doc.id, "z " * 15_000).char_count == 30_000  # kept as written


def test_delete_all_of_document(svc, tenant, doc):
    n = svc.chunks.delete_all(tenant, doc.id)
    assert n > 0 and svc.documents.get(tenant, doc.id).chunk_count == 0
    assert svc.vectors.count(doc.kb_id) == 0
    assert not svc.retrieval.search(tenant, [doc.kb_id], "bananas", mode="hybrid", record=False)
