"""Demo mode in the admin UI: the home page says it is a demo and where to start; model settings are read-only."""

from __future__ import annotations

from tests.ui.conftest import open_page


def test_home_page_says_it_is_a_demo_and_links_the_readme(ui):
    ui.settings.demo = True
    sample = ui.demo.ensure_sample()
    at = open_page()
    body = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "This is a public demo of Almanac" in body
    assert "[Read the README](/readme)" in body  # no Space id: the server's own copy
    assert f"(/chat/{sample.assistant_id})" in body and f"(/chat/{sample.agent_id})" in body
    assert "5 files of 5 MB per upload" in body and "30 questions per hour" in body
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    search, ask = links["Search the sample handbook"], links["Ask the handbook assistant"]
    assert (search.page, search.query_string) == ("hit_testing", f"kb={sample.kb_id}")
    assert (ask.page, ask.query_string) == ("chat", f"assistant={sample.assistant_id}")
    zh = open_page(lang="zh")
    assert "这是 Almanac 的公开演示" in " ".join(m.value for m in zh.markdown)


def test_home_page_of_a_regular_install_has_no_demo_notice(ui):
    ui.knowledge.create("default", "Handbook")
    at = open_page()
    assert "public demo" not in " ".join(m.value for m in at.markdown)


def test_models_page_is_read_only_in_a_demo(ui):
    ui.settings.demo = True
    at = open_page("pages/models.py")
    assert "read-only in this demo" in " ".join(i.value for i in at.info)
