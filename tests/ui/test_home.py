from tests.conftest import ingest
from tests.ui.conftest import open_page


def texts(at) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(str(m.value) for m in at.metric)


def test_empty_workspace_guides_the_user(ui):
    at = open_page()
    assert "Welcome" in " ".join(i.value for i in at.info)


def test_overview_counts_and_latest_documents(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook", description="HR rules")
    ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days a year."), ("b.txt", b"Bikes are allowed.")])
    ui.retrieval.search(tenant, [kb.id], "vacation days", source="ui")
    at = open_page()
    body = texts(at)
    assert "Handbook" in body and "a.txt" in body
    assert [m.value for m in at.metric][:4] == ["1", "2", "2", "1"]
    assert "vacation days" in body


def test_chinese_labels(ui, tenant):
    ui.knowledge.create(tenant, "手册")
    at = open_page(lang="zh")
    assert any(m.label == "知识库" for m in at.metric)


def test_login_required_when_password_set(ui):
    ui.settings.ui_password = "s3cret"
    at = open_page()
    assert at.text_input[0].label == "Password"
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password" in " ".join(e.value for e in at.error)
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.text_input  # signed in: the form is gone and the home page shows
    assert "Welcome" in " ".join(i.value for i in at.info)
