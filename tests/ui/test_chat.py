"""Chat page: quick chat and assistants, streamed answers with citations, retrieval-only mode, sessions,
feedback, regenerate, continue, provider errors, Chinese labels."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from tests.conftest import ingest
from tests.mock_llm import Reply
from tests.ui.conftest import open_page

PAGE = "pages/chat.py"
FILES = [
    ("vacation.txt", b"Employees get twenty five vacation days per year. Unused vacation days expire in March."),
    ("bikes.txt", b"Bicycles can be parked in the courtyard. The bike shed closes at ten."),
]


@pytest.fixture
def kb(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    ingest(ui, tenant, kb.id, FILES)
    return ui.knowledge.get(tenant, kb.id)


@pytest.fixture
def llm_env(monkeypatch, mock_llm):
    """The tenant's default LLM is the mock OpenAI server (as OPENAI_BASE_URL would configure it)."""
    monkeypatch.setenv("OPENAI_BASE_URL", mock_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
    monkeypatch.delenv("ALMANAC_LLM_MODEL", raising=False)
    return mock_llm


def param(at, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def md(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def ask(at, question: str):
    at.chat_input(key="chat_input").set_value(question).run()
    return ok(at)


def bubbles(at) -> list[tuple[str, str]]:
    return [(c.name, "\n".join(m.value for m in c.markdown)) for c in at.chat_message]


def chunk_links(at) -> list[dict]:
    return [parse_qs(p.proto.query_string) for p in at.get("page_link") if p.proto.label == "Open chunk"]


def answers(ui, tenant, conversation_id: str):
    return [m for m in ui.chat.list_messages(tenant, conversation_id) if m.role == "assistant" and m.mode != "opener"]


def test_nothing_to_chat_with_guides_the_user(ui):
    at = open_page(PAGE)
    assert "nothing to chat with" in " ".join(i.value for i in at.info)
    assert {p.proto.label for p in at.get("page_link")} >= {"Create a knowledge base", "Set up an assistant"}


def test_quick_chat_without_model_is_retrieval_only_with_citations(ui, tenant, kb, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    at = open_page(PAGE, kb=kb.id)
    assert "Retrieval only" in md(at)  # the badge, before anything is asked
    assert any(p.proto.label == "Configure a model" for p in at.get("page_link"))
    assert bubbles(at) == [("assistant", "Hi! I'm your assistant, what can I do for you?")]  # the opener

    ask(at, "How many vacation days do employees get?")
    session = param(at, "session")
    [answer] = answers(ui, tenant, session)
    assert answer.mode == "retrieval_only" and answer.completed
    names = [n for n, _ in bubbles(at)]
    assert names == ["assistant", "user", "assistant"]
    last = bubbles(at)[-1][1]
    assert "Retrieval only" in last and "vacation.txt" in last and "No language model is configured" in last
    top = answer.references[0]
    assert top["document_name"] == "vacation.txt"
    assert chunk_links(at)[0] == {"kb": [kb.id], "doc": [top["doc_id"]], "chunk": [top["chunk_id"]]}
    # the session is listed in the sidebar under its title
    assert at.sidebar.button(key=f"chat_open_{session}").label.startswith("How many vacation days")


def test_streamed_answer_from_the_model_cites_the_right_chunk(ui, tenant, kb, llm_env):
    at = open_page(PAGE, kb=kb.id)
    assert "gpt-4o-mini" in md(at) and "Retrieval only" not in md(at)
    ask(at, "vacation days per year")
    request = llm_env.chat_requests[-1]["body"]
    assert request["stream"] is True and request["model"] == "gpt-4o-mini"
    last = bubbles(at)[-1][1]
    assert "Mock answer about: vacation days per year. [1]" in last
    assert "cited" in last  # the reference the answer cites is marked
    [answer] = answers(ui, tenant, param(at, "session"))
    assert answer.mode == "llm" and answer.completed and answer.completion_tokens > 0
    ref = next(r for r in answer.references if r["index"] == 1)
    assert ref["document_name"] == "vacation.txt"
    assert chunk_links(at)[0] == {"kb": [kb.id], "doc": [ref["doc_id"]], "chunk": [ref["chunk_id"]]}
    chunk = ui.chunks.get(tenant, ref["chunk_id"])
    assert chunk.doc_id == ref["doc_id"] and "twenty five vacation days" in chunk.content
    assert "sk-test-0123456789" not in md(at)  # the key is never shown


def open_with_answer(ui, tenant, kb, question="vacation days"):
    c = ui.chat.create_session(tenant, kb_ids=[kb.id])
    for _ in ui.chat.answer(tenant, c.id, question):
        pass
    at = open_page(PAGE, kb=kb.id, session=c.id)
    return at, c


def test_feedback_like_dislike_and_clear(ui, tenant, kb):
    at, c = open_with_answer(ui, tenant, kb)
    [answer] = answers(ui, tenant, c.id)
    ok(at.button(key=f"chat_like_{answer.id}").click().run())
    assert ui.chat.get_message(tenant, answer.id).feedback == 1
    assert at.button(key=f"chat_like_{answer.id}").proto.type == "primary"
    ok(at.button(key=f"chat_dislike_{answer.id}").click().run())
    assert ui.chat.get_message(tenant, answer.id).feedback == -1
    ok(at.button(key=f"chat_dislike_{answer.id}").click().run())
    assert ui.chat.get_message(tenant, answer.id).feedback == 0
    assert not at.button(key=f"chat_like_{answer.id}").proto.type == "primary"


def test_regenerate_replaces_the_last_answer(ui, tenant, kb, llm_env):
    llm_env.script([Reply(text="First answer [1]"), Reply(text="Second answer, better. [1]")])
    at, c = open_with_answer(ui, tenant, kb)
    [first] = answers(ui, tenant, c.id)
    assert first.content == "First answer [1]"
    ok(at.button(key=f"chat_regen_{first.id}").click().run())
    [second] = answers(ui, tenant, c.id)
    assert second.id != first.id and second.content == "Second answer, better. [1]" and second.completed
    assert "Second answer, better." in bubbles(at)[-1][1]
    assert [n for n, _ in bubbles(at)] == ["assistant", "user", "assistant"]


def test_continue_an_interrupted_answer(ui, tenant, kb, llm_env):
    llm_env.script([Reply(text="Employees get twenty five days [1] and more words follow here"),
                    Reply(text=" and unused days expire in March.")])
    c = ui.chat.create_session(tenant, kb_ids=[kb.id])
    stream = ui.chat.answer(tenant, c.id, "vacation days")
    for event in stream:  # a client that goes away after the first words
        if event.type == "delta":
            break
    stream.close()
    [partial] = answers(ui, tenant, c.id)
    assert not partial.completed and partial.content

    at = ok(open_page(PAGE, kb=kb.id, session=c.id))
    assert "Incomplete" in bubbles(at)[-1][1]
    ok(at.button(key=f"chat_continue_{partial.id}").click().run())
    [done] = answers(ui, tenant, c.id)
    assert done.id == partial.id and done.completed
    assert done.content.startswith(partial.content) and done.content.endswith("expire in March.")
    assert "Incomplete" not in bubbles(at)[-1][1]
    assert not [b for b in at.button if b.key == f"chat_continue_{partial.id}"]


def test_provider_error_is_shown_in_the_conversation(ui, tenant, kb, llm_env):
    llm_env.script([Reply(status=401, error_message="Incorrect API key provided: sk-test-0123456789.")])
    at = ask(open_page(PAGE, kb=kb.id), "vacation days")
    notice = " ".join(w.value for w in at.warning)  # the conversation goes on: the passages, and why
    assert "quotes the knowledge base instead" in notice and "rejected" in notice and not at.error
    assert "sk-test-0123456789" not in notice and "Traceback" not in notice
    assert "Model unavailable" in " ".join(m.value for m in at.markdown)
    assert any(p.proto.label == "Check the model settings" for p in at.get("page_link"))
    [answer] = answers(ui, tenant, param(at, "session"))
    assert answer.error and answer.completed and answer.mode == "fallback" and "vacation" in answer.content


def test_unreachable_model_of_an_assistant(ui, tenant, kb, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = ui.models.create(tenant, type="llm", provider="openai", name="Local", model="qwen",
                             base_url="http://127.0.0.1:9/v1", params={"timeout": 2, "max_retries": 0})
    a = ui.assistants.create(tenant, "Helper", kb_ids=[kb.id], llm={"model_id": model.id})
    at = ask(open_page(PAGE, assistant=a.id), "vacation days")
    assert "Cannot connect" in " ".join(w.value for w in at.warning)
    assert ui.models.get(tenant, model.id).status == "error"  # the Models page shows it unreachable


def test_assistant_chat_uses_its_opener_model_and_sessions(ui, tenant, kb, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = ui.models.create(tenant, type="llm", provider="mock", name="Mock", model="mock-chat")
    a = ui.assistants.create(tenant, "HR helper", avatar="🦉", kb_ids=[kb.id], llm={"model_id": model.id},
                             prompt={"opener": "Hello from HR!"})
    ui.assistants.create(tenant, "Other")
    at = open_page(PAGE, assistant=a.id)
    assert at.selectbox(key="chat_assistant").value == a.id
    assert "mock-chat" in md(at) and "#### 🦉 HR helper" in md(at) and "📘 Handbook" in md(at)
    assert bubbles(at) == [("assistant", "Hello from HR!")]
    ask(at, "How many vacation days?")
    [c] = ui.chat.list_sessions(tenant, assistant_id=a.id).items
    assert "Mock answer about: How many vacation days?" in bubbles(at)[-1][1]

    # new chat, rename, delete
    ok(at.sidebar.button(key="chat_new").click().run())
    assert "session" not in at.query_params and bubbles(at) == [("assistant", "Hello from HR!")]
    ok(at.sidebar.button(key=f"chat_open_{c.id}").click().run())
    assert len(bubbles(at)) == 3
    at.text_input(key=f"chat_title_{c.id}").input("Vacation question")
    ok(at.button(key=f"chat_rename_{c.id}").click().run())
    assert ui.chat.get_session(tenant, c.id).title == "Vacation question"
    assert at.sidebar.button(key=f"chat_open_{c.id}").label == "Vacation question"
    ok(at.button(key=f"chat_suggest_{c.id}").click().run())  # by the model: the mock's title
    title = ui.chat.get_session(tenant, c.id).title
    assert title.startswith("Mock answer about") and at.text_input(key=f"chat_title_{c.id}").value == title
    ok(at.button(key=f"chat_delete_{c.id}").click().run())
    assert ui.chat.list_sessions(tenant, assistant_id=a.id).total == 1  # asks first
    ok(at.button(key=f"chat_delete_go_{c.id}").click().run())
    assert ui.chat.list_sessions(tenant, assistant_id=a.id).total == 0
    assert "session" not in at.query_params and "Conversation deleted" in " ".join(x.value for x in at.toast)


def test_switching_between_assistant_and_knowledge_base(ui, tenant, kb):
    a = ui.assistants.create(tenant, "Helper", kb_ids=[kb.id])
    at = open_page(PAGE)
    assert at.button_group(key="chat_kind").value == "assistant" and param(at, "assistant") == a.id
    at.button_group(key="chat_kind").set_value("kb").run()
    ok(at)
    assert at.selectbox(key="chat_kb").value == kb.id and "assistant" not in at.query_params


def test_chinese_labels(ui, tenant, kb, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    at = open_page(PAGE, lang="zh", kb=kb.id)
    assert "仅检索" in md(at) and at.title[0].value.endswith("对话")
    ask(at, "vacation days")
    assert "来源" in " ".join(e.proto.label for e in at.expander)
