"""Voice on the Chat page: a recorded or uploaded question is transcribed (by the real bundled faster-whisper),
can be corrected, and is asked; "Read answers aloud" speaks each new answer (espeak-ng, edge-tts being
unreachable here) with an autoplaying st.audio; bad audio, silence and a broken speech model are explained."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id

from core import audio
from core.config import Settings
from core.text import speakable
from tests.ui.conftest import open_page
from tests.ui.test_chat import answers, ask, bubbles, kb, ok, param  # noqa: F401 - kb: a fixture
from tests.voice.conftest import offline_settings, spoken, wer  # noqa: F401 - a fixture

PAGE = "pages/chat.py"
QUESTION = "How many vacation days do employees get?"
RECORD, UPLOAD = "chat_voice_record_0", "chat_voice_upload_0"


@pytest.fixture
def settings(offline_settings) -> Settings:  # noqa: F811
    """Services whose edge-tts cannot connect (deterministically offline: espeak-ng speaks)."""
    return offline_settings


@pytest.fixture(scope="module")
def question_wav() -> bytes:
    return spoken(QUESTION)


def transcript(at) -> str:
    return at.text_area(key="chat_voice_transcript").value


def status(at) -> str:
    return " ".join(e.value for e in [*at.error, *at.warning, *at.caption])


def user_questions(ui, tenant, conversation_id: str) -> list[str]:
    return [m.content for m in ui.chat.list_messages(tenant, conversation_id) if m.role == "user"]


def test_recorded_question_is_transcribed_then_sent(ui, tenant, kb, llm, question_wav):  # noqa: F811
    at = open_page(PAGE, kb=kb.id)
    assert at.button(key="chat_voice_send").disabled  # nothing to send yet
    ok(at.audio_input(key=RECORD).set_value(("question.wav", question_wav, "audio/wav")).run())
    heard = transcript(at)
    assert wer(QUESTION, heard) <= 0.2, heard
    assert re.search(r"Heard \d+\.\d s of speech \(tiny\.en", status(at)), status(at)
    assert "session" not in at.query_params  # only shown: nothing is asked before Send
    assert not at.button(key="chat_voice_send").disabled

    ok(at.button(key="chat_voice_send").click().run())
    session = param(at, "session")
    assert user_questions(ui, tenant, session) == [heard]
    [answer] = answers(ui, tenant, session)
    assert answer.completed and f"Mock answer about: {heard}" in bubbles(at)[-1][1]
    # ready for the next question: transcript emptied, a fresh recorder, the popover closed
    assert transcript(at) == "" and at.session_state["chat_voice_popover"] is False
    assert at.audio_input(key="chat_voice_record_1").value is None
    assert not at.get("audio")  # reading aloud is off by default


def test_uploaded_mp3_transcript_can_be_corrected_before_sending(ui, tenant, kb, llm, question_wav):  # noqa: F811
    mp3, _ = audio.transcode(question_wav, "mp3")
    at = open_page(PAGE, kb=kb.id)
    ok(at.file_uploader(key=UPLOAD).upload("question.mp3", mp3, "audio/mpeg").run())
    assert wer(QUESTION, transcript(at)) <= 0.2
    ok(at.run())  # a rerun does not transcribe the same upload again
    edited = "How many vacation days do employees get per year?"
    at.text_area(key="chat_voice_transcript").input(edited).run()
    ok(at.button(key="chat_voice_send").click().run())
    assert user_questions(ui, tenant, param(at, "session")) == [edited]
    assert f"Mock answer about: {edited}" in bubbles(at)[-1][1]
    assert at.file_uploader(key="chat_voice_upload_1").value is None


def test_bad_audio_and_silence_are_explained_and_nothing_is_asked(ui, tenant, kb):  # noqa: F811
    at = open_page(PAGE, kb=kb.id)
    broken = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"not really audio" * 8
    ok(at.file_uploader(key=UPLOAD).upload("broken.wav", broken, "audio/wav").run())
    assert "'broken.wav' could not be read" in " ".join(e.value for e in at.error)
    assert transcript(at) == "" and at.button(key="chat_voice_send").disabled

    silence = audio.encode(np.zeros(2 * audio.WHISPER_RATE, np.float32), audio.WHISPER_RATE, "wav")
    ok(at.audio_input(key=RECORD).set_value(("silence.wav", silence, "audio/wav")).run())
    assert "No speech was detected in this 2.0 s recording" in " ".join(w.value for w in at.warning)
    assert not at.error  # the new recording replaced the old message
    assert transcript(at) == "" and at.button(key="chat_voice_send").disabled
    assert "session" not in at.query_params and ui.chat.list_sessions(tenant).total == 0


def speech_elements(at) -> list:
    return list(at.get("audio"))


def test_read_aloud_speaks_each_new_answer_once_and_is_remembered(ui, tenant, kb, llm):  # noqa: F811
    at = open_page(PAGE, kb=kb.id)
    ok(at.toggle(key="chat_voice_read_aloud").set_value(True).run())
    ask(at, "vacation days")
    [player] = speech_elements(at)
    assert player.proto.autoplay
    speech = at.session_state["chat_voice_speech"]
    [answer] = answers(ui, tenant, param(at, "session"))
    assert speech["message_id"] == answer.id and speech["media_type"] == "audio/mpeg"
    assert player.proto.url.endswith(_calculate_file_id(speech["audio"], "audio/mpeg") + ".mp3")  # these bytes
    assert 1.0 < audio.duration_of(speech["audio"]) < 30  # "Mock answer about: vacation days." spoken
    assert "espeak-ng" in " ".join(c.value for c in at.caption)

    ok(at.button(key=f"chat_like_{answer.id}").click().run())  # any later run: still there, not replayed
    [player] = speech_elements(at)
    assert not player.proto.autoplay

    at.switch_page("app.py").run()  # the switch survives leaving the page
    at.switch_page(PAGE).run()
    assert ok(at).toggle(key="chat_voice_read_aloud").value is True

    ok(at.toggle(key="chat_voice_read_aloud").set_value(False).run())
    ask(at, "bike shed")
    assert len(answers(ui, tenant, param(at, "session"))) == 2
    assert not [p for p in speech_elements(at) if p.proto.autoplay]  # the new answer is not spoken


def test_a_broken_speech_model_is_reported_under_the_answer(ui, tenant, kb, llm):  # noqa: F811
    ui.models.create(tenant, type="tts", provider="openai", name="Down", model="tts-1",
                     base_url="http://127.0.0.1:9/v1", params={"timeout": 2, "max_retries": 0}, is_default=True)
    at = open_page(PAGE, kb=kb.id)
    ok(at.toggle(key="chat_voice_read_aloud").set_value(True).run())
    ask(at, "vacation days")
    warning = " ".join(w.value for w in at.warning)
    assert "could not be read aloud" in warning and "Cannot connect" in warning
    assert not speech_elements(at)
    assert "Mock answer about: vacation days" in bubbles(at)[-1][1]  # the answer itself is fine


def test_voice_controls_in_chinese(ui, kb):  # noqa: F811
    at = open_page(PAGE, lang="zh", kb=kb.id)
    assert at.toggle(key="chat_voice_read_aloud").label == "朗读回答"
    assert at.button(key="chat_voice_send").label == "发送问题"
    assert at.text_area(key="chat_voice_transcript").label == "识别文字"


@pytest.mark.parametrize(("markdown", "expected"), [
    ("Employees get **27 days** [1][2] of leave [3].", "Employees get 27 days of leave."),
    ("## Summary\n- first point [1]\n- see [the policy](http://x/y)\n\n```py\nprint(1)\n```\nDone.",
     "Summary\nfirst point\nsee the policy\nDone."),
    ('Text<div class="pc-sources"><b>Sources</b></div>', "Text Sources"),
    ("年假有十五天[1]。", "年假有十五天。"),
    ("", ""),
])
def test_speakable_text_drops_marks_markup_and_code(markdown, expected):
    assert speakable(markdown) == expected


def test_speakable_text_of_a_long_answer_ends_at_a_sentence():
    long = " ".join(f"Sentence number {i} is here." for i in range(400))
    text = speakable(long, limit=500)
    assert 250 < len(text) <= 500 and text.endswith("is here.")

