"""Chunks page: listing, paging, search, edit, add, delete, enable/disable, deep links."""

from __future__ import annotations

import pytest

from tests.conftest import ingest
from tests.ui.conftest import open_page

PAGE = "pages/chunks.py"


def md(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


@pytest.fixture
def doc(ui, tenant):
    """A processed document with 25 chunks (#1 from ingestion, #2..#25 added), each naming its number."""
    kb = ui.knowledge.create(tenant, "Handbook")
    (d,) = ingest(ui, tenant, kb.id, [("handbook.txt", b"Chunk number one talks about vacation days.")])
    for n in range(2, 26):
        ui.chunks.add(tenant, d.id, f"Chunk number {n} is about topic{n}.", keywords=[f"kw{n}"])
    return d


def chunk_at(ui, tenant, doc_id: str, position: int):
    return next(c for c in ui.chunks.list(tenant, doc_id, page_size=100).items if c.position == position)


def test_lists_first_page_and_pages_forward(ui, tenant, doc):
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    body = md(at)
    assert "**#1**" in body and "**#10**" in body and "**#11**" not in body
    assert "vacation days" in body and ":blue-badge[#kw2]" in body
    assert "Page 1 of 3" in body
    assert at.query_params["doc"] == [doc.id] or at.query_params["doc"] == doc.id
    at.button(key=f"chunks_page_{doc.id}_next").click().run()
    body = md(at)
    assert "**#11**" in body and "**#20**" in body and "**#1**" not in body
    assert "Page 2 of 3" in body


def test_keyword_search_and_no_match(ui, tenant, doc):
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    at.text_input(key=f"chunks_search_{doc.id}").input("topic17").run()
    body = md(at)
    assert "topic17" in body and "**#17**" in body and "**#1**" not in body
    at.text_input(key=f"chunks_search_{doc.id}").input("nothing-like-this").run()
    assert "No chunk contains" in infos(at)


def test_edit_and_save_reindexes(ui, tenant, doc):
    first = chunk_at(ui, tenant, doc.id, 0)
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    at.button(key=f"chunks_editbtn_{first.id}").click().run()
    at.text_area(key=f"chunks_text_{first.id}").input("Parental leave lasts sixteen weeks.")
    at.text_input(key=f"chunks_kw_{first.id}").input("leave, 育儿假")
    at.button(key=f"chunks_save_{first.id}").click().run()
    assert not at.exception
    saved = ui.chunks.get(tenant, first.id)
    assert saved.content == "Parental leave lasts sixteen weeks." and saved.keywords == ["leave", "育儿假"]
    assert "Chunk saved" in " ".join(x.value for x in at.toast)
    assert f"chunks_text_{first.id}" not in [w.key for w in at.text_area]  # back to reading mode
    hits = ui.retrieval.search(tenant, [doc.kb_id], "sixteen weeks", mode="full_text", record=False)
    assert hits and hits[0].chunk_id == first.id
    at.text_input(key=f"chunks_search_{doc.id}").input("sixteen").run()
    assert "Parental leave" in md(at)


def test_save_error_is_friendly(ui, tenant, doc):
    first = chunk_at(ui, tenant, doc.id, 0)
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    at.button(key=f"chunks_editbtn_{first.id}").click().run()
    at.text_area(key=f"chunks_text_{first.id}").input("   ")
    at.button(key=f"chunks_save_{first.id}").click().run()
    assert not at.exception
    assert "must not be empty" in " ".join(e.value for e in at.error)
    assert at.text_area(key=f"chunks_text_{first.id}")  # still editing
    assert ui.chunks.get(tenant, first.id).content.startswith("Chunk number one")


def test_add_chunk_opens_its_page(ui, tenant, doc):
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    at.text_area(key="chunks_new_text").input("Bicycles may be parked in the courtyard.")
    at.text_input(key="chunks_new_kw").input("bike, parking")
    at.button[0].click().run()  # the form's submit button comes first
    assert not at.exception
    items = ui.chunks.list(tenant, doc.id, keyword="courtyard").items
    assert len(items) == 1 and items[0].keywords == ["bike", "parking"] and items[0].position == 25
    assert "📍 **#26**" in md(at) and "Page 3 of 3" in md(at)
    assert at.query_params["chunk"] in (items[0].id, [items[0].id])


def test_delete_asks_first(ui, tenant, doc):
    target = chunk_at(ui, tenant, doc.id, 2)
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    at.button(key=f"chunks_delbtn_{target.id}").click().run()
    assert "Delete chunk #3" in " ".join(w.value for w in at.warning)
    assert ui.chunks.get(tenant, target.id)  # nothing deleted yet
    at.button(key=f"chunks_delno_{target.id}").click().run()
    assert not at.warning
    at.button(key=f"chunks_delbtn_{target.id}").click().run()
    at.button(key=f"chunks_delyes_{target.id}").click().run()
    assert not at.exception
    assert ui.chunks.list(tenant, doc.id).total == 24
    assert "topic3." not in md(at)
    assert "Chunk deleted" in " ".join(x.value for x in at.toast)


def test_disable_and_enable(ui, tenant, doc):
    target = chunk_at(ui, tenant, doc.id, 4)
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    assert at.toggle(key=f"chunks_on_{target.id}").value is True
    at.toggle(key=f"chunks_on_{target.id}").set_value(False).run()
    assert ui.chunks.get(tenant, target.id).enabled is False
    assert at.toggle(key=f"chunks_on_{target.id}").value is False
    assert not ui.retrieval.search(tenant, [doc.kb_id], "topic5", mode="full_text", record=False)
    at.toggle(key=f"chunks_on_{target.id}").set_value(True).run()
    assert ui.chunks.get(tenant, target.id).enabled is True


def test_deep_link_opens_page_and_marks_chunk(ui, tenant, doc):
    target = chunk_at(ui, tenant, doc.id, 22)
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id, chunk=target.id)
    body = md(at)
    assert "Page 3 of 3" in body and "📍 **#23**" in body
    assert body.count("📍") == 1
    assert f".st-key-chunk_{target.id}" in " ".join(h.proto.body for h in at.get("html"))
    # paging away from the linked chunk works
    at.button(key=f"chunks_page_{doc.id}_prev").click().run()
    assert "Page 2 of 3" in md(at)


