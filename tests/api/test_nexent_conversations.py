"""Nexent conversations: integer ids, create / list / rename / get / delete, sources, generate_title, opinions;
bad input, other tenants."""

from __future__ import annotations

from tests.helpers import sse_events


def data(res, status: int = 200):
    assert res.status_code == status, res.text
    body = res.json()
    assert body["code"] == 0 and body["message"] == "success", body
    return body["data"]


def ask(client, conversation_id: int, query: str) -> list[dict]:
    res = client.post("/api/agent/run", json={"query": query, "conversation_id": conversation_id, "history": []})
    assert res.status_code == 200, res.text
    return [frame for _, frame in sse_events(res.text)]


def test_create_list_rename_get_and_delete(client):
    first = data(client.put("/api/conversation/create", json={}))
    second = data(client.put("/api/conversation/create", json={"title": "Trip planning"}))
    assert isinstance(first["conversation_id"], int) and second["conversation_id"] == first["conversation_id"] + 1
    assert first["conversation_title"] == "New Conversation" and second["conversation_title"] == "Trip planning"
    assert isinstance(first["create_time"], int) and first["update_time"] >= first["create_time"] > 1.6e12
    assert {c["conversation_id"] for c in data(client.get("/api/conversation/list"))} == \
        {first["conversation_id"], second["conversation_id"]}

    assert data(client.post("/api/conversation/rename", json={"conversation_id": first["conversation_id"],
                                                              "name": "Renamed"})) is True
    detail = data(client.get(f"/api/conversation/{first['conversation_id']}"))
    assert (detail["conversation_id"], detail["conversation_title"], detail["message"]) == \
        (first["conversation_id"], "Renamed", [])

    assert data(client.delete(f"/api/conversation/{first['conversation_id']}")) is True
    missing = client.get(f"/api/conversation/{first['conversation_id']}")
    assert missing.status_code == 404 and "does not exist" in missing.json()["message"]
    assert [c["conversation_id"] for c in data(client.get("/api/conversation/list"))] == [second["conversation_id"]]
    again = data(client.put("/api/conversation/create", json={}))
    assert again["conversation_id"] == second["conversation_id"] + 1  # a deleted number is never given again


def test_messages_sources_and_opinions(client, svc, tenant):
    kb = svc.knowledge.create(tenant, "Handbook")
    svc.documents.upload(tenant, kb.id, [("refunds.md", b"The refund window is thirty days after purchase.")])
    svc.workers.drain()
    cid = data(client.put("/api/conversation/create", json={}))["conversation_id"]
    frames = ask(client, cid, "How long is the refund window?")
    assert any(f["type"] == "search_content" for f in frames)

    [question, answer] = data(client.get(f"/api/conversation/{cid}"))["message"]
    assert question == {"role": "user", "message": "How long is the refund window?",
                        "message_id": question["message_id"], "opinion_flag": None}
    assert answer["role"] == "assistant" and answer["opinion_flag"] is None
    assert answer["message"][-1]["type"] == "final_answer" and "thirty days" in answer["message"][-1]["content"]
    [source] = answer["search"]
    assert (source["title"], source["source_type"], source["cite_index"]) == ("refunds.md", "file", 1)
    assert isinstance(answer["message_id"], int) and answer["message_id"] > question["message_id"]

    by_message = data(client.post("/api/conversation/sources", json={"message_id": answer["message_id"]}))
    assert by_message["images"] == [] and [s["title"] for s in by_message["searches"]] == ["refunds.md"]
    by_conversation = data(client.post("/api/conversation/sources", json={"conversation_id": cid, "type": "search"}))
    assert by_conversation["searches"][0]["message_id"] == answer["message_id"]
    assert data(client.post("/api/conversation/sources", json={"conversation_id": cid, "type": "image"})) == \
        {"searches": [], "images": []}

    for opinion, flag, feedback in (("Y", "Y", 1), ("N", "N", -1), (None, None, 0)):
        assert data(client.post("/api/conversation/message/update_opinion",
                                json={"message_id": answer["message_id"], "opinion": opinion})) is True
        assert data(client.get(f"/api/conversation/{cid}"))["message"][1]["opinion_flag"] == flag
        assert svc.chat.list_messages(tenant, svc.chat.id_of_number(tenant, cid))[1].feedback == feedback
    as_string = client.post("/api/conversation/message/update_opinion",
                            json={"message_id": str(answer["message_id"]), "opinion": "Y"})
    assert data(as_string) is True


def test_generate_title_with_and_without_a_model(client, mock_llm, svc, tenant):
    cid = data(client.put("/api/conversation/create", json={}))["conversation_id"]
    history = [{"role": "user", "content": "How do I renew my passport before the summer holidays?"},
               {"role": "assistant", "content": "Apply online."}]
    title = data(client.post("/api/conversation/generate_title", json={"conversation_id": cid, "history": history}))
    assert title and "passport" in title.lower()
    svc.models.create(tenant, type="llm", provider="openai", name="mock", model="mock-model",
                      base_url=mock_llm.base_url, params={"timeout": 5, "max_retries": 0}, is_default=True)
    title = data(client.post("/api/conversation/generate_title", json={"conversation_id": cid, "history": history}))
    assert title.startswith("Mock answer") and mock_llm.chat_requests
    assert data(client.get("/api/conversation/list"))[0]["conversation_title"] == title


def test_bad_input_and_other_tenants(client, other_client):
    cid = data(client.put("/api/conversation/create", json={}))["conversation_id"]
    cases = [
        ("get", "/api/conversation/abc", None, 422),
        ("get", "/api/conversation/999999", None, 404),
        ("delete", "/api/conversation/999999", None, 404),
        ("post", "/api/conversation/rename", {"conversation_id": cid, "name": ""}, 422),
        ("post", "/api/conversation/rename", {"conversation_id": "x", "name": "a"}, 422),
        ("post", "/api/conversation/sources", {}, 400),
        ("post", "/api/conversation/sources", {"message_id": 999999}, 404),
        ("post", "/api/conversation/generate_title", {"conversation_id": cid, "history": [{"role": "x"}]}, 422),
        ("post", "/api/conversation/message/update_opinion", {"message_id": 999999, "opinion": "Y"}, 404),
        ("post", "/api/conversation/message/update_opinion", {"message_id": 1, "opinion": "maybe"}, 422),
        ("put", "/api/conversation/create", {"title": "x" * 300}, 422),
    ]
    for method, path, body, status in cases:
        res = client.request(method.upper(), path, json=body)
        assert res.status_code == status, (path, body, res.text)
        assert ("detail" if status == 422 else "message") in res.json()
    ask(client, cid, "Hello?")
    [question, _] = data(client.get(f"/api/conversation/{cid}"))["message"]
    rated = client.post("/api/conversation/message/update_opinion", json={"message_id": question["message_id"],
                                                                        "opinion": "Y"})
    assert rated.status_code == 400 and "answers" in rated.json()["message"]  # a question cannot be rated

    assert other_client.get(f"/api/conversation/{cid}").status_code == 404
    assert other_client.post("/api/conversation/rename", json={"conversation_id": cid, "name": "x"}).status_code == 404
    assert other_client.delete(f"/api/conversation/{cid}").status_code == 404
    assert other_client.post("/api/conversation/message/update_opinion",
                             json={"message_id": question["message_id"] + 1, "opinion": "Y"}).status_code == 404
    assert other_client.post("/api/agent/run", json={"query": "hi", "conversation_id": cid}).status_code == 404
    assert data(other_client.get("/api/conversation/list")) == []
