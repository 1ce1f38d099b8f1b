"""RAGFlow retrieval's `cross_languages` and `keyword`: in-process, and through ragflow-sdk against a live server
whose default model (OPENAI_BASE_URL) is the mock OpenAI server, which translates a fixed phrase list."""

from __future__ import annotations

import pytest
from ragflow_sdk import RAGFlow

from tests.conftest import ingest
from tests.helpers import free_port, start_server, stop_process
from tests.helpers.bilingual import CROSS_QUESTIONS, files
from tests.mock_llm import MockOpenAIServer

KEY = "almanac-crosslang-sdk-key"


def names(data: dict) -> list[str]:
    return [c["document_keyword"] for c in data["chunks"]]


def test_cross_languages_and_keyword_in_process(client, svc, tenant, llm):
    kb = svc.knowledge.create(tenant, "bilingual")
    ingest(svc, tenant, kb.id, files())
    ask = {"question": "How many sub-accounts can a tenant create?", "dataset_ids": [kb.id], "page_size": 5,
           "similarity_threshold": 0.01, "highlight": True}  # ties at 0 fall in any order
    assert "子账号.txt" not in names(client.post("/api/v1/retrieval", json=ask).json()["data"])  # the KB sets none
    crossed = client.post("/api/v1/retrieval", json={**ask, "cross_languages": ["Chinese"]}).json()["data"]
    answer = next(c for c in crossed["chunks"] if c["document_keyword"] == "子账号.txt")
    assert "<em>租户</em>" in answer["highlight"]  # the translation's terms are highlighted too
    assert len(llm.chat_requests) == 1
    assert client.post("/api/v1/retrieval", json={**ask, "keyword": True}).json()["code"] == 0
    assert len(llm.chat_requests) == 2  # keywords asked for: another question to the model
    wrong = client.post("/api/v1/retrieval", json={**ask, "cross_languages": ["Klingon"]}).json()
    assert wrong["code"] == 101 and "unknown language 'Klingon'" in wrong["message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with MockOpenAIServer() as model, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_ADMIN_API_KEY", KEY)
        mp.setenv("ALMANAC_EMBEDDING_MODEL", "mock:words-64")
        port = free_port()
        proc = start_server(tmp_path_factory.mktemp("sdk") / "data", port, {
            "OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "sk-mock", "ALMANAC_LLM_MODEL": "mock-model"})
        yield f"http://127.0.0.1:{port}"
        stop_process(proc)


def test_cross_languages_through_ragflow_sdk(server):
    rag = RAGFlow(api_key=KEY, base_url=server)
    ds = rag.create_dataset(name="bilingual")
    docs = ds.upload_documents([{"display_name": n, "blob": b} for n, b in files()])
    ds.parse_documents([d.id for d in docs])
    for question, answer in CROSS_QUESTIONS.items():
        plain = rag.retrieve(dataset_ids=[ds.id], question=question, page_size=5)
        assert answer not in [c.document_name for c in plain]
        crossed = rag.retrieve(dataset_ids=[ds.id], question=question, page_size=5,
                               cross_languages=["English", "Chinese"])
        assert answer in [c.document_name for c in crossed]
    assert rag.retrieve(dataset_ids=[ds.id], question="How many days is a refund valid?", keyword=True)
    with pytest.raises(Exception, match="unknown language"):
        rag.retrieve(dataset_ids=[ds.id], question="refund", cross_languages=["Elvish"])


def test_other_dialects_follow_the_knowledge_base_setting(weknora, svc, tenant, llm):
    kb = svc.knowledge.create(tenant, "bilingual", retrieval_config={"query_languages": ["auto"], "threshold": 0.0})
    ingest(svc, tenant, kb.id, files())
    found = weknora.get(f"/api/v1/knowledge-bases/{kb.id}/hybrid-search",
                        params={"query": "访问令牌多久过期？"}).json()["data"]
    assert "tokens.txt" in [h["knowledge_title"] for h in found[:5]]
