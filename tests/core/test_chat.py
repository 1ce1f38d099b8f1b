"""Knowledge chat end to end through the core: a real OpenAI-protocol mock server, and no LLM at all."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.chat import ChatEvent
from core.container import build_services
from core.errors import Conflict, InvalidInput, NotFound
from core.prompting import CONTINUE_PROMPT, NO_MODEL_NOTE, NOTES, NOTHING_TO_QUOTE
from core.text import count_tokens
from tests.conftest import ingest
from tests.mock_llm import MockOpenAIServer, Reply

DOCS = [
    ("cats.txt", b"Cats purr when they are content and sleep most of the day."),
    ("dogs.txt", b"Dogs bark at strangers and love long walks in the park."),
    ("fish.txt", b"Goldfish swim in bowls and need clean water."),
]
KEY = "sk-test-0123456789abcdefXYZ"
ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture
def kb(svc, tenant):
    kb = svc.knowledge.create(tenant, "Zoo")
    ingest(svc, tenant, kb.id, DOCS)
    return kb


def use_llm(svc, tenant, base_url: str, *, key: str = "", model: str = "mock-model", timeout: float = 5,
            retries: int = 1):
    return svc.models.create(tenant, type="llm", provider="openai", name=f"mock {base_url} {model}", model=model,
                             base_url=base_url, api_key=key, params={"timeout": timeout, "max_retries": retries},
                             is_default=True)


def events_of(stream) -> list[ChatEvent]:
    return list(stream)


def last(svc, tenant, conv_id):
    return svc.chat.list_messages(tenant, conv_id)[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------ answers
def test_no_llm_gives_a_labelled_retrieval_only_answer_with_citations(svc, tenant, kb):
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    events = events_of(svc.chat.answer(tenant, conv.id, "why do dogs bark at strangers"))
    assert [e.type for e in events][0] == "references" and events[-1].type == "done"
    refs = events[0].data["references"]
    assert refs[0]["document_name"] == "dogs.txt" and refs[0]["index"] == 1
    assert events[0].data["mode"] == "retrieval_only"
    done = events[-1].data
    assert done["content"].startswith(NO_MODEL_NOTE) and "[1] dogs.txt: Dogs bark" in done["content"]
    assert done["cited"][0] == 1 and done["mode"] == "retrieval_only"
    assert "".join(e.data["content"] for e in events if e.type == "delta") == done["content"]
    msg = last(svc, tenant, conv.id)
    assert (msg.role, msg.mode, msg.completed, msg.error) == ("assistant", "retrieval_only", True, "")
    assert msg.references[0]["chunk_id"] == refs[0]["chunk_id"]
    assert svc.chunks.get(tenant, refs[0]["chunk_id"]).content == refs[0]["content"]
    assert svc.chat.get_session(tenant, conv.id).title == "why do dogs bark at strangers"  # heuristic at once


def test_a_question_longer_than_a_search_query_is_answered_from_its_start(svc, tenant, kb):
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    question = "why do dogs bark at strangers " + "and what else " * 1000  # 14,030 characters
    events = events_of(svc.chat.answer(tenant, conv.id, question))
    assert events[-1].type == "done" and events[0].data["references"][0]["document_name"] == "dogs.txt"


def test_llm_answer_streams_through_the_openai_protocol(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    events = events_of(svc.chat.answer(tenant, conv.id, "why do dogs bark at strangers"))
    types = [e.type for e in events]
    assert types[0] == "references" and types[-1] == "done" and types.count("delta") > 3
    done = events[-1].data
    assert done["content"] == "Mock answer about: why do dogs bark at strangers. [1]"
    assert done["mode"] == "llm" and done["cited"] == [1] and done["model"] == "mock-model"
    (request,) = mock_llm.chat_requests
    body = request["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.1, 0.3, 512)
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.4, 0.7)
    system, question = body["messages"][0], body["messages"][-1]
    assert system["role"] == "system" and "[1] dogs.txt\nDogs bark at strangers" in system["content"]
    assert "{knowledge}" not in system["content"] and "square brackets" in system["content"]
    assert question == {"role": "user", "content": "why do dogs bark at strangers"}
    assert len(body["messages"]) == 2  # the opener is not history
    msg = last(svc, tenant, conv.id)
    assert (msg.content, msg.mode, msg.completed) == (done["content"], "llm", True)
    words = sum(len(m["content"].split()) for m in body["messages"])
    assert (msg.prompt_tokens, msg.completion_tokens) == (words, 10)  # the server's usage, not an estimate
    assert msg.latency_ms > 0


def test_citations_map_to_the_numbered_chunks(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    a = svc.assistants.create(tenant, "Pets", kb_ids=[kb.id], prompt={"similarity_threshold": 0.0, "top_n": 3})
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    mock_llm.script([Reply(text="Goldfish need clean water [3]. Dogs bark [1][2]. Nonsense [9].")])
    events = events_of(svc.chat.answer(tenant, conv.id, "what do dogs and goldfish need"))
    done = events[-1].data
    refs = {r["index"]: r for r in done["references"]}
    assert sorted(refs) == [1, 2, 3] and done["cited"] == [3, 1, 2]  # [9] is not a passage
    system = mock_llm.chat_requests[0]["body"]["messages"][0]["content"]
    for i, ref in refs.items():
        chunk = svc.chunks.get(tenant, ref["chunk_id"])
        assert chunk.content == ref["content"] and chunk.document_name == ref["document_name"]
        assert f"[{i}] {ref['document_name']}\n{chunk.content}" in system  # the number the model saw
    assert refs[1]["document_name"] in ("dogs.txt", "fish.txt")
    assert last(svc, tenant, conv.id).references == done["references"]


def test_history_is_limited_to_max_rounds(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    a = svc.assistants.create(tenant, "Short memory", kb_ids=[kb.id], strategy={"max_rounds": 2},
                              prompt={"similarity_threshold": 0.0})  # every question reaches the model
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    questions = ["do cats purr", "do dogs bark", "do goldfish swim", "where do dogs walk"]
    for q in questions:
        events_of(svc.chat.answer(tenant, conv.id, q))
    sent = mock_llm.chat_requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [m["content"] for m in sent if m["role"] == "user"] == questions[1:]
    assert sent[2]["content"] == "Mock answer about: do dogs bark. [1]"
    svc.assistants.update(tenant, a.id, strategy={"max_rounds": 0})
    events_of(svc.chat.answer(tenant, conv.id, "and cats?"))
    assert [m["role"] for m in mock_llm.chat_requests[-1]["body"]["messages"]] == ["system", "user"]


def test_prompt_fits_the_token_budget(svc, tenant, mock_llm):
    kb = svc.knowledge.create(tenant, "Long", chunk_config={"chunk_size": 2000, "chunk_overlap": 0})
    long_text = " ".join(f"Zebras graze on savanna grass number {i} and drink at river {i}." for i in range(150))
    ingest(svc, tenant, kb.id, [(f"zebra{i}.txt", long_text.encode()) for i in range(3)])
    use_llm(svc, tenant, mock_llm.base_url)
    a = svc.assistants.create(tenant, "Tight", kb_ids=[kb.id], llm={"context_window": 1024, "max_tokens": 256},
                              prompt={"similarity_threshold": 0.0})
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    for q in ("what do zebras graze on", "where do zebras drink"):
        done = events_of(svc.chat.answer(tenant, conv.id, q))[-1].data
    sent = mock_llm.chat_requests[-1]["body"]["messages"]
    assert sum(count_tokens(m["content"]) for m in sent) <= 1024 - 256
    assert len(done["references"]) == 1 and done["references"][0]["content"].endswith("…")  # cut to fit
    assert sent[-1]["content"] == "where do zebras drink"


def test_nothing_retrieved_gives_the_empty_response_without_calling_the_model(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    events = events_of(svc.chat.answer(tenant, conv.id, "quantum chromodynamics"))
    assert events[0].data["references"] == [] and events[-1].type == "done"
    assert events[-1].data["content"] == "Sorry! No relevant content was found in the knowledge base!"
    assert last(svc, tenant, conv.id).mode == "empty" and mock_llm.chat_requests == []
    a = svc.assistants.create(tenant, "Fallback", kb_ids=[kb.id], prompt={"empty_response": ""},
                              strategy={"fallback_strategy": "fixed_response", "fallback_response": "Ask HR."})
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    assert events_of(svc.chat.answer(tenant, conv.id, "quantum chromodynamics"))[-1].data["content"] == "Ask HR."
    svc.assistants.update(tenant, a.id, strategy={"fallback_strategy": "model"})
    done = events_of(svc.chat.answer(tenant, conv.id, "quantum chromodynamics"))[-1].data
    assert done["content"] == "Mock answer about: quantum chromodynamics." and done["references"] == []


def test_disconnect_leaves_an_incomplete_answer_that_can_be_continued(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    mock_llm.script([Reply(text="Dogs bark at strangers because they guard their home [1]."),
                     Reply(text="because they guard their home [1].")])
    stream = svc.chat.answer(tenant, conv.id, "why do dogs bark")
    seen = [next(stream) for _ in range(4)]  # references + 3 deltas, then the client goes away
    stream.close()
    partial = "".join(e.data["content"] for e in seen if e.type == "delta")
    assert partial == "Dogs bark at "
    msg = last(svc, tenant, conv.id)
    assert (msg.content, msg.completed, msg.error) == (partial, False, "")
    assert msg.references and msg.references == seen[0].data["references"]

    events = events_of(svc.chat.continue_message(tenant, msg.id))
    assert events[-1].type == "done"
    assert events[-1].data["content"] == "Dogs bark at because they guard their home [1]."
    sent = mock_llm.chat_requests[-1]["body"]["messages"]
    assert sent[-2:] == [{"role": "assistant", "content": partial}, {"role": "user", "content": CONTINUE_PROMPT}]
    assert "[1] dogs.txt" in sent[0]["content"]  # the same passages, not a new search
    msg = svc.chat.get_message(tenant, msg.id)
    assert msg.completed and msg.content == events[-1].data["content"]
    assert [m.role for m in svc.chat.list_messages(tenant, conv.id)] == ["assistant", "user", "assistant"]
    with pytest.raises(Conflict):
        svc.chat.continue_message(tenant, msg.id)


def test_a_stream_dropped_without_close_is_still_saved_incomplete(svc, tenant, kb):
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    stream = svc.chat.answer(tenant, conv.id, "why do dogs bark")
    assert next(stream).type == "references"
    del stream  # a web server dropping its generator: CPython closes it
    msg = last(svc, tenant, conv.id)
    assert msg.role == "assistant" and not msg.completed
    done = events_of(svc.chat.continue_message(tenant, msg.id))[-1].data
    assert done["mode"] == "retrieval_only" and "[1] dogs.txt" in done["content"]


@pytest.mark.parametrize("case", ["key", "model", "rate_limit", "server", "timeout", "refused", "empty"])
def test_a_model_failing_before_its_first_word_falls_back_to_the_passages(svc, tenant, kb, case):
    """The visitor still gets an answer (the passages, with a note); the admin gets the error on the answer and
    on the model's status."""
    server = MockOpenAIServer(api_key=KEY, models=["mock-model"]).start()
    try:
        url, key, model, timeout = server.base_url, KEY, "mock-model", 5.0
        expected = {"key": "API key was rejected", "model": "Model 'gpt-x' not found", "rate_limit": "Rate limited",
                    "server": "HTTP 500", "timeout": "did not answer within 0.5 s", "refused": "Cannot connect to",
                    "empty": "returned an empty answer"}[case]
        if case == "key":
            key = "sk-wrong-key-abcdefghijkl"
        elif case == "model":
            model = "gpt-x"
        elif case == "rate_limit":
            server.script([Reply(status=429), Reply(status=429)])  # the first try and one retry
        elif case == "server":
            server.script([Reply(status=500, error_message="boom")] * 2)
        elif case == "timeout":
            server.script([Reply(delay_first=3.0)] * 2)
            timeout = 0.5
        elif case == "refused":
            url = f"http://127.0.0.1:{free_port()}/v1"
        elif case == "empty":
            server.script([Reply(text="")])
        use_llm(svc, tenant, url, key=key, model=model, timeout=timeout)
        conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
        events = events_of(svc.chat.answer(tenant, conv.id, "why do dogs bark"))
    finally:
        server.stop()
    assert events[0].type == "references" and events[-1].type == "done"
    assert "error" not in [e.type for e in events]
    done = events[-1].data
    assert done["mode"] == "fallback" and done["content"].startswith(NOTES["en"]["model_failed"])
    assert "[1] dogs.txt: Dogs bark" in done["content"] and done["references"][0]["document_name"] == "dogs.txt"
    msg = last(svc, tenant, conv.id)
    assert msg.completed and msg.mode == "fallback" and expected in msg.error, msg.error
    model = svc.models.list(tenant, "llm")[0]
    assert model.status == "error" and expected in model.status_message  # the Models page shows it unreachable
    for secret in (KEY, "sk-wrong-key-abcdefghijkl"):
        assert secret not in msg.error and secret not in repr(events) and secret not in model.status_message
    if case == "server":  # once the provider is back, the next question gets a written answer
        with MockOpenAIServer(api_key=KEY) as again:
            svc.models.update(tenant, model.id, base_url=again.base_url)
            done = events_of(svc.chat.answer(tenant, conv.id, "why do dogs bark"))[-1]
        assert done.type == "done" and done.data["mode"] == "llm"


