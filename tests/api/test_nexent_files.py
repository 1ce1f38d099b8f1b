"""Nexent files over the core file storage: upload into an index, storage (several files, list by prefix, signed URL
or bytes, delete, batch URLs), preprocess (SSE); a stored file as a task source and as an agent's attachment; and
one whole session driven as Nexent's front end drives it."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.helpers import sse_events

NOTES = b"Meeting notes: the launch moves to the ninth of March. Owner: Priya."


def store(client, *files: tuple[str, bytes], folder: str = "attachments") -> dict:
    res = client.post("/api/file/storage", files=[("files", f) for f in files], data={"folder": folder})
    assert res.status_code == 200, res.text
    return res.json()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_storage_upload_list_get_delete_and_batch_urls(client, api_app):
    stored = store(client, ("notes.txt", NOTES), ("tool.exe", b"MZ"), ("plan.md", b"# Plan\nShip it."))
    assert (stored["success_count"], stored["failed_count"]) == (2, 1)
    ok, refused = [r for r in stored["results"] if r["success"]], [r for r in stored["results"] if not r["success"]]
    assert refused[0]["file_name"] == "tool.exe" and ".exe" in refused[0]["error"]
    notes = next(r for r in ok if r["file_name"] == "notes.txt")
    assert notes["file_size"] == len(NOTES) and notes["content_type"] == "text/plain" and notes["folder"] == \
        "attachments"
    anonymous = TestClient(api_app)
    assert anonymous.get(path_of(notes["url"])).content == NOTES  # the signed URL needs no key

    listed = client.get("/api/file/storage", params={"prefix": "attachments/no"}).json()
    assert listed["total"] == 1 and listed["files"][0]["name"] == "notes.txt" and listed["files"][0]["url"]
    assert client.get("/api/file/storage", params={"prefix": "plan"}).json()["files"][0]["name"] == "plan.md"
    assert "url" not in client.get("/api/file/storage", params={"include_urls": False}).json()["files"][0]
    assert client.get("/api/file/storage", params={"limit": 1}).json()["total"] == 1

    one = client.get(f"/api/file/storage/{notes['object_name']}", params={"expires": 60}).json()
    assert one["success"] is True and one["expires_in"] == 60 and one["expires"].endswith("Z")
    assert anonymous.get(path_of(one["url"])).content == NOTES
    raw = client.get(f"/api/file/storage/{notes['object_name']}", params={"download": True})
    assert raw.content == NOTES and "notes.txt" in raw.headers["content-disposition"]

    batch = client.post("/api/file/storage/batch-urls", json={"object_names": [notes["object_name"], "nope"]}).json()
    assert (batch["success_count"], batch["failed_count"]) == (1, 1) and batch["urls"] == batch["results"]
    assert batch["results"][0]["url"] and batch["results"][1]["error"]

    gone = client.delete(f"/api/file/storage/{notes['object_name']}")
    assert gone.json() == {"success": True, "message": f"File {notes['object_name']} successfully deleted"}
    assert client.get(f"/api/file/storage/{notes['object_name']}").status_code == 404
    assert client.delete(f"/api/file/storage/{notes['object_name']}").status_code == 404


def test_files_into_an_index_and_as_a_task_source(client, svc):
    client.post("/api/indices/kb")
    uploaded = client.post("/api/file/upload", files=[("file", ("notes.txt", NOTES))],
                           data={"index_name": "kb", "chunking_strategy": "basic"})
    assert uploaded.status_code == 201 and uploaded.json()["uploaded_files"] == ["notes.txt"]
    task_id = uploaded.json()["process_tasks"]["task_id"]
    two = client.post("/api/file/upload", files=[("file", ("a.md", b"# A\nalpha")), ("file", ("b.md", b"# B\nbeta"))],
                      data={"index_name": "kb"}).json()
    assert len(two["process_tasks"]["task_ids"]) == 2
    object_name = store(client, ("plan.md", b"# Plan\nThe budget is 300 euros."))["results"][0]["object_name"]
    from_storage = client.post("/api/tasks", json={"source": object_name, "source_type": "file", "index_name": "kb"})
    assert from_storage.status_code == 201
    svc.workers.drain()
    assert client.get(f"/api/tasks/{task_id}").json()["status"] == "completed"
    assert client.get(f"/api/tasks/{from_storage.json()['task_id']}").json()["status"] == "completed"
    hit = client.post("/api/indices/search/accurate", json={"query": "budget euros", "index_names": ["kb"]}).json()
    assert hit["results"][0]["filename"] == "plan.md"
    added = client.post("/api/indices/kb/documents", json={"results": [{"source": object_name}]}).json()
    assert added["total_indexed"] == 1

    for files, data, status in (([("file", ("x.txt", b"x"))], {"index_name": "nope"}, 404),
                                ([], {"index_name": "kb"}, 422),
                                ([("file", ("x.txt", b"x"))], {"index_name": "kb", "chunking_strategy": "odd"}, 400)):
        res = client.post("/api/file/upload", files=files or None, data=data)
        assert res.status_code == status, res.text
    assert client.post("/api/tasks", json={"source": "nope", "source_type": "file", "index_name": "kb"}) \
        .status_code == 404


def test_preprocess_streams_progress_and_each_files_text(client):
    res = client.post("/api/file/preprocess", data={"query": "When is the launch?"},
                      files=[("files", ("notes.txt", NOTES)), ("files", ("broken.pdf", b"%PDF-1.4 garbage"))])
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
    events = [data for _, data in sse_events(res.text)]
    assert [e["type"] for e in events] == ["progress", "file_processed", "progress", "error", "complete"]
    assert events[0]["progress"] == 0 and events[2]["progress"] == 50 and "2/2" in events[2]["message"]
    assert events[1]["filename"] == "notes.txt" and "ninth of March" in events[1]["description"]
    assert events[3]["filename"] == "broken.pdf" and events[3]["message"].startswith("Error parsing file broken.pdf")
    assert events[4] == {"type": "complete", "progress": 100, "final_query": "When is the launch?"}
    assert client.post("/api/file/preprocess", data={"query": "x"}).status_code == 422


def test_other_tenants_files_and_keys(client, other_client, api_app):
    name = store(client, ("notes.txt", NOTES))["results"][0]["object_name"]
    assert other_client.get(f"/api/file/storage/{name}").status_code == 404
    assert other_client.delete(f"/api/file/storage/{name}").status_code == 404
    assert other_client.get("/api/file/storage").json() == {"total": 0, "files": []}
    assert other_client.post("/api/agent/run", json={"query": "x", "minio_files": [{"object_name": name}]}) \
        .status_code == 404
    assert TestClient(api_app).post("/api/file/storage", files=[("files", ("a.txt", b"a"))]).status_code == 401


def test_a_whole_session_as_nexents_front_end(client, llm):
    """Upload to storage -> preprocess -> create a conversation -> run the agent with those files -> title it ->
    the conversation is listed with its title -> the answer is liked."""
    uploaded = store(client, ("notes.txt", NOTES))
    attachment = uploaded["results"][0]
    pre = client.post("/api/file/preprocess", data={"query": "When does the launch happen?"},
                      files=[("files", ("notes.txt", NOTES))])
    descriptions = {e["filename"]: e["description"] for _, e in sse_events(pre.text) if e["type"] == "file_processed"}
    cid = client.put("/api/conversation/create", json={}).json()["data"]["conversation_id"]

    run = client.post("/api/agent/run", json={
        "query": "When does the launch happen?", "conversation_id": cid, "is_set": True, "history": [],
        "minio_files": [{"object_name": attachment["object_name"], "name": "notes.txt", "type": "text/plain",
                         "size": attachment["file_size"], "url": attachment["url"],
                         "description": descriptions["notes.txt"]}]})
    frames = [data for _, data in sse_events(run.text)]
    answer = "".join(f["content"] for f in frames if f["type"] == "final_answer")
    assert answer.startswith("Mock answer about") and frames[-1]["type"] == "token_count"
    sent = llm.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert "ninth of March" in sent and sent.startswith("When does the launch happen?")  # the file reached the model

    history = [{"role": "user", "content": "When does the launch happen?"}, {"role": "assistant", "content": answer}]
    title = client.post("/api/conversation/generate_title", json={"conversation_id": cid, "history": history})
    title = title.json()["data"]
    assert [(c["conversation_id"], c["conversation_title"]) for c in client.get("/api/conversation/list")
            .json()["data"]] == [(cid, title)]

    question, reply = client.get(f"/api/conversation/{cid}").json()["data"]["message"]
    assert question["minio_files"][0]["object_name"] == attachment["object_name"]
    assert client.post("/api/conversation/message/update_opinion",
                       json={"message_id": reply["message_id"], "opinion": "Y"}).json()["data"] is True
    assert client.get(f"/api/conversation/{cid}").json()["data"]["message"][1]["opinion_flag"] == "Y"
