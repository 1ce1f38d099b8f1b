"""The speech providers for real: faster-whisper (bundled tiny.en) hears espeak-ng, edge-tts falls back to
espeak-ng fast when its service is unreachable, bad audio gets a clear error, OpenAI-compatible services work."""

from __future__ import annotations

import io
import socket
import threading
import time

import av
import numpy as np
import pytest

from core import audio
from core.errors import InvalidInput, ProviderError
from core.providers.stt import OpenAISTT, STTSpec, get_stt
from core.providers.tts import EdgeTTS, OpenAITTS, TTSSpec, detect_language
from tests.voice.conftest import SENTENCES, refused_url, spoken, wer, word_errors, words
from tests.voice.openai_audio_server import OpenAIAudioServer

KEY = "sk-voice-0123456789abcdefSECRET"


@pytest.fixture(scope="module")
def whisper():
    return get_stt(STTSpec("faster-whisper", "bundled"))


def reencode(wav: bytes, fmt: str, codec: str, rate: int = 48_000) -> bytes:
    """The same speech in another container (what browsers and phones upload)."""
    samples, _ = audio.decode(wav, rate)
    pcm = (samples * 32767).astype("<i2")
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        for start in range(0, len(pcm), 960):
            frame = av.AudioFrame.from_ndarray(pcm[start:start + 960].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_whisper_transcribes_espeak_sentences(whisper):
    errors = total = 0
    for sentence in SENTENCES:
        result = whisper.transcribe(spoken(sentence), "sentence.wav")
        errors, total = errors + word_errors(sentence, result.text), total + len(words(sentence))
        assert wer(sentence, result.text) <= 0.2, (sentence, result.text)
        assert result.language == "en" and 1.0 < result.duration_s < 6.0 and result.segments
        assert result.provider == "faster-whisper" and result.model == "tiny.en (bundled)"
    assert errors / total <= 0.2


@pytest.mark.parametrize(("fmt", "codec", "name"), [("mp3", "libmp3lame", "a.mp3"), ("ogg", "libopus", "a.ogg"),
                                                    ("webm", "libopus", "a.webm"), ("mp4", "aac", "a.m4a")])
def test_common_formats_are_accepted(whisper, fmt, codec, name):
    sentence = SENTENCES[2]
    data = reencode(spoken(sentence), fmt, codec)
    assert wer(sentence, whisper.transcribe(data, name).text) <= 0.2


def test_bad_audio_gets_clear_errors(whisper):
    wav = spoken(SENTENCES[0])
    cases = {
        "empty": (b"", "is empty"),
        "truncated header": (wav[:30], "truncated or damaged"),
        "header without sound": (wav[:44], "contains no audio samples"),
        "random bytes": (np.random.default_rng(7).bytes(4000), "not a supported audio format"),
        "text file": (b"Dear team,\nthe minutes are attached.\n" * 20, "not a supported audio format"),
    }
    for label, (data, expected) in cases.items():
        with pytest.raises(InvalidInput) as err:
            whisper.transcribe(data, f"{label}.wav")
        assert expected in err.value.message, (label, err.value.message)
    # Cut in the middle of the samples: what arrived is still speech, and is transcribed.
    assert words(whisper.transcribe(wav[: len(wav) * 2 // 3], "cut.wav").text)[:2] == ["please", "send"]


def test_english_only_model_says_so_for_other_languages(whisper):
    result = whisper.transcribe(spoken(SENTENCES[1]), "a.wav", language="zh")
    assert result.language == "en" and "English only" in result.note and "'small'" in result.note
    assert wer(SENTENCES[1], result.text) <= 0.2
    with pytest.raises(InvalidInput, match="Unknown language 'klingon'"):
        whisper.transcribe(spoken("hello"), "a.wav", language="klingon")


def test_unknown_whisper_model_is_a_provider_error_naming_the_download():
    with pytest.raises(ProviderError, match="needs internet access"):
        get_stt(STTSpec("faster-whisper", "/nonexistent/whisper-model")).transcribe(spoken("hello"), "a.wav")


def test_edge_unreachable_falls_back_to_espeak_quickly():
    edge = EdgeTTS(TTSSpec("edge-tts", params={"proxy": refused_url()}))
    started = time.perf_counter()
    speech = edge.synthesize("The weather today is sunny and warm.", fmt="wav")
    assert time.perf_counter() - started < 1.5
    assert (speech.provider_used, speech.voice_used, speech.format) == ("espeak-ng", "en-us", "wav")
    assert "edge-tts was unavailable" in speech.note and "espeak-ng spoke instead" in speech.note
    assert speech.audio[:4] == b"RIFF" and 0.5 < speech.duration_s < 10
    assert abs(audio.duration_of(speech.audio) - speech.duration_s) < 0.05

    mp3 = edge.synthesize("今天天气很好，我们下午开会。", fmt="mp3")  # Chinese text: a Chinese espeak voice
    assert (mp3.provider_used, mp3.voice_used, mp3.media_type) == ("espeak-ng", "cmn", "audio/mpeg")
    assert audio.sniff_container(mp3.audio) == "mp3" and 0.5 < audio.duration_of(mp3.audio) < 10
    assert edge.synthesize("Hello", voice="de-DE-KatjaNeural").voice_used == "de"  # the asked voice's language
    assert detect_language("こんにちは、世界") == "ja" and detect_language("Hello") == "en"

    with pytest.raises(ProviderError, match="edge-tts is unavailable"):
        EdgeTTS(TTSSpec("edge-tts", params={"proxy": refused_url(), "fallback": False})).synthesize("Hello")
    for bad, message in (("", "nothing to say"), ("x" * 5001, "at most 5000")):
        with pytest.raises(InvalidInput, match=message):
            edge.synthesize(bad)
    with pytest.raises(InvalidInput, match="Unknown edge-tts voice"):
        edge.synthesize("Hello", voice="not a voice")
    with pytest.raises(InvalidInput, match="Unknown audio format"):
        edge.synthesize("Hello", fmt="ogg")


def test_edge_connected_but_silent_falls_back_after_first_audio_timeout():
    """A proxy that accepts the connection and then never answers: espeak-ng after first_audio_timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    try:
        proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
        edge = EdgeTTS(TTSSpec("edge-tts", params={"proxy": proxy, "first_audio_timeout": 1}))
        started = time.perf_counter()
        speech = edge.synthesize("Hello there.", fmt="mp3")
        assert 0.9 < time.perf_counter() - started < 3 and speech.provider_used == "espeak-ng"
        assert "TimeoutError" in speech.note
    finally:
        for s in [*held, listener]:
            s.close()


def test_openai_compatible_stt_and_tts():
    with OpenAIAudioServer(api_key=KEY) as server:
        stt = OpenAISTT(STTSpec("openai", "whisper-1", base_url=server.base_url, api_key=KEY))
        result = stt.transcribe(spoken(SENTENCES[0]), "note.wav", language="en")
        assert wer(SENTENCES[0], result.text) <= 0.2 and result.provider == "openai" and result.duration_s > 1
        assert server.requests[-1] == {"path": "transcriptions", "model": "whisper-1", "language": "en",
                                       "name": "note.wav"}
        with pytest.raises(InvalidInput, match="is empty"):  # bad audio never leaves this machine
            stt.transcribe(b"", "x.wav")
        assert len(server.requests) == 1

        tts = OpenAITTS(TTSSpec("openai", "tts-1", base_url=server.base_url, api_key=KEY))
        speech = tts.synthesize("Good morning everyone.", voice="nova", fmt="wav", rate=1.25)
        assert speech.audio[:4] == b"RIFF" and speech.provider_used == "openai" and speech.voice_used == "nova"
        assert server.requests[-1] == {"path": "speech", "model": "tts-1", "voice": "nova", "format": "wav",
                                       "speed": 1.25}

        wrong = OpenAISTT(STTSpec("openai", "whisper-1", base_url=server.base_url, api_key="sk-wrong-key-1234567"))
        with pytest.raises(ProviderError, match="API key was rejected") as err:
            wrong.transcribe(spoken("hello"), "a.wav")
        assert "sk-wrong" not in err.value.message
        with pytest.raises(ProviderError, match="Model 'tts-9' not found"):
            OpenAITTS(TTSSpec("openai", "tts-9", base_url=server.base_url, api_key=KEY)).synthesize("Hi")