def test_a_chinese_question_gets_the_note_in_chinese(svc, tenant, kb):
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    done = events_of(svc.chat.answer(tenant, conv.id, "狗为什么叫？ dogs bark"))[-1].data
    assert done["content"].startswith(NOTES["zh"]["no_model"])


def test_a_provider_failing_mid_stream_keeps_the_partial_answer_marked(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url, retries=0)
    mock_llm.script([Reply(text="Dogs bark at strangers to warn their family about them.", drop_after=4)])
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    events = events_of(svc.chat.answer(tenant, conv.id, "why do dogs bark"))
    partial = "".join(e.data["content"] for e in events if e.type == "delta")
    assert partial == "Dogs bark at strangers "
    assert events[-1].type == "error" and "done" not in [e.type for e in events]
    assert events[-1].data["content"] == partial and "stopped sending the answer midway" in events[-1].data["message"]
    msg = last(svc, tenant, conv.id)
    assert (msg.content, msg.completed, msg.error) == (partial, False, events[-1].data["message"])
    done = events_of(svc.chat.continue_message(tenant, msg.id))[-1]  # and it can be finished later
    assert done.type == "done" and svc.chat.get_message(tenant, msg.id).completed


def test_regenerate_replaces_the_last_answer(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    mock_llm.script([Reply(text="First [1]."), Reply(text="Second [1].")])
    events_of(svc.chat.answer(tenant, conv.id, "why do dogs bark"))
    done = events_of(svc.chat.answer(tenant, conv.id, "", regenerate=True))[-1].data
    assert done["content"] == "Second [1]."
    msgs = svc.chat.list_messages(tenant, conv.id)
    assert [(m.role, m.content) for m in msgs[1:]] == [("user", "why do dogs bark"), ("assistant", "Second [1].")]
    assert mock_llm.chat_requests[-1]["body"]["messages"][-1]["content"] == "why do dogs bark"
    empty = svc.chat.create_session(tenant, kb_ids=[kb.id])
    with pytest.raises(InvalidInput, match="ask a question first"):
        svc.chat.answer(tenant, empty.id, "", regenerate=True)
    with pytest.raises(InvalidInput, match="must not be empty"):
        svc.chat.answer(tenant, empty.id, "   ")


def test_an_assistant_without_knowledge_bases(svc, tenant, mock_llm):
    a = svc.assistants.create(tenant, "Plain")
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    done = events_of(svc.chat.answer(tenant, conv.id, "hello there"))[-1].data
    assert done["mode"] == "retrieval_only" and done["content"] == NOTHING_TO_QUOTE
    assert "Models page" not in NOTHING_TO_QUOTE  # a visitor may read it: no instructions for the admin
    use_llm(svc, tenant, mock_llm.base_url)
    done = events_of(svc.chat.answer(tenant, conv.id, "hello again"))[-1].data
    assert (done["mode"], done["content"], done["references"]) == ("llm", "Mock answer about: hello again.", [])


# ------------------------------------------------------------------------------ sessions
def test_title_generation_with_and_without_a_model(svc, tenant, kb, mock_llm):
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    assert svc.chat.generate_title(tenant, conv.id).title == ""  # nothing asked yet
    long_q = "Could you please explain in detail why dogs bark at strangers walking past the garden?"
    events_of(svc.chat.answer(tenant, conv.id, long_q))
    title = svc.chat.generate_title(tenant, conv.id).title
    assert title.endswith("…") and len(title) <= 51 and long_q.startswith(title[:-1])
    use_llm(svc, tenant, mock_llm.base_url)
    mock_llm.script([Reply(text='Title: "Why dogs bark."\n')])
    assert svc.chat.generate_title(tenant, conv.id).title == "Why dogs bark"
    request = mock_llm.chat_requests[-1]["body"]
    assert request["stream"] is False and long_q in request["messages"][-1]["content"]
    mock_llm.script([Reply(status=500)] * 2)  # a failing model: the heuristic still names it
    assert svc.chat.generate_title(tenant, conv.id).title == title


def test_sessions_opener_rename_list_and_delete(svc, tenant, kb):
    a = svc.assistants.create(tenant, "Greeter", kb_ids=[kb.id], prompt={"opener": "Welcome to the zoo!"})
    conv = svc.chat.create_session(tenant, assistant_id=a.id, title="Visit")
    (opener,) = svc.chat.list_messages(tenant, conv.id)
    assert (opener.role, opener.content, opener.mode) == ("assistant", "Welcome to the zoo!", "opener")
    silent = svc.assistants.create(tenant, "Silent", kb_ids=[kb.id], prompt={"opener": ""})
    assert svc.chat.list_messages(tenant, svc.chat.create_session(tenant, assistant_id=silent.id).id) == []
    assert svc.chat.rename_session(tenant, conv.id, "  Zoo trip ").title == "Zoo trip"
    with pytest.raises(InvalidInput):
        svc.chat.rename_session(tenant, conv.id, " ")
    assert [c.id for c in svc.chat.list_sessions(tenant, assistant_id=a.id).items] == [conv.id]
    assert svc.chat.list_sessions(tenant).total == 2
    with pytest.raises(InvalidInput, match="Choose an assistant"):
        svc.chat.create_session(tenant)
    svc.chat.delete_session(tenant, conv.id)
    with pytest.raises(NotFound):
        svc.chat.get_session(tenant, conv.id)
    svc.assistants.delete(tenant, silent.id)  # its sessions go with it
    assert svc.chat.list_sessions(tenant).total == 0


def test_feedback_delete_and_paged_history(svc, tenant, kb):
    conv = svc.chat.create_session(tenant, kb_ids=[kb.id])
    for q in ("do cats purr", "do dogs bark", "do goldfish swim"):
        events_of(svc.chat.answer(tenant, conv.id, q))
    msgs = svc.chat.list_messages(tenant, conv.id)
    assert len(msgs) == 7 and [m.created_at for m in msgs] == sorted(m.created_at for m in msgs)
    newest = svc.chat.list_messages(tenant, conv.id, limit=2)
    assert [m.id for m in newest] == [m.id for m in msgs[-2:]]
    older = svc.chat.list_messages(tenant, conv.id, before=newest[0].created_at, limit=10)
    assert [m.id for m in older] == [m.id for m in msgs[:-2]]
    answer = msgs[-1]
    assert svc.chat.feedback(tenant, answer.id, 1).feedback == 1
    assert svc.chat.feedback(tenant, answer.id, -1).feedback == -1
    assert svc.chat.feedback(tenant, answer.id, 0).feedback == 0
    with pytest.raises(InvalidInput):
        svc.chat.feedback(tenant, answer.id, 2)
    with pytest.raises(InvalidInput, match="Only answers"):
        svc.chat.feedback(tenant, msgs[-2].id, 1)
    svc.chat.delete_message(tenant, answer.id)
    assert answer.id not in [m.id for m in svc.chat.list_messages(tenant, conv.id)]
    with pytest.raises(NotFound):
        svc.chat.get_message(tenant, answer.id)


def test_tenants_never_reach_each_others_chats(svc, tenant, kb):
    other = svc.tenants.create_tenant("Other")
    a = svc.assistants.create(tenant, "Mine", kb_ids=[kb.id])
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    events_of(svc.chat.answer(tenant, conv.id, "do cats purr"))
    msg = last(svc, tenant, conv.id)
    for call in (lambda: svc.chat.get_session(other, conv.id),
                 lambda: svc.chat.answer(other, conv.id, "do cats purr"),
                 lambda: svc.chat.list_messages(other, conv.id),
                 lambda: svc.chat.feedback(other, msg.id, 1),
                 lambda: svc.chat.delete_message(other, msg.id),
                 lambda: svc.chat.continue_message(other, msg.id),
                 lambda: svc.chat.delete_session(other, conv.id),
                 lambda: svc.chat.create_session(other, assistant_id=a.id),
                 lambda: svc.chat.create_session(other, kb_ids=[kb.id]),
                 lambda: svc.assistants.get(other, a.id),
                 lambda: svc.assistants.update(other, a.id, name="x"),
                 lambda: svc.assistants.delete(other, a.id),
                 lambda: svc.assistants.create(other, "Theirs", kb_ids=[kb.id])):
        with pytest.raises(NotFound):
            call()
    assert svc.chat.list_sessions(other).total == 0 and svc.assistants.list(other).total == 0
    assert svc.assistants.find(other, "Mine") is None
    assert svc.chat.get_message(tenant, msg.id).feedback == 0


# ------------------------------------------------------------------------------ assistants
def test_assistant_defaults_updates_and_validation(svc, tenant, kb):
    a = svc.assistants.create(tenant, "Helper", kb_ids=[kb.id, kb.id])
    assert a.kb_ids == [kb.id] and a.kind == "chat"
    assert (a.llm.temperature, a.llm.top_p, a.llm.presence_penalty, a.llm.frequency_penalty, a.llm.max_tokens) == \
        (0.1, 0.3, 0.4, 0.7, 512)
    p, kb_defaults = a.prompt, svc.knowledge.get(tenant, kb.id).retrieval_config
    # One source of defaults: an assistant retrieves as Hit testing does at the knowledge base's defaults.
    assert (p.similarity_threshold, 1 - p.keywords_similarity_weight) == \
        pytest.approx((kb_defaults.threshold, kb_defaults.vector_weight))
    assert (p.similarity_threshold, p.keywords_similarity_weight, p.top_n, p.top_k, p.show_quote) == \
        (0.3, 0.3, 6, 1024, True)
    assert "{knowledge}" in p.system and p.opener == "Hi! I'm your assistant, what can I do for you?"
    assert (a.strategy.max_rounds, a.strategy.query_rewrite) == (5, False)
    b = svc.assistants.update(tenant, a.id, llm={"temperature": 0.9}, description="Answers questions")
    assert (b.llm.temperature, b.llm.top_p, b.description) == (0.9, 0.3, "Answers questions")
    assert svc.assistants.find(tenant, "HELPER").id == a.id and svc.assistants.find(tenant, a.id).id == a.id
    with pytest.raises(Conflict):
        svc.assistants.create(tenant, "helper")
    for bad in ({"llm": {"temperature": 5}}, {"prompt": {"top_n": -1}}, {"strategy": {"max_rounds": -1}},
                {"prompt": {"bogus": 1}}, {"prompt": {"system": "  "}}, {"kind": "robot"}):
        with pytest.raises(InvalidInput):
            svc.assistants.create(tenant, "Bad", **bad)
    with pytest.raises(NotFound):
        svc.assistants.create(tenant, "Bad", kb_ids=["nope"])
    with pytest.raises(InvalidInput, match="Cannot update"):
        svc.assistants.update(tenant, a.id, kind="agent")
    emb = svc.models.create(tenant, type="embedding", provider="mock", name="emb", model="hash")
    with pytest.raises(InvalidInput, match="not an LLM"):
        svc.assistants.update(tenant, a.id, llm={"model_id": emb.id})
    assert svc.assistants.list(tenant, name="helper").total == 1


def test_an_assistant_uses_its_own_model(svc, tenant, kb, mock_llm):
    with MockOpenAIServer() as other:
        use_llm(svc, tenant, other.base_url)  # the tenant default
        own = svc.models.create(tenant, type="llm", provider="openai", name="own", model="special",
                                base_url=mock_llm.base_url, params={"max_retries": 1})
        a = svc.assistants.create(tenant, "Special", kb_ids=[kb.id], llm={"model_id": own.id, "max_tokens": None})
        conv = svc.chat.create_session(tenant, assistant_id=a.id)
        done = events_of(svc.chat.answer(tenant, conv.id, "do cats purr"))[-1].data
        assert done["model"] == "special" and other.chat_requests == []
    body = mock_llm.chat_requests[0]["body"]
    assert body["model"] == "special" and "max_tokens" not in body


def test_query_rewrite_searches_with_the_standalone_question(svc, tenant, kb, mock_llm):
    use_llm(svc, tenant, mock_llm.base_url)
    a = svc.assistants.create(tenant, "Rewriter", kb_ids=[kb.id], strategy={"query_rewrite": True})
    conv = svc.chat.create_session(tenant, assistant_id=a.id)
    events_of(svc.chat.answer(tenant, conv.id, "do cats purr"))
    mock_llm.script([Reply(text="why do goldfish need clean water")])  # the rewrite, then the answer
    done = events_of(svc.chat.answer(tenant, conv.id, "and what about the fish?"))[-1].data
    rewrite = mock_llm.chat_requests[-2]["body"]
    assert rewrite["stream"] is False and "User: do cats purr" in rewrite["messages"][-1]["content"]
    assert done["references"][0]["document_name"] == "fish.txt"


# ------------------------------------------------------------------------------ CLI
def ask(data_dir, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALMANAC_LLM_MODEL")}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "ask", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**base, "ALMANAC_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "200",
                               **(env or {})}, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


@pytest.fixture
def cli_data(settings, tenant):
    """A data dir with the Zoo knowledge base, its stores closed again for the CLI process."""
    services = build_services(settings)
    try:
        kb = services.knowledge.create(tenant, "Zoo")
        ingest(services, tenant, kb.id, DOCS)
    finally:
        services.close()
    return settings.data_dir


def test_cli_ask_without_a_model_is_retrieval_only(cli_data):
    proc = ask(cli_data, "Zoo", "why do dogs bark at strangers", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"answer", "references", "mode", "session_id"}
    assert out["mode"] == "retrieval_only" and NO_MODEL_NOTE in out["answer"]
    assert set(out["references"][0]) == {"chunk_id", "document_name", "content"}
    assert out["references"][0]["document_name"] == "dogs.txt" and "[1] dogs.txt" in out["answer"]
    proc = ask(cli_data, "Zoo", "do cats purr")
    assert proc.returncode == 0 and "retrieval-only" in proc.stdout and "Citations" in proc.stdout
    assert "[1] cats.txt" in proc.stdout
    proc = ask(cli_data, "Nowhere", "hello")
    assert proc.returncode == 2 and "No assistant or knowledge base named" in proc.stdout


def test_cli_ask_streams_from_the_configured_model(cli_data):
    with MockOpenAIServer(api_key=KEY) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": KEY}
        first = json.loads(ask(cli_data, "Zoo", "why do dogs bark at strangers", "--json", env=env).stdout)
        assert first["mode"] == "llm" and first["answer"] == "Mock answer about: why do dogs bark at strangers. [1]"
        assert first["references"][0]["document_name"] == "dogs.txt"  # [1]
        proc = ask(cli_data, "Zoo", "and cats?", "--session", first["session_id"], env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Mock answer about: and cats?" in proc.stdout and "Citations" in proc.stdout
        assert first["session_id"] in proc.stdout and KEY not in proc.stdout + proc.stderr
        (_, second) = server.chat_requests
        assert second["headers"]["Authorization"] == f"Bearer {KEY}"
        assert second["body"]["model"] == "gpt-4o-mini"
        assert [m["content"] for m in second["body"]["messages"] if m["role"] == "user"] == \
            ["why do dogs bark at strangers", "and cats?"]  # the session's history
        server.script([Reply(status=401)] * 3)
        proc = ask(cli_data, "Zoo", "do cats purr", "--json", env=env)
        out = json.loads(proc.stdout)
        assert proc.returncode == 0 and out["mode"] == "fallback" and "rejected" in out["model_error"]
        assert "[1] cats.txt" in out["answer"] and KEY not in proc.stdout + proc.stderr


def test_a_conversation_number_beyond_64_bits_is_not_found(svc, tenant):
    for number in (2**63, -(2**63) - 1, 10**20):
        with pytest.raises(NotFound):
            svc.chat.id_of_number(tenant, number)
        with pytest.raises(NotFound):
            svc.chat.id_of_number(tenant, number, message=True)
