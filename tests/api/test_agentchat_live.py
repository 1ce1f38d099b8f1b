"""AgentChat's API on a live server: the spec's own Python example, and two users' flows over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from storage.db import Database
from storage.orm import Conversation
from tests.helpers import free_port, start_server, stop_process
from tests.mock_llm import MockOpenAIServer

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "agentchat_example.py"


@pytest.fixture(scope="module")
def llm():
    with MockOpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, llm):
    data, port = tmp_path_factory.mktemp("agentchat") / "data", free_port()
    proc = start_server(data, port, {"ALMANAC_EMBEDDING_MODEL": "mock:words-64", "ALMANAC_PASSWORD_HASH_ROUNDS": "4",
                                     "OPENAI_BASE_URL": llm.base_url,
                                     "OPENAI_API_KEY": "sk-test"})  # every workspace's default LLM
    yield f"http://127.0.0.1:{port}", data
    stop_process(proc)


def ok(res: httpx.Response):
    assert res.status_code == 200 and res.json()["status_code"] == 200, res.text
    return res.json()["data"]


def sign_up(base: str, name: str, password: str) -> tuple[httpx.Client, dict]:
    user = ok(httpx.post(f"{base}/api/v1/user/register", json={"user_name": name, "user_password": password}))
    token = ok(httpx.post(f"{base}/api/v1/user/login", json={"user_name": name, "user_password": password}))
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=60), user


def test_the_specs_python_example_runs_against_a_live_server(server):
    base, data = server
    client, user = sign_up(base, "test", "test")  # the user the example signs in as
    agent = ok(client.post("/api/v1/agent", json={"name": "我的助手", "description": "一个智能助手", "tool_ids": [],
                                                  "knowledge_ids": [], "enable_memory": True,
                                                  "system_prompt": "你是一个有用的助手", "logo_url": ""}))
    # The example chats on the dialog "dialog-123": make that dialog, as POST /api/v1/dialog would.
    db = Database(Settings(data_dir=data).sqlalchemy_url)
    with db.session() as s:
        s.add(Conversation(id="dialog-123", tenant_id=user["workspace_id"], assistant_id=agent["id"], title="我的助手"))
    db.engine.dispose()
    code = EXAMPLE.read_text(encoding="utf-8").replace("http://localhost:8000", base)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    frames = [json.loads(line[len("data: "):]) for line in run.stdout.splitlines()]
    assert frames and all(f["type"] == "response_chunk" for f in frames)
    assert frames[-1]["data"]["accumulated"] == "Mock answer about: 你好."
    history = ok(client.get("/api/v1/history", params={"dialog_id": "dialog-123"}))
    assert [(m["role"], m["content"]) for m in history] == [("user", "你好"), ("assistant", "Mock answer about: 你好.")]


def test_two_users_over_http(server):
    base, _ = server
    ann, _ = sign_up(base, "ann", "pass-1234")
    ben, _ = sign_up(base, "ben", "pass-5678")
    kb = ok(ann.post("/api/v1/knowledge/create", json={"knowledge_name": "Ann's notes"}))
    agent = ok(ann.post("/api/v1/agent", json={"name": "Calc", "description": "", "system_prompt": "",
                                               "logo_url": "", "tool_ids": ["calculator"],
                                               "knowledge_ids": [kb["id"]]}))
    dialog = ok(ann.post("/api/v1/dialog", json={"agent_id": agent["id"], "name": "Calc"}))
    with ann.stream("POST", "/api/v1/chat", json={"user_input": "What is 12*12?",
                                                  "dialog_id": dialog["dialog_id"]}) as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        frames = [json.loads(line[len("data: "):]) for line in res.iter_lines() if line.startswith("data: ")]
    assert {"执行可用工具: calculator"} <= {f["data"]["title"] for f in frames if f["type"] == "event"}
    assert "144" in frames[-1]["data"]["accumulated"]
    assert ok(ben.get("/api/v1/knowledge/select")) == [] and ok(ben.get("/api/v1/agent")) == []
    assert ben.post("/api/v1/chat", json={"user_input": "hi", "dialog_id": dialog["dialog_id"]}).status_code == 404
    assert ben.get("/api/v1/datasets").json()["data"] == []  # RAGFlow's API with Ben's token: his workspace
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert {"/api/v1/user/register", "/api/v1/chat", "/api/v1/knowledge/select", "/api/v1/tool/visible"} <= set(paths)
