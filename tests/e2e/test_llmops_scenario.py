"""The LLMOps API on a live server, as its front end uses it: upload files -> documents with a custom rule ->
poll the batch -> edit a segment -> hit test -> an app draft with a dataset and a built-in tool -> debug ->
messages -> long-term memory -> an API tool from an OpenAPI schema -> publish -> the app answers on its public
page (in Chromium) and over /v1/chat/completions. Every LLMOps route of ROUTES.tsv is in /openapi.json.
Screenshot: test-artifacts/llmops_public_page.png.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.container import build_services
from tests.helpers import CHROMIUM, ROOT, browser_page, free_port, swatch, start_server
from tests.mock_llm import MockOpenAIServer

KEY = "almanac-llmops-e2e-key"
ROUTES = Path(__file__).resolve().parents[1] / "fixtures" / "ROUTES.tsv"
SCREENSHOT = ROOT / "test-artifacts" / "llmops_public_page.png"
HANDBOOK = (b"# Leave\n\nEvery employee receives twenty-seven days of paid vacation per year. "
            b"Write to hr@example.com or see https://intranet.example.com/leave.\n\n"
            b"# Parking\n\nThe car park opens at seven in the morning on weekdays.\n")
FAQ = b"Question: Who approves expenses?\nAnswer: The budget office approves expenses above 500 euros.\n"
RULE = {"pre_process_rules": [{"id": "remove_extra_space", "enabled": True},
                              {"id": "remove_url_and_email", "enabled": True}],
        "segment": {"separators": ["\n\n", "\n"], "chunk_size": 24, "chunk_overlap": 0}}
SCHEMA = json.dumps({"description": "Dictionary lookups", "server": "https://dict.youdao.com", "paths": {
    "/suggest": {"get": {"description": "Look a word up", "operationId": "YoudaoSuggest", "parameters": [
        {"name": "q", "in": "query", "description": "the word", "required": True, "type": "str"}]}}}})


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A live server whose default LLM is the mock OpenAI server: (base URL, client, mock)."""
    data = tmp_path_factory.mktemp("llmops") / "data"
    with MockOpenAIServer() as llm, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_ADMIN_API_KEY", KEY)
        mp.setenv("ALMANAC_EMBEDDING_MODEL", "mock:words-64")
        seed = build_services(Settings(data_dir=data, ingest_workers=0))
        seed.models.create("default", type="llm", provider="openai", name="Mock", model="mock-model",
                           base_url=llm.base_url, params={"timeout": 10, "max_retries": 0}, is_default=True)
        seed.close()
        proc = start_server(data, port := free_port())
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:
                yield base, http, llm
        finally:
            proc.terminate()
            proc.wait(30)


def data(resp: httpx.Response):
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["code"] == "success", body
    return body["data"]


def wait_for_batch(http: httpx.Client, dataset: str, batch: str) -> list[dict]:
    deadline = time.time() + 120
    while time.time() < deadline:
        docs = data(http.get(f"/datasets/{dataset}/documents/batch/{batch}"))
        if all(d["status"] in ("completed", "error") for d in docs):
            return docs
        time.sleep(0.3)
    raise AssertionError(f"batch {batch} did not finish: {docs}")


def hit(http: httpx.Client, dataset: str, query: str) -> list[str]:
    return [h["content"] for h in data(http.post(f"/datasets/{dataset}/hit", json={
        "query": query, "retrieval_strategy": "hybrid", "k": 5, "score": 0.2}))]


def test_every_llmops_route_is_documented(live):
    base, _, _ = live
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    rows = [line.split("\t") for line in ROUTES.read_text().splitlines() if line.startswith("llmops\t")]
    assert len(rows) == 40
    assert [f"{m} {p}" for _, m, p, *_ in rows if m.lower() not in paths.get(p, {})] == []
    assert "get" in paths["/api/apps/{app_id}/long-term-memory"] and "post" in \
        paths["/datasets/{dataset_id}/documents/{document_id}/segment"]


