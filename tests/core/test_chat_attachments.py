"""Questions with attached files (their text reaches the model, now and in later turns), and rating an answer
by its text (AgentChat's like / dislike send the texts, not a message id)."""

from __future__ import annotations

import pytest

from core.chat import MAX_ATTACHMENT_CHARS, Attachment
from core.errors import InvalidInput, NotFound

MINUTES = b"Meeting minutes: the zorblax budget was approved by the steering board on Tuesday."


@pytest.fixture
def agent_dialog(svc, tenant, llm):
    agent = svc.assistants.create(tenant, "Helper", kind="agent")
    svc.assistants.publish(tenant, agent.id)
    return svc.chat.create_session(tenant, assistant_id=agent.id)


def user_turns(request: dict) -> list[str]:
    return [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]


def test_an_attached_file_reaches_the_model_and_stays_in_the_history(svc, tenant, llm, agent_dialog):
    events = list(svc.chat.answer(tenant, agent_dialog.id, "What was approved?",
                                  attachments=[Attachment("minutes.txt", MINUTES, file_id="f1")]))
    assert events[-1].type == "done"
    (first,) = user_turns(llm.chat_requests[-1])
    assert first.startswith("What was approved?\n\n[Attached file: minutes.txt]\nMeeting minutes: the zorblax")
    question = [m for m in svc.chat.list_messages(tenant, agent_dialog.id) if m.role == "user"][0]
    assert question.content == "What was approved?"  # stored as asked; the file is kept beside it
    assert question.attachments == [{"name": "minutes.txt", "file_id": "f1", "size": len(MINUTES), "mime_type": ""}]

    list(svc.chat.answer(tenant, agent_dialog.id, "Who approved it?"))
    history, latest = user_turns(llm.chat_requests[-1])
    assert "zorblax budget" in history and latest == "Who approved it?"


def test_attachments_are_read_before_anything_is_saved(svc, tenant, agent_dialog):
    before = svc.chat.list_messages(tenant, agent_dialog.id)
    with pytest.raises(InvalidInput, match="'broken.pdf' cannot be read"):
        svc.chat.answer(tenant, agent_dialog.id, "Summarise", attachments=[Attachment("broken.pdf", b"%PDF-1.7 junk")])
    with pytest.raises(InvalidInput, match="at most 5 files"):
        svc.chat.answer(tenant, agent_dialog.id, "Summarise", attachments=[Attachment("a.txt", b"x")] * 6)
    assert svc.chat.list_messages(tenant, agent_dialog.id) == before


def test_a_long_file_is_cut_to_what_the_model_is_given(svc, tenant, llm, agent_dialog):
    text = ("lorem ipsum " * 5000).encode()
    list(svc.chat.answer(tenant, agent_dialog.id, "Summarise", attachments=[Attachment("long.txt", text)]))
    (turn,) = user_turns(llm.chat_requests[-1])
    assert turn.endswith("[... the rest of the file is left out]") and len(turn) < MAX_ATTACHMENT_CHARS + 200


def test_rate_an_answer_by_its_text(svc, tenant, llm, agent_dialog):
    list(svc.chat.answer(tenant, agent_dialog.id, "first question"))
    list(svc.chat.answer(tenant, agent_dialog.id, "second question"))
    answers = [m for m in svc.chat.list_messages(tenant, agent_dialog.id) if m.role == "assistant" and m.mode != "opener"]
    rated = svc.chat.feedback_on_answer(tenant, " " + answers[0].content, 1, question="first question")
    assert rated.id == answers[0].id and rated.feedback == 1
    assert svc.chat.feedback_on_answer(tenant, answers[1].content, -1).feedback == -1
    with pytest.raises(NotFound):
        svc.chat.feedback_on_answer(tenant, "an answer nobody gave", 1)
    with pytest.raises(NotFound):
        svc.chat.feedback_on_answer("another-tenant", answers[1].content, 1)
    with pytest.raises(InvalidInput):
        svc.chat.feedback_on_answer(tenant, "  ", 1)
