"""VoiceService: speech-to-text and text-to-speech for a tenant, with the model it chose or the offline defaults.

Which model: the given model config id, else the tenant's default stt / tts model config, else the
settings' defaults (the bundled faster-whisper tiny.en; edge-tts falling back to espeak-ng).
`offline_only=True` (a caller with no API key) never touches a tenant's saved models and their keys:
speech-to-text runs the settings' local faster-whisper model, text-to-speech espeak-ng, both on this machine.
`stream()` gives a TranscriptionSession for the streaming endpoint: feed it bytes as they arrive,
ask for partial transcripts, then the final one.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

import numpy as np

from core import audio
from core.config import Settings
from core.errors import Forbidden, InvalidInput, TooLarge
from core.model_configs import ModelService
from core.providers.stt import STTSpec, Transcript, get_stt, normalize_language
from core.providers.tts import EspeakTTS, Speech, TTSSpec, get_tts

PCM = "pcm"  # raw 16 kHz mono 16-bit little-endian samples
PCM_BYTES_PER_S = audio.WHISPER_RATE * 2
_TEXT_LIKE = re.compile(rb"^[\t\n\r\x20-\x7e]*$")


def stt_defaults(settings: Settings) -> dict[str, Any]:
    return {"device": settings.stt_device, "compute_type": settings.stt_compute_type,
            "language": settings.stt_language, "vad": settings.stt_vad}


def tts_defaults(settings: Settings) -> dict[str, Any]:
    return {"rate": settings.tts_rate, "proxy": settings.tts_proxy, "connect_timeout": settings.tts_connect_timeout,
            "voices": {"en": settings.tts_voice_en, "zh": settings.tts_voice_zh}}


def stt_spec(settings: Settings, provider: str, model: str, base_url: str | None = None, api_key: str | None = None,
             params: dict | None = None) -> STTSpec:
    merged = {**stt_defaults(settings), **(params or {})} if provider == "faster-whisper" else dict(params or {})
    return STTSpec(provider, model, base_url or None, api_key or None, merged,
                   download_dir=str(settings.resolved_data_dir / "models" / "whisper"))


def tts_spec(settings: Settings, provider: str, model: str, base_url: str | None = None, api_key: str | None = None,
             params: dict | None = None) -> TTSSpec:
    merged = {**tts_defaults(settings), **(params or {})} if provider != "openai" else dict(params or {})
    return TTSSpec(provider, model, base_url or None, api_key or None, merged)


class TranscriptionSession:
    """Audio arriving in pieces (raw PCM, or the bytes of one audio file): partial and final transcripts.

    A partial re-transcribes everything received so far once `interval_s` of new audio has arrived;
    the final transcript covers the whole stream. `kind` is sniffed from the first bytes unless given.
    """

    def __init__(self, stt: Any, *, language: str | None, max_bytes: int, interval_s: float, kind: str = "auto"):
        self.stt, self.language, self.max_bytes, self.interval_s = stt, language, max_bytes, interval_s
        if kind not in ("auto", PCM, "file"):
            raise InvalidInput(f"Unknown stream format {kind!r} (valid: auto, pcm, file)")
        self.kind: str | None = None if kind in ("auto", "file") else PCM
        self._must_be_file = kind == "file"
        self.buffer = bytearray()
        self._partial_s = 0.0  # audio seconds covered by the last partial
        self._checked_bytes = 0  # buffer size at the last partial attempt on a file

    def feed(self, chunk: bytes) -> None:
        if len(self.buffer) + len(chunk) > self.max_bytes:
            raise TooLarge(f"The audio stream is larger than {self.max_bytes // (1024 * 1024)} MB")
        self.buffer += chunk
        if self.kind is None and len(self.buffer) >= 12:  # enough for every magic number we know
            self.kind = audio.sniff_container(bytes(self.buffer[:12])) or ("file" if self._must_be_file else PCM)

    @property
    def audio_seconds(self) -> float:
        return len(self.buffer) / PCM_BYTES_PER_S if self.kind == PCM else self._partial_s

    def _samples(self, final: bool) -> np.ndarray:
        data = bytes(self.buffer)
        if self.kind == PCM:
            if final and len(data) >= 64 and _TEXT_LIKE.match(data[:512]):
                raise InvalidInput("The stream looks like text, not audio: send raw 16 kHz mono 16-bit PCM or the "
                                   f"bytes of an audio file ({audio.SUPPORTED_HINT})")
            return audio.pcm16_to_float(data)
        if final:
            return audio.decode(data, name="the streamed audio")[0]
        try:  # an incomplete file: decode what there is
            return audio.decode(data)[0]
        except InvalidInput:
            return np.zeros(0, np.float32)

    def partial(self) -> Transcript | None:
        """A transcript of the audio so far when enough new audio came in since the last one, else None."""
        if self.kind is None:
            return None
        if self.kind != PCM:
            if len(self.buffer) - self._checked_bytes < 8_000:  # decoding again is not worth it yet
                return None
            self._checked_bytes = len(self.buffer)
        elif (len(self.buffer) / PCM_BYTES_PER_S) - self._partial_s < self.interval_s:
            return None
        samples = self._samples(final=False)
        seconds = len(samples) / audio.WHISPER_RATE
        if seconds - self._partial_s < self.interval_s:
            return None
        self._partial_s = seconds
        return self.stt.transcribe_samples(samples, self.language)

    def final(self) -> Transcript:
        if len(self.buffer) == 0:
            raise InvalidInput('No audio arrived before {"type": "end"}: send binary frames first')
        if self.kind is None:  # fewer than 12 bytes in all
            self.kind = "file" if self._must_be_file else PCM
        samples = self._samples(final=True)
        if samples.size == 0:
            raise InvalidInput("The stream contains no audio samples")
        return self.stt.transcribe_samples(samples, self.language)


class VoiceService:
    def __init__(self, settings: Settings, models: ModelService):
        self.settings, self.models = settings, models

    @property
    def max_audio_bytes(self) -> int:
        return self.settings.voice_max_audio_mb * 1024 * 1024

    def stt_spec(self, tenant_id: str, model_id: str | None = None, *, offline_only: bool = False) -> STTSpec:
        saved = None if _offline(offline_only, model_id) else self.models.voice_config(tenant_id, "stt", model_id)
        if saved is None:
            return stt_spec(self.settings, "faster-whisper", self.settings.stt_model)
        return stt_spec(self.settings, saved["provider"], saved["model"], saved["base_url"], saved["api_key"],
                        saved["params"])

    def tts_spec(self, tenant_id: str, model_id: str | None = None, *, offline_only: bool = False) -> TTSSpec:
        if _offline(offline_only, model_id):
            return tts_spec(self.settings, "espeak-ng", self.settings.tts_voice)
        saved = self.models.voice_config(tenant_id, "tts", model_id)
        if saved is None:
            return tts_spec(self.settings, self.settings.tts_provider, self.settings.tts_voice)
        return tts_spec(self.settings, saved["provider"], saved["model"], saved["base_url"], saved["api_key"],
                        saved["params"])

    def transcribe(self, tenant_id: str, data: bytes, *, filename: str = "", language: str | None = None,
                   model_id: str | None = None, offline_only: bool = False) -> Transcript:
        """The text spoken in an audio file (wav, mp3, m4a, webm, ogg, flac)."""
        if len(data) > self.max_audio_bytes:
            raise TooLarge(f"The audio is larger than {self.settings.voice_max_audio_mb} MB")
        stt = get_stt(self.stt_spec(tenant_id, model_id, offline_only=offline_only))
        return stt.transcribe(data, filename, normalize_language(language) if language else None)

    def synthesize(self, tenant_id: str, text: str, *, voice: str | None = None, format: str = "mp3",
                   model_id: str | None = None, rate: float | None = None, offline_only: bool = False) -> Speech:
        """Speech for `text` as mp3 or wav bytes."""
        fmt = audio.check_format(format)
        spec = self.tts_spec(tenant_id, model_id, offline_only=offline_only)
        return get_tts(spec).synthesize(text, voice or None, fmt, rate)

    def stream(self, tenant_id: str, *, language: str | None = None, model_id: str | None = None,
               kind: str = "auto", offline_only: bool = False) -> TranscriptionSession:
        """A session for audio that arrives in pieces (the streaming endpoint)."""
        stt = get_stt(self.stt_spec(tenant_id, model_id, offline_only=offline_only))
        return TranscriptionSession(stt, language=normalize_language(language) if language else None,
                                    max_bytes=self.max_audio_bytes, interval_s=self.settings.stt_partial_interval_s,
                                    kind=kind)


def _offline(offline_only: bool, model_id: str | None) -> bool:
    if offline_only and model_id:
        raise Forbidden("Saved voice models need an API key; without one only the built-in offline voices are used")
    return offline_only


# ------------------------------------------------------------------------------------------ model "test" action
PROBE_SENTENCE = "Testing one two three."


def probe_voice_model(settings: Settings, type_: str, provider: str, model: str, base_url: str, api_key: str,
                      params: dict) -> str:
    """A real round trip for the Models page's test: transcribe a spoken clip / speak "test". Returns the verdict."""
    if provider == "openai":  # a test should answer fast: no retries, a short timeout
        params = {**params, "max_retries": 0, "timeout": min(float(params.get("timeout") or 15), 15.0)}
    if type_ == "tts":
        speech = get_tts(tts_spec(settings, provider, model, base_url, api_key, params)).synthesize("test", fmt="mp3")
        verdict = (f"Spoke 'test' with {speech.provider_used} voice {speech.voice_used}: "
                   f"{speech.duration_s:.1f} s of mp3.")
        return f"{verdict} {speech.note}".strip()
    if shutil.which("espeak-ng"):
        clip = EspeakTTS(TTSSpec("espeak-ng", "en-us")).synthesize(PROBE_SENTENCE, fmt="wav").audio
    else:  # no synthesiser: a tone still proves the model loads and runs
        clip = audio.encode(audio.tone(1.0), audio.WHISPER_RATE, "wav")
    transcript = get_stt(stt_spec(settings, provider, model, base_url, api_key, params)).transcribe(clip, "probe.wav")
    heard = f'heard "{transcript.text}"' if transcript.text else "heard no words"
    verdict = f"{transcript.model} transcribed a {transcript.duration_s:.1f} s test clip and {heard}"
    return f"{verdict} {transcript.note}".strip()