def test_link_with_only_a_chunk_finds_its_document(ui, tenant, doc):
    other = ui.knowledge.create(tenant, "Another")  # sorts first in the picker
    assert other
    target = chunk_at(ui, tenant, doc.id, 7)
    at = open_page(PAGE, chunk=target.id)
    assert "📍 **#8**" in md(at)


def test_empty_states(ui, tenant):
    at = open_page(PAGE)
    assert "no knowledge bases" in infos(at)
    kb = ui.knowledge.create(tenant, "Empty")
    at = open_page(PAGE, kb=kb.id)
    assert "no documents yet" in infos(at)
    (d,) = ui.documents.upload(tenant, kb.id, [("later.txt", b"Some text")], parse=False)
    at = open_page(PAGE, kb=kb.id, doc=d.id)
    assert "not been parsed" in infos(at)


def test_processing_document_shows_progress(ui, tenant):
    kb = ui.knowledge.create(tenant, "Busy")
    (d,) = ui.documents.upload(tenant, kb.id, [("queued.txt", b"Some text")])
    at = open_page(PAGE, kb=kb.id, doc=d.id)
    assert "still being processed" in infos(at)
    assert at.get("progress")


def test_chinese(ui, tenant, doc):
    at = open_page(PAGE, lang="zh", kb=doc.kb_id, doc=doc.id)
    assert at.title[0].value.endswith("分块")
    assert "命中 0 次" in md(at)
    first = chunk_at(ui, tenant, doc.id, 0)
    at.button(key=f"chunks_delbtn_{first.id}").click().run()
    assert "确定永久删除" in " ".join(w.value for w in at.warning)


def test_markdown_in_a_chunk_is_rendered_safely(ui, tenant):
    kb = ui.knowledge.create(tenant, "Policies")
    (d,) = ingest(ui, tenant, kb.id, [("refund.md", b"# Refund policy\n\n## Window\n\nReturn **within** thirty days.")])
    ui.chunks.add(tenant, d.id, "## Notes\n\n<script>alert('x')</script> ![tracker](http://evil.example/p.png)\n\n"
                                "- first\n- second")
    at = open_page(PAGE, kb=kb.id, doc=d.id)
    body = md(at)
    assert "<h1>Refund policy</h1>" in body and "<h2>Window</h2>" in body and "<strong>within</strong>" in body
    assert "# Refund" not in body and "**within**" not in body  # no raw Markdown marks
    assert "&lt;script&gt;" in body and "<script>" not in body  # a chunk's own HTML is text, never markup
    assert "<img" not in body and "evil.example" not in body and "tracker" in body  # no remote fetch
    assert "<li>first</li>" in body


def test_the_list_shows_a_spinner_while_it_loads(ui, tenant, doc, monkeypatch):
    """A long document's page used to stay blank for seconds: loading and drawing the cards happen under a spinner
    (Streamlit shows it after half a second; AppTest drops spinners, so the test watches them being entered)."""
    import streamlit

    real_spinner, real_list, open_spinners, listed_under = streamlit.spinner, ui.chunks.list, [], []

    class Watched:
        def __init__(self, text, **kwargs):
            self.inner, self.text = real_spinner(text, **kwargs), text

        def __enter__(self):
            open_spinners.append(self.text)
            return self.inner.__enter__()

        def __exit__(self, *exc):
            open_spinners.pop()
            return self.inner.__exit__(*exc)

    def watched_list(*args, **kwargs):
        listed_under.append(list(open_spinners))
        return real_list(*args, **kwargs)

    monkeypatch.setattr(streamlit, "spinner", Watched)
    monkeypatch.setattr(ui.chunks, "list", watched_list)
    at = open_page(PAGE, kb=doc.kb_id, doc=doc.id)
    assert "**#1**" in md(at)
    assert listed_under and all(s == ["Loading the chunks…"] for s in listed_under), listed_under
