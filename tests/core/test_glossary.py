"""Glossaries: term pairs per knowledge base, CSV import/export, suggestions mined from the text."""

import pytest

from core.errors import InvalidInput, NotFound
from core.glossary import swap_terms
from core.glossary_mining import mine
from tests.conftest import ingest


@pytest.fixture
def kb(svc, tenant):
    return svc.knowledge.create(tenant, "Docs")


def test_pairs_are_added_once_in_either_order_and_case(svc, tenant, kb):
    report = svc.glossary.add(tenant, kb.id, [("租户", "tenant"), ("数据集", "dataset")])
    assert (report.added, report.skipped, report.total) == (2, 0, 2)
    again = svc.glossary.add(tenant, kb.id, [("Tenant", "租户"), ("数据集", " Dataset "), ("文档", "document")])
    assert (again.added, again.skipped, again.total) == (1, 2, 3)
    assert [(p.term, p.translation) for p in svc.glossary.list(tenant, kb.id)] == \
        [("租户", "tenant"), ("数据集", "dataset"), ("文档", "document")]
    first = svc.glossary.list(tenant, kb.id)[0]
    assert svc.glossary.delete(tenant, kb.id, [first.id]) == 1 and svc.glossary.count(tenant, kb.id) == 2
    replaced = svc.glossary.add(tenant, kb.id, [("子账号", "sub-account")], replace=True)
    assert replaced.total == 1 and [p.term for p in svc.glossary.list(tenant, kb.id)] == ["子账号"]


@pytest.mark.parametrize(("pair", "message"), [
    (("", "tenant"), "needs a term and its translation"),
    (("租户", "x" * 101), "longer than 100"),
    (("Tenant", "tenant"), "its own translation"),
])
def test_bad_pairs_are_refused_and_change_nothing(svc, tenant, kb, pair, message):
    with pytest.raises(InvalidInput, match=message):
        svc.glossary.add(tenant, kb.id, [("租户", "tenant"), pair])
    assert svc.glossary.list(tenant, kb.id) == []


def test_csv_import_and_export(svc, tenant, kb):
    data = "term,translation\n租户,tenant\n\n数据集,dataset\n租户,Tenant\n".encode("utf-8-sig")
    report = svc.glossary.import_csv(tenant, kb.id, data)
    assert (report.added, report.skipped) == (2, 1)
    exported = svc.glossary.export_csv(tenant, kb.id).decode()
    assert exported == "term,translation\n租户,tenant\n数据集,dataset\n"
    assert svc.glossary.import_csv(tenant, kb.id, "文档\tdocument\n分片上传\tmultipart upload\n".encode("gb18030")).added == 2


@pytest.mark.parametrize(("data", "message"), [
    ("租户,tenant\n数据集\n文档,document,extra\n".encode(), r"line 2: expected two cells .*line 3: expected two cells"),
    ("租户,租户\n".encode(), "line 1: '租户' is its own translation"),
    (b"term,translation\n", "holds no glossary entries"),
    (b"\x00\x01\x02\xff\xfe\x00", "not text"),
])
def test_a_bad_csv_imports_nothing_and_says_where(svc, tenant, kb, data, message):
    with pytest.raises(InvalidInput, match=message):
        svc.glossary.import_csv(tenant, kb.id, data)
    assert svc.glossary.list(tenant, kb.id) == []


def test_glossaries_belong_to_their_tenant_and_go_with_the_knowledge_base(svc, tenant, kb):
    svc.glossary.add(tenant, kb.id, [("租户", "tenant")])
    other = svc.tenants.create_tenant("other")
    for call in (lambda: svc.glossary.list(other, kb.id), lambda: svc.glossary.add(other, kb.id, [("a", "b")]),
                 lambda: svc.glossary.import_csv(other, kb.id, b"a,b"), lambda: svc.glossary.suggest(other, kb.id)):
        with pytest.raises(NotFound):
            call()
    copy = svc.knowledge.copy(tenant, kb.id)
    assert [(p.term, p.translation) for p in svc.glossary.list(tenant, copy.id)] == [("租户", "tenant")]
    svc.knowledge.delete(tenant, kb.id)
    assert svc.glossary.pairs([kb.id]) == []


def test_swapping_terms():
    pairs = [("租户", "tenant"), ("数据集", "dataset"), ("API 密钥", "API key"), ("数据", "data")]
    swap = swap_terms("How are Tenants and their DATASETS isolated? api key", pairs)
    assert swap.text == "how are 租户 and their 数据集 isolated? API 密钥"
    assert swap.terms == {"tenants": "租户", "datasets": "数据集", "api key": "API 密钥"}
    assert swap_terms("租户的数据集如何隔离", pairs).text == "tenant 的 dataset 如何隔离"  # longest term first
    assert swap_terms("contenant datasetx", pairs) is None  # English terms match whole words only


def test_suggestions_are_mined_from_the_knowledge_base(svc, tenant, kb):
    ingest(svc, tenant, kb.id, [("guide.md", """# 租户管理 Tenant Management

每个租户（tenant）拥有独立的数据。创建数据集（dataset）后上传文档。

## 分片上传（Multipart Upload）

超过 100 MB 的文件使用分片上传，每个分片 8 MB（最后一个分片可以更小）。

| 术语 | English |
|---|---|
| 子账号 | sub-account |
| page_size | 每页数量 | int |
""".encode())])
    svc.glossary.add(tenant, kb.id, [("数据集", "dataset")])
    found = {(g.term, g.translation) for g in svc.glossary.suggest(tenant, kb.id)}
    assert found == {("租户", "tenant"), ("租户管理", "tenant management"), ("分片上传", "multipart upload"),
                     ("子账号", "sub-account")}  # not the pair already in the glossary, not the header row


def test_mining_counts_and_shows_an_example():
    (first, *_) = mine(["API 密钥与访问令牌（access token）不同。", "The Tenant (租户) owns data.", "租户 / tenant"])
    assert (first.term, first.translation, first.count) == ("租户", "tenant", 2)
    assert "Tenant (租户)" in first.example