def test_the_front_end_scenario(live):
    _, http, llm = live
    # Upload files and an icon; the icon's signed URL is served by the same process.
    files = [data(http.post("/upload-files/file", files={"file": f}))
             for f in (("handbook.md", HANDBOOK), ("faq.txt", FAQ))]
    icon = data(http.post("/upload-files/image", files={"file": ("kb.png", swatch())}))["image_url"]
    assert httpx.get(icon).headers["content-type"] == "image/png"
    assert httpx.get(files[0]["url"]).content == HANDBOOK
    dataset = data(http.post("/datasets", json={"name": "Handbook", "icon": icon}))["id"]

    # Documents with a custom rule, processed by the server's workers; poll the batch.
    added = data(http.post(f"/datasets/{dataset}/documents", json={
        "upload_file_ids": [f["id"] for f in files], "process_type": "custom", "rule": RULE}))
    docs = wait_for_batch(http, dataset, added["batch"])
    assert [d["status"] for d in docs] == ["completed", "completed"]
    assert all(d["segment_count"] == d["completed_segment_count"] > 0 and d["completed_at"] for d in docs)
    handbook = docs[0]["id"]

    # Edit a segment: a hit test finds the new text at once.
    segments = data(http.get(f"/datasets/{dataset}/documents/{handbook}/segments"))["list"]
    assert not any("@" in s["content"] or "https://" in s["content"] for s in segments)  # the rule cleaned them
    parking = next(s for s in segments if "car park" in s["content"])
    data(http.post(f"/datasets/{dataset}/documents/{handbook}/segments/{parking['id']}",
                   json={"content": "The bicycle shelter is behind building C.", "keywords": ["bicycle"]}))
    assert "The bicycle shelter is behind building C." in hit(http, dataset, "bicycle shelter")
    assert any("twenty-seven days" in c for c in hit(http, dataset, "paid vacation days"))
    assert [q["query"] for q in data(http.get(f"/datasets/{dataset}/queries"))][:2] == \
        ["paid vacation days", "bicycle shelter"]

    # An app draft with the dataset and a built-in tool; debug; messages; long-term memory.
    app = data(http.post("/apps", json={"name": "Leave planner", "icon": icon}))["id"]
    data(http.put(f"/apps/{app}/config", json={
        "model_config": {"provider": "openai", "model": "mock-model", "dialog_round": 3},
        "memory_mode": "long_term_memory", "datasets": [dataset],
        "retrieval_config": {"retrieval_strategy": "hybrid", "k": 3, "score": 0.1},
        "tools": [{"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator", "params": {}}],
        "opening_statement": "Ask me about leave.", "opening_questions": ["How many vacation days?"]}))
    answer = data(http.post(f"/apps/{app}/debug", json={"query": "Paid vacation days per year: what is 27 * 3?"}))
    assert "Tool result: 81" in answer["answer"] and "[1]" in answer["answer"]
    messages = data(http.get(f"/apps/{app}/messages"))
    assert [m["id"] for m in messages["list"]] == [answer["id"]]
    memory = data(http.get(f"/apps/{app}/long-term-memory"))["summary"]
    assert "vacation" in memory.lower()
    data(http.post(f"/api/apps/{app}/long-term-memory", json={"summary": "The user plans leave in May."}))
    assert data(http.get(f"/api/apps/{app}/long-term-memory"))["summary"] == "The user plans leave in May."
    got = data(http.get(f"/apps/{app}"))
    assert got["debug_conversation_id"] == answer["conversation_id"]
    assert got["drafted_app_config"]["opening_questions"] == ["How many vacation days?"]

    # An API tool from an OpenAPI schema, bound to the app.
    assert http.post("/api-tools/validate-openapi-schema", json={"openapi_schema": "{}"}).json()["code"] == \
        "validate_error"
    data(http.post("/api-tools/validate-openapi-schema", json={"openapi_schema": SCHEMA}))
    provider = data(http.post("/api-tools", json={"name": "Dictionary", "icon": icon, "openapi_schema": SCHEMA,
                                                   "headers": [{"key": "X-Token", "value": "secret-token-1"}]}))["id"]
    assert data(http.get(f"/api-tools/{provider}/tools/YoudaoSuggest"))["inputs"][0]["name"] == "q"
    data(http.put(f"/apps/{app}/config", json={"tools": [
        {"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator", "params": {}},
        {"type": "api_tool", "provider_id": provider, "tool_id": "YoudaoSuggest", "params": {}}]}))
    assert [t["tool"]["name"] for t in data(http.get(f"/apps/{app}"))["drafted_app_config"]["tools"]] == \
        ["calculator", "YoudaoSuggest"]

    # Published, the app answers over the OpenAI-compatible API.
    data(http.post(f"/apps/{app}/publish"))
    completion = http.post("/v1/chat/completions", json={
        "model": app, "messages": [{"role": "user", "content": "How many paid vacation days per year?"}]}).json()
    assert completion["choices"][0]["message"]["content"].startswith("Mock answer about: How many paid vacation")
    assert any("How many paid vacation days" in json.dumps(r["body"]) for r in llm.chat_requests)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_an_app_published_here_answers_on_its_public_page(live):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, http, _ = live
    app = data(http.post("/apps", json={"name": "Front desk", "description": "Answers visitors."}))["id"]
    data(http.put(f"/apps/{app}/config", json={"opening_statement": "Welcome! What do you need?",
                                               "preset_prompt": "You greet visitors."}))
    data(http.post(f"/apps/{app}/publish"))
    # Private until shared: the same agent, shared over the RAGFlow API.
    assert http.put(f"/api/v1/agents/{app}", json={"shared": True}).json()["data"]["shared"] is True
    question = "Where do visitors sign in?"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(width=1100, height=800, timeout=30_000) as page:
        page.goto(f"{base}/chat/{app}")
        bots = page.locator("#pc-chatbot [data-testid='bot']")
        sync_api.expect(page.locator("#pc-header")).to_contain_text("Front desk")
        sync_api.expect(bots.first).to_have_text("Welcome! What do you need?")
        page.locator("#pc-input textarea").fill(question)
        page.locator("#pc-send").click()
        sync_api.expect(bots.last).to_contain_text(f"Mock answer about: {question}")
        sync_api.expect(page.locator("#pc-send")).to_be_enabled()
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    messages = data(http.get(f"/apps/{app}/messages"))["list"]
    assert messages == []  # the public page's conversation is not the debug one
