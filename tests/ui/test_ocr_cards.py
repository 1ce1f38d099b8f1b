"""Chunk cards and hit testing show which pages were recognised by OCR, with the confidence."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ingest
from tests.helpers import mixed_pdf, text_image
from tests.ui.conftest import open_page


def md(at) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.fixture
def scanned(ui, tenant):
    """A PDF with a typed page 1 and a scanned page 2, split so that each page is its own chunk."""
    kb = ui.knowledge.create(tenant, "Scans", chunk_config={"chunk_size": 24, "chunk_overlap": 0})
    pdf = mixed_pdf(["Typed cover page of the travel policy for all staff members.",
                     text_image(["Hotel costs are refunded up to 180 euros per night."])])
    (doc,) = ingest(ui, tenant, kb.id, [("policy.pdf", pdf)])
    assert doc.status == "completed", doc.task.error
    return doc


def test_chunk_cards_mark_ocr_pages_in_both_languages(ui, scanned):
    at = open_page("pages/chunks.py", kb=scanned.kb_id, doc=scanned.id)
    body = md(at)
    assert re.search(r":green-badge\[🔍 OCR p\. 2 · 9\d%\]", body), body
    assert body.count("🔍 OCR") == len([c for c in ui.chunks.list("default", scanned.id).items if c.meta.get("ocr")])
    at = open_page("pages/chunks.py", lang="zh", kb=scanned.kb_id, doc=scanned.id)
    assert re.search(r"🔍 OCR 识别第 2 页 · 置信度 9\d%", md(at))


def test_hit_testing_marks_ocr_hits(ui, scanned):
    at = open_page("pages/hit_testing.py", kb=scanned.kb_id)
    at.text_area(key=f"hit_testing_query_{scanned.kb_id}").input("hotel refunded per night")
    at.button(key="hit_testing_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    body = md(at)
    assert "180 euros" in body and re.search(r"🔍 OCR p\. 2 · 9\d%", body)
