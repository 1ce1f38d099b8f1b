"""Voice in the browser: the public chat page (Gradio) and the admin Chat page (Streamlit), on the real server.

Chromium's fake microphone plays an espeak-ng recording of a question; uploads use the same speech.
The server transcribes with the bundled faster-whisper tiny.en and speaks with espeak-ng (edge-tts is
pointed at a refused proxy, as on a machine without internet); answers come from tests/mock_llm.py.
Public page: an uploaded question is answered; "Speak answers" + the microphone gives an answer and an
autoplaying player whose audio is real speech; bad audio is explained and asks nothing.
Chat page: record in the voice popover, see the transcript, send it; "Read answers aloud" plays the answer.
Screenshots: test-artifacts/public_chat_voice*.png and test-artifacts/screenshots/chat-voice-*.png.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from core import audio
from core.config import Settings
from core.container import build_services
from public_chat_voice import Heard, hear, read_aloud, speak, status_html
from tests.helpers import CHROMIUM, ROOT, SHOTS, browser_page, free_port, settle, start_server, stop_process
from tests.e2e.test_public_chat import LEAVE_DOC, OPENER, QUESTION, seed
from tests.mock_llm import MockOpenAIServer
from tests.voice.conftest import offline_settings, refused_url, require_espeak, spoken, wer  # noqa: F401

ARTIFACTS = ROOT / "test-artifacts"
SLOW = 90_000  # ms: transcription (the first loads the model) and speech, on a busy 2-CPU machine
SPEECH_S = 2.0  # silence after the spoken question: Chromium's fake microphone plays the file in a loop


@pytest.fixture
def settings(offline_settings) -> Settings:  # noqa: F811
    """Services whose edge-tts cannot connect (deterministically offline: espeak-ng speaks)."""
    return offline_settings


def words_heard(text: str) -> bool:
    return "vacation" in text.lower() and "employee" in text.lower()


# ---------------------------------------------------------------------- pieces

def test_hear_transcribes_and_explains_bad_audio(svc, tenant, tmp_path):
    good = tmp_path / "question.wav"
    good.write_bytes(spoken(QUESTION))
    heard = hear(svc, tenant, str(good))
    assert not heard.problem and wer(QUESTION, heard.text) <= 0.2, heard

    silent = tmp_path / "silence.wav"
    silent.write_bytes(audio.encode(np.zeros(audio.WHISPER_RATE, np.float32), audio.WHISPER_RATE, "wav"))
    assert hear(svc, tenant, str(silent)).problem.startswith("No speech was detected in this 1.0 s recording")
    text = tmp_path / "notes.wav"
    text.write_text("plain text, not audio " * 20)
    assert "'notes.wav' could not be read" in hear(svc, tenant, str(text)).problem
    assert "could not be read" in hear(svc, tenant, str(tmp_path / "gone.wav")).problem


def test_status_lines_are_escaped_and_styled():
    assert status_html(None) == "" and status_html(Heard(text="hi")) == ""
    assert 'class="pc-voice-error"' in status_html(Heard(problem="bad <b>file</b>"))
    assert "bad &lt;b&gt;file&lt;/b&gt;" in status_html(Heard(problem="bad <b>file</b>"))
    assert 'class="pc-voice-warn"' in status_html(Heard(problem="No speech was detected", silent=True))
    assert 'class="pc-voice-note"' in status_html(Heard(text="x", note="English only"))


def test_speak_reads_the_answer_without_its_marks(svc, tenant):
    mp3, problem = speak(svc, tenant, "Employees get **twenty-seven** days [1].")
    assert problem == "" and audio.sniff_container(mp3[:12]) == "mp3"
    assert 1.0 < audio.duration_of(mp3) < 10
    assert speak(svc, tenant, "[1] [2]") == (None, "")  # nothing left to say
    visit = {"tenant_id": tenant}
    hidden, status = read_aloud(lambda: svc, "An answer.", False, visit, "kept")
    assert hidden["visible"] is False and status == "kept"  # "Speak answers" unticked
    shown, _ = read_aloud(lambda: svc, "An answer.", True, visit, "")
    assert shown["visible"] is True and audio.duration_of(shown["value"]) > 0.3


# ---------------------------------------------------------------------- in a browser

@pytest.fixture(scope="module")
def question_wav(tmp_path_factory):
    """espeak-ng's `-w` WAV of the question, then silence (so a recording holds it once)."""
    path = tmp_path_factory.mktemp("voice") / "question.wav"
    subprocess.run([require_espeak(), "-v", "en-us", "-w", str(path), QUESTION], check=True, timeout=60)
    samples, rate = audio.decode(path.read_bytes(), None)
    padded = np.concatenate([samples, np.zeros(int(SPEECH_S * rate), np.float32)])
    path.write_bytes(audio.encode(padded, rate, "wav"))
    return path


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")
def test_voice_in_a_browser(tmp_path, question_wav, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    data = tmp_path / "data"
    SHOTS.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ALMANAC_TTS_PROXY", refused_url())  # the server's edge-tts cannot connect: espeak-ng
    with MockOpenAIServer() as llm:
        ids = seed(data, llm.base_url)
        server = start_server(data, port := free_port())
        try:
            microphone = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                          f"--use-file-for-fake-audio-capture={question_wav}")
            with browser_page(width=1200, timeout=SLOW, args=microphone,
                              failure=ARTIFACTS / "public_chat_voice-failure") as page:
                public_page(page, sync_api.expect, f"http://127.0.0.1:{port}/chat/{ids['chat']}", question_wav)
                chat_page(page, sync_api.expect, f"http://127.0.0.1:{port}/ui/chat?assistant={ids['chat']}")
        finally:
            stop_process(server)

    check = build_services(Settings(data_dir=data, ingest_workers=0))
    try:
        sessions = check.chat.list_sessions("default", assistant_id=ids["chat"], page_size=10).items
        asked = [m.content for s in sessions for m in check.chat.list_messages("default", s.id) if m.role == "user"]
        assert len(asked) == 3 and all(words_heard(q) for q in asked), asked  # two public, one on the Chat page
        assert any(wer(QUESTION, q) <= 0.2 for q in asked), asked  # the uploaded file, heard exactly enough
    finally:
        check.close()


