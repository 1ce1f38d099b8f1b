"""Both voice WebSockets against a live server, driven by a plain `websockets` client: partial + final
transcripts, binary audio + end, error frames followed by a normal close, optional API keys (without one,
only the built-in offline engines run, never the workspace's saved voice models)."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from core import audio
from core.config import Settings
from core.container import build_services
from tests.helpers import free_port, start_server, stop_process
from tests.voice.conftest import SENTENCES, refused_url, spoken, wer
from tests.voice.openai_audio_server import OpenAIAudioServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("voice") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALMANAC_TTS_PROXY", refused_url())  # edge-tts unreachable, also on a machine with internet
        mp.setenv("ALMANAC_INGEST_WORKERS", "0")
        for attempt in range(2):  # a port taken in between, or a very busy machine: one more try
            port = free_port()
            try:
                proc = start_server(data, port)
                break
            except AssertionError:
                if attempt:
                    raise
    try:
        yield {"url": f"ws://127.0.0.1:{port}", "key": (data / "admin_api_key").read_text().strip(), "data": data}
    finally:
        stop_process(proc)


def open_ws(server, path: str, query: str = "", key: str | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key else None
    return connect(f"{server['url']}{path}{query}", additional_headers=headers, proxy=None, max_size=None,
                   open_timeout=30)


def drain(ws) -> tuple[list, int | None]:
    """Every message until the server closes, and the close code."""
    messages = []
    try:
        while True:
            message = ws.recv(timeout=120)
            messages.append(message if isinstance(message, bytes) else json.loads(message))
    except ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd else None


def pcm_of(text: str) -> bytes:
    return (audio.decode(spoken(text))[0] * 32767).astype("<i2").tobytes()


def test_stt_raw_pcm_gets_partials_then_final(server):
    pcm = pcm_of(SENTENCES[0]) + pcm_of(SENTENCES[1])
    with open_ws(server, "/api/voice/stt/ws", "?language=en") as ws:
        for start in range(0, len(pcm), 8000):  # 0.25 s of audio per frame, a little faster than real time
            ws.send(pcm[start:start + 8000])
            time.sleep(0.05)
        time.sleep(1.0)  # let the last partial finish
        ws.send(json.dumps({"type": "end"}))
        messages, code = drain(ws)
    partials = [m for m in messages if m["type"] == "partial"]
    final = messages[-1]
    assert partials and all(p["text"] for p in partials), messages
    assert final["type"] == "final" and [m["type"] for m in messages].count("final") == 1
    assert wer(" ".join(SENTENCES[:2]), final["text"]) <= 0.2 and final["language"] == "en"
    assert code == 1000


def test_stt_audio_file_bytes_with_an_api_key(server):
    mp3 = audio.encode(audio.decode(spoken(SENTENCES[2]))[0], audio.WHISPER_RATE, "mp3")
    with open_ws(server, "/api/voice/stt/ws", key=server["key"]) as ws:
        for start in range(0, len(mp3), 4096):
            ws.send(mp3[start:start + 4096])
        ws.send(json.dumps({"type": "end"}))
        messages, code = drain(ws)
    assert messages[-1]["type"] == "final" and wer(SENTENCES[2], messages[-1]["text"]) <= 0.2
    assert code == 1000


@pytest.mark.parametrize(("query", "key", "frames", "expected"), [
    ("", None, [{"type": "end"}], "No audio arrived"),
    ("?api_key=almanac-not-a-real-key", None, [], "Invalid API key"),
    ("", "almanac-not-a-real-key", [], "Invalid API key"),
    ("?language=xx-klingon", None, [], "Unknown language"),
    ("", None, [b"\x00\x01" * 100, "not json"], "Text frames must be JSON objects"),
    ("", None, [b"\x00\x01" * 100, {"type": "pause"}], "Unexpected text frame"),
    ("", None, [b"a plain text file, not a recording\n" * 20, {"type": "end"}], "looks like text"),
    ("", None, [b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00", {"type": "end"}], "truncated or damaged"),
])
def test_stt_errors_are_frames_then_a_normal_close(server, query, key, frames, expected):
    with open_ws(server, "/api/voice/stt/ws", query, key) as ws:
        for frame in frames:
            ws.send(frame if isinstance(frame, (bytes, str)) else json.dumps(frame))
        messages, code = drain(ws)
    assert messages[-1]["type"] == "error" and expected in messages[-1]["message"], messages
    assert code == 1000


def speak(ws, request: dict) -> tuple[bytes, dict]:
    """One text-to-speech request on an open socket: the audio and the end frame."""
    ws.send(json.dumps(request))
    chunks = []
    while isinstance(message := ws.recv(timeout=60), bytes):
        chunks.append(message)
    return b"".join(chunks), json.loads(message)


def test_tts_streams_audio_then_end_and_reports_errors(server):
    with open_ws(server, "/api/voice/tts/ws", key=server["key"]) as ws:  # a key: edge-tts first, then espeak-ng
        spoken_back = {}
        for fmt in ("mp3", "wav"):  # two requests on one connection
            data, end = speak(ws, {"text": SENTENCES[3], "format": fmt})
            assert end["type"] == "end" and end["format"] == fmt and end["bytes"] == len(data) and data
            assert end["provider"] == "espeak-ng" and "edge-tts was unavailable" in end["note"]
            assert audio.sniff_container(data) == fmt and 0.5 < audio.duration_of(data) < 10
            spoken_back[fmt] = data
        ws.send(json.dumps({"text": "   "}))
        messages, code = drain(ws)
    assert messages == [{"type": "error", "message": "There is nothing to say: the text is empty"}] and code == 1000

    with open_ws(server, "/api/voice/stt/ws") as ws:  # what it said is heard back
        ws.send(spoken_back["wav"])
        ws.send(json.dumps({"type": "end"}))
        messages, _code = drain(ws)
    assert wer(SENTENCES[3], messages[-1]["text"]) <= 0.2

    for request, expected in ((b"\x00\x01", "Send a JSON text frame"), ({"text": "Hi", "format": "ogg"}, "format"),
                              ({"voice": "en-us"}, "text"), ({"text": "Hi", "voice": "klingon"}, "Unknown")):
        with open_ws(server, "/api/voice/tts/ws") as ws:
            ws.send(request if isinstance(request, bytes) else json.dumps(request))
            messages, code = drain(ws)
        assert messages[-1]["type"] == "error" and expected in messages[-1]["message"], messages
        assert code == 1000


def test_without_a_key_only_the_offline_engines_run(server):
    """A workspace's saved default voice model (and its provider key) serves callers with a key only."""
    svc = build_services(Settings(data_dir=server["data"], ingest_workers=0))
    with OpenAIAudioServer(api_key="sk-voice") as cloud:
        saved = svc.models.create("default", type="tts", provider="openai", name="Cloud voice", model="tts-1",
                                  base_url=cloud.base_url, api_key="sk-voice", is_default=True)
        try:
            with open_ws(server, "/api/voice/tts/ws") as ws:
                data, end = speak(ws, {"text": SENTENCES[0], "format": "wav"})
            assert end["provider"] == "espeak-ng" and data and cloud.requests == []
            for path, query, frame in (("/api/voice/tts/ws", "", {"text": "Hi", "model_id": saved.id}),
                                       ("/api/voice/stt/ws", f"?model_id={saved.id}", None)):
                with open_ws(server, path, query) as ws:
                    if frame:
                        ws.send(json.dumps(frame))
                    messages, code = drain(ws)
                assert "need an API key" in messages[-1]["message"] and code == 1000, messages
            assert cloud.requests == []
            with open_ws(server, "/api/voice/tts/ws", key=server["key"]) as ws:
                _data, end = speak(ws, {"text": SENTENCES[0], "format": "wav"})
            assert end["provider"] == "openai" and [r["path"] for r in cloud.requests] == ["speech"]
        finally:
            svc.models.delete("default", saved.id)
            svc.close()
