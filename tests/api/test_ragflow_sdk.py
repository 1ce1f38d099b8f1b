"""RAGFlow's official Python client (ragflow-sdk) against a live Almanac server, unchanged."""

from __future__ import annotations

import pytest
from ragflow_sdk import DataSet, RAGFlow

from tests.helpers import free_port, start_server, stop_process

KEY = "almanac-sdk-test-key"
TEXT = (b"The travel policy says employees book trains for trips under four hours.\n\n"
        b"Hotel costs above two hundred euros per night need approval from the budget office.\n\n"
        b"Lunch receipts are kept for seven years by the finance archive.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_ADMIN_API_KEY", KEY)
        mp.setenv("ALMANAC_EMBEDDING_MODEL", "mock:words-64")
        port = free_port()
        proc = start_server(tmp_path_factory.mktemp("sdk") / "data", port)
    yield f"http://127.0.0.1:{port}"
    stop_process(proc)


def test_dataset_documents_chunks_and_retrieval(server):
    rag = RAGFlow(api_key=KEY, base_url=server)
    ds = rag.create_dataset(name="sdk_kb", chunk_method="naive",
                            parser_config=DataSet.ParserConfig(rag, {"chunk_token_num": 24}))
    assert ds.chunk_method == "naive" and ds.parser_config.chunk_token_num == 24
    assert rag.create_dataset(name="SDK_KB").name == "SDK_KB(1)"  # a taken name is numbered, as in RAGFlow
    assert [d.name for d in rag.list_datasets()] == ["SDK_KB(1)", "sdk_kb"]
    assert rag.get_dataset(name="sdk_kb").id == ds.id
    with pytest.raises(Exception, match="lacks permission"):
        rag.get_dataset(name="nope")

    (doc,) = ds.upload_documents([{"display_name": "policy.txt", "blob": TEXT}])
    assert doc.run == "UNSTART" and doc.dataset_id == ds.id
    finished = ds.parse_documents([doc.id])  # the client's own polling until DONE / FAIL / CANCEL
    assert finished[0][0] == doc.id and finished[0][1] == "DONE" and finished[0][2] >= 2
    doc = ds.list_documents(id=doc.id)[0]
    assert doc.run == "DONE" and doc.progress == 1.0 and doc.chunk_count >= 2
    assert doc.download() == TEXT
    doc.update({"name": "travel.txt"})
    assert ds.list_documents(id=doc.id)[0].name == "travel.txt"

    chunks = doc.list_chunks()
    assert len(chunks) == doc.chunk_count and "travel" in chunks[0].content
    added = doc.add_chunk(content="Parking is free on weekends.", important_keywords=["parking"],
                          questions=["Where can visitors leave a bicycle?"])
    assert added.important_keywords == ["parking"] and added.questions == ["Where can visitors leave a bicycle?"]
    added.update({"content": "Parking is free on weekends and holidays.", "important_keywords": ["car park"]})
    assert any(c.content.endswith("holidays.") for c in doc.list_chunks(keywords="holidays"))

    hits = rag.retrieve(dataset_ids=[ds.id], question="hotel approval budget")
    assert hits and "Hotel" in hits[0].content and hits[0].similarity > 0 and hits[0].document_id == doc.id
    assert rag.retrieve(dataset_ids=[ds.id], question="bicycle", similarity_threshold=0.0)[0].id == added.id

    doc.delete_chunks([added.id])
    assert all(c.id != added.id for c in doc.list_chunks())
    ds.update({"name": "sdk_kb_renamed"})
    assert rag.list_datasets(id=ds.id)[0].name == "sdk_kb_renamed"
    ds.delete_documents(ids=[doc.id])
    assert ds.list_documents() == []
    rag.delete_datasets(ids=None)
    assert rag.list_datasets() == []


def test_wrong_key_raises_the_servers_message(server):
    with pytest.raises(Exception, match="API key is invalid"):
        RAGFlow(api_key="almanac-wrong", base_url=server).list_datasets()


def test_chat_session_and_ask(server):
    rag = RAGFlow(api_key=KEY, base_url=server)
    ds = rag.create_dataset(name="sdk_chat_kb")
    (doc,) = ds.upload_documents([{"display_name": "policy.txt", "blob": TEXT}])
    ds.parse_documents([doc.id])
    chat = rag.create_chat("sdk assistant", dataset_ids=[ds.id])
    assert chat.prompt.opener and chat.llm.max_tokens == 512
    chat.update({"name": "sdk assistant 2"})
    assert [c.name for c in rag.list_chats()] == ["sdk assistant 2"]
    session = chat.create_session("first")
    assert session.name == "first" and session.messages[0]["role"] == "assistant"
    streamed = list(session.ask("Who approves hotel costs?", stream=True))
    assert len(streamed) >= 2 and "Hotel" in streamed[-1].content  # no LLM here: the passages are quoted
    assert streamed[-1].reference and streamed[-1].reference[0]["document_id"] == doc.id
    (whole,) = list(session.ask("How long are lunch receipts kept?", stream=False))
    assert "receipts" in whole.content
    session.update({"name": "renamed"})
    (listed,) = chat.list_sessions()
    assert listed.name == "renamed" and len(listed.messages) == 5
    chat.delete_sessions(ids=[session.id])
    assert chat.list_sessions() == []
    rag.delete_chats(ids=[chat.id])
    assert rag.list_chats() == []


RAGFLOW_ROUTES = """
POST /api/v1/chats_openai/{chat_id}/chat/completions
POST /api/v1/datasets
DELETE /api/v1/datasets
PUT /api/v1/datasets/{dataset_id}
GET /api/v1/datasets
POST /api/v1/datasets/{dataset_id}/documents
PUT /api/v1/datasets/{dataset_id}/documents/{document_id}
GET /api/v1/datasets/{dataset_id}/documents/{document_id}
GET /api/v1/datasets/{dataset_id}/documents
DELETE /api/v1/datasets/{dataset_id}/documents
POST /api/v1/datasets/{dataset_id}/chunks
DELETE /api/v1/datasets/{dataset_id}/chunks
POST /api/v1/datasets/{dataset_id}/documents/{document_id}/chunks
GET /api/v1/datasets/{dataset_id}/documents/{document_id}/chunks
DELETE /api/v1/datasets/{dataset_id}/documents/{document_id}/chunks
PUT /api/v1/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk_id}
POST /api/v1/retrieval
POST /api/v1/chats
PUT /api/v1/chats/{chat_id}
DELETE /api/v1/chats
GET /api/v1/chats
POST /api/v1/chats/{chat_id}/sessions
PUT /api/v1/chats/{chat_id}/sessions/{session_id}
GET /api/v1/chats/{chat_id}/sessions
DELETE /api/v1/chats/{chat_id}/sessions
POST /api/v1/chats/{chat_id}/completions
POST /api/v1/agents/{agent_id}/sessions
POST /api/v1/agents/{agent_id}/completions
GET /api/v1/agents/{agent_id}/sessions
GET /api/v1/agents
"""  # the ragflow rows of api-specs/ROUTES.tsv


def test_openapi_lists_the_ragflow_routes(server):
    import httpx

    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    routes = [line.split(" ") for line in RAGFLOW_ROUTES.strip().splitlines()]
    assert len(routes) == 30
    assert [(m, p) for m, p in routes if m.lower() not in paths.get(p, {})] == []