def fetch(page, url: str) -> bytes:
    """A file the page links to, fetched as the browser would."""
    response = page.request.get(url)
    assert response.ok, url
    return response.body()


def public_page(page, expect, url: str, question_wav) -> None:
    bots = page.locator("#pc-chatbot [data-testid='bot']")
    users = page.locator("#pc-chatbot [data-testid='user']")
    mic, status, speech = page.locator("#pc-mic"), page.locator("#pc-voice-status"), page.locator("#pc-speech")
    page.goto(url)
    expect(bots.first).to_have_text(OPENER)
    expect(page.locator("#pc-speak")).to_contain_text("Speak answers")

    # 1. Not audio: explained under the microphone, nothing asked.
    notes = question_wav.with_name("notes.wav")
    notes.write_text("These are meeting notes, not a recording. " * 20)
    mic.get_by_role("button", name="Upload file").click()
    mic.locator("input[type=file]").set_input_files(str(notes))
    expect(status.locator(".pc-voice-error")).to_contain_text("'notes.wav' could not be read", timeout=SLOW)
    expect(users).to_have_count(0)

    # 2. An uploaded recording is transcribed, shown as the question and answered; nothing is spoken.
    mic.get_by_role("button", name="Upload file").click()
    mic.locator("input[type=file]").set_input_files(str(question_wav))
    expect(bots.last.locator(".pc-sources")).to_contain_text(LEAVE_DOC, timeout=SLOW)
    heard = users.last.inner_text()
    assert wer(QUESTION, heard) <= 0.2, heard
    expect(bots.last).to_contain_text(f"Mock answer about: {heard}")
    expect(status).to_have_text("")  # the error of step 1 is gone
    expect(speech).to_be_hidden()

    # 3. "Speak answers", then the microphone: the answer plays by itself.
    page.locator("#pc-speak input").check()
    mic.get_by_role("button", name="Record audio").click()  # the microphone source
    mic.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(int((audio.duration_of(question_wav.read_bytes()) - SPEECH_S + 0.8) * 1000))
    mic.get_by_role("button", name="Stop").first.click()
    expect(users).to_have_count(2, timeout=SLOW)
    assert words_heard(users.last.inner_text()), users.last.inner_text()
    expect(bots.last.locator(".pc-sources")).to_contain_text(LEAVE_DOC, timeout=SLOW)
    expect(speech.get_by_role("button", name="Pause")).to_be_visible(timeout=SLOW)  # playing, by itself
    mp3 = fetch(page, speech.locator("a[download]").get_attribute("href"))
    assert 1.5 < audio.duration_of(mp3) < 60  # "Mock answer about: <the question>." spoken
    page.screenshot(path=str(ARTIFACTS / "public_chat_voice.png"), full_page=True)


def chat_page(page, expect, url: str) -> None:
    page.goto(url)
    settle(page)
    page.get_by_text("Read answers aloud").click()
    settle(page)
    page.locator(".st-key-chat_voice_popover button").first.click()
    recorder = page.get_by_test_id("stAudioInput")
    recorder.get_by_role("button", name="Record").click()
    page.wait_for_timeout(3500)
    recorder.get_by_role("button", name="Stop recording").click()
    transcript = page.get_by_role("textbox", name="Transcript")
    expect(transcript).not_to_have_value("", timeout=SLOW)
    settle(page)
    heard = transcript.input_value()
    assert words_heard(heard), heard
    page.screenshot(path=str(SHOTS / "chat-voice-01-transcript.png"))

    page.get_by_role("button", name="Send question").click()
    settle(page)
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.filter(has_text=heard)).to_have_count(2, timeout=SLOW)  # the question, and the answer quoting it
    player = page.locator(".st-key-chat_voice_speech_row audio")
    page.wait_for_function("() => { const a = document.querySelector('.st-key-chat_voice_speech_row audio');"
                           " return a && a.autoplay && (!a.paused || a.currentTime > 0); }")  # playing, by itself
    mp3 = fetch(page, player.evaluate("a => a.src"))
    assert 1.5 < audio.duration_of(mp3) < 60
    expect(page.get_by_text("espeak-ng · en-us")).to_be_visible()
    page.set_viewport_size({"width": 1200, "height": 1250})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "chat-voice-02-read-aloud.png"))
