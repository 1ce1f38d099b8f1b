"""Text-to-speech: edge-tts (online, natural voices) falling back to espeak-ng (offline), or an OpenAI-compatible
service.

    get_tts(TTSSpec("edge-tts")).synthesize("Hello", fmt="wav") -> Speech

edge-tts needs Microsoft's online service. Before streaming, a plain TCP connect to the service (or the
configured proxy) must succeed within `connect_timeout` (1 s): offline, the DNS lookup fails at once,
espeak-ng speaks instead with a voice for the same language, and the failure is remembered for a
short while so the next calls do not wait again. Voices are picked by the text's script when none is
asked for (Chinese text gets a Chinese voice).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core import audio
from core.errors import AlmanacError, InvalidInput, ProviderError
from core.providers.openai_errors import provider_error

log = logging.getLogger(__name__)

AUTO = "auto"
MAX_CHARS = 5000
EDGE_HOST, EDGE_PORT = "speech.platform.bing.com", 443
EDGE_DOWN_MEMORY_S = 30.0  # after a failed connect, skip edge-tts for this long
EDGE_VOICES = {"en": "en-US-AriaNeural", "zh": "zh-CN-XiaoxiaoNeural", "ja": "ja-JP-NanamiNeural",
               "ko": "ko-KR-SunHiNeural", "ru": "ru-RU-SvetlanaNeural", "ar": "ar-SA-ZariyahNeural",
               "hi": "hi-IN-SwaraNeural", "de": "de-DE-KatjaNeural", "fr": "fr-FR-DeniseNeural",
               "es": "es-ES-ElviraNeural", "it": "it-IT-ElsaNeural", "pt": "pt-BR-FranciscaNeural"}
ESPEAK_VOICES = {"en": "en-us", "zh": "cmn", "ja": "ja", "ko": "ko", "ru": "ru", "ar": "ar", "hi": "hi",
                 "de": "de", "fr": "fr-fr", "es": "es", "it": "it", "pt": "pt-br", "yue": "yue"}
EDGE_VOICE_RE = re.compile(r"^([a-z]{2,})-([A-Z]{2,})-([\w-]+Neural)$")  # edge-tts's own voice pattern
_SCRIPTS = (("ja", r"[\u3040-\u30ff]"), ("ko", r"[\uac00-\ud7af\u1100-\u11ff]"),
            ("zh", r"[\u4e00-\u9fff\u3400-\u4dbf]"), ("ru", r"[\u0400-\u04ff]"), ("ar", r"[\u0600-\u06ff]"),
            ("hi", r"[\u0900-\u097f]"), ("en", r"[A-Za-z]"))
# A little slower than espeak-ng's default 175 wpm, with 10 ms between words: measured clearer for
# listeners and for speech recognition (fewer merged words).
ESPEAK_WPM, ESPEAK_WORD_GAP = 160, "1"


@dataclass
class Speech:
    audio: bytes
    media_type: str
    format: str  # mp3 | wav
    provider_used: str  # edge-tts | espeak-ng | openai
    voice_used: str
    duration_s: float
    note: str = ""  # e.g. why espeak-ng spoke instead of edge-tts


@dataclass(frozen=True)
class TTSSpec:
    provider: str  # edge-tts | espeak-ng | openai
    model: str = AUTO  # edge-tts / espeak-ng: the default voice ("auto": by language); openai: tts-1, ...
    base_url: str | None = None
    api_key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # voice, rate, voices{lang: voice}, proxy, timeout ...

    def __repr__(self) -> str:
        return (f"TTSSpec(provider={self.provider!r}, model={self.model!r}, base_url={self.base_url!r}, "
                f"api_key={'***' if self.api_key else None!r}, params={self.params!r})")

    __str__ = __repr__


# ------------------------------------------------------------------------------------------ helpers
def detect_language(text: str) -> str:
    """The language of the text's dominant script (Japanese whenever kana appear); Latin script -> "en"."""
    counts = {lang: len(re.findall(pattern, text)) for lang, pattern in _SCRIPTS}
    if counts["ja"]:
        return "ja"
    best = max(counts, key=counts.get)
    return best if counts[best] else "en"


def check_text(text: str | None, limit: int = MAX_CHARS) -> str:
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text or "").strip()
    if not text:
        raise InvalidInput("There is nothing to say: the text is empty")
    if len(text) > limit:
        raise InvalidInput(f"The text is {len(text)} characters long; at most {limit} can be spoken at once")
    return text


def check_rate(rate: Any) -> float:
    """A speed factor: 1.0 is normal, 0.5 half as fast, 2.0 twice as fast."""
    if rate is None or rate == "":
        return 1.0
    if isinstance(rate, bool):
        raise InvalidInput(f"The speaking rate must be a number from 0.5 to 2.0, got {rate!r}")
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise InvalidInput(f"The speaking rate must be a number from 0.5 to 2.0, got {rate!r}") from None
    if not 0.5 <= value <= 2.0:
        raise InvalidInput(f"The speaking rate must be from 0.5 to 2.0 (1.0 = normal), got {value:g}")
    return value


def _result(data: bytes, fmt: str, provider: str, voice: str, note: str = "") -> Speech:
    """Speech in the wanted format; audio that cannot be decoded is the provider's failure."""
    try:
        if audio.sniff_container(data) == fmt:
            duration = audio.duration_of(data)
        else:
            data, duration = audio.transcode(data, fmt)
    except InvalidInput as exc:
        raise ProviderError(f"{provider} returned audio that cannot be read: {exc.message}") from None
    return Speech(data, audio.MEDIA_TYPES[fmt], fmt, provider, voice, round(duration, 3), note)


def _run(coro_factory: Callable[[], Any]) -> Any:
    """Run a coroutine to completion from sync code, also when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


# ------------------------------------------------------------------------------------------ espeak-ng
@functools.lru_cache(maxsize=1)
def espeak_voices() -> frozenset[str]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        return frozenset()
    out = subprocess.run([exe, "--voices"], capture_output=True, text=True, timeout=15, check=False).stdout
    return frozenset(line.split()[1] for line in out.splitlines()[1:] if len(line.split()) > 1)


class EspeakTTS:
    """espeak-ng, a local formant synthesiser: robotic but offline, instant and multilingual."""

    def __init__(self, spec: TTSSpec | None = None):
        self.spec = spec or TTSSpec("espeak-ng")
        self.rate = check_rate(self.spec.params.get("rate"))

    def voice_for(self, text: str, voice: str | None) -> str:
        wanted = (voice or "").strip() or (self.spec.model if self.spec.model.strip() not in ("", AUTO) else "")
        if not wanted or wanted == AUTO:
            return ESPEAK_VOICES[detect_language(text)]
        if m := EDGE_VOICE_RE.match(wanted):  # an edge-tts voice: speak its language
            return ESPEAK_VOICES.get(m.group(1), "en-us")
        lowered = wanted.lower()
        known = espeak_voices()
        if lowered in known:
            return lowered
        base = lowered.split("-")[0]
        if base in ESPEAK_VOICES:
            return ESPEAK_VOICES[base]
        raise InvalidInput(f"Unknown espeak-ng voice {wanted!r}: use 'auto', a language code (en, zh, ja, ...) or "
                           "one of `espeak-ng --voices`")

    def synthesize(self, text: str, voice: str | None = None, fmt: str = "mp3", rate: float | None = None) -> Speech:
        text, fmt = check_text(text), audio.check_format(fmt)
        speed = check_rate(rate) if rate is not None else self.rate
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise ProviderError("espeak-ng is not installed: install it (apt-get install espeak-ng) for offline speech")
        chosen = self.voice_for(text, voice)
        try:  # the text goes through stdin, so a text starting with "-" is never read as an option
            proc = subprocess.run([exe, "-v", chosen, "-s", str(int(ESPEAK_WPM * speed)), "-g", ESPEAK_WORD_GAP,
                                   "-b", "1", "--stdout"],
                                  input=text.encode("utf-8"), capture_output=True, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            raise ProviderError("espeak-ng took longer than 120 s") from None
        if proc.returncode != 0 or len(proc.stdout) <= 44:
            raise ProviderError(f"espeak-ng failed (exit {proc.returncode}): "
                                f"{proc.stderr.decode(errors='replace')[:200] or 'no audio'}")
        return _result(proc.stdout, fmt, "espeak-ng", chosen)


# ------------------------------------------------------------------------------------------ edge-tts
class EdgeUnavailable(Exception):
    """edge-tts could not reach or use its service (the caller falls back to espeak-ng)."""


_edge_down: dict[tuple[str, int], tuple[float, str]] = {}  # (host, port) -> (until, reason)
_edge_down_lock = threading.Lock()


class EdgeTTS:
    def __init__(self, spec: TTSSpec | None = None):
        self.spec = spec or TTSSpec("edge-tts")
        p = self.spec.params
        self.rate = check_rate(p.get("rate"))
        self.proxy = str(p.get("proxy") or "").strip() or None
        self.connect_timeout = float(p.get("connect_timeout") or 1.0)
        self.first_audio_timeout = float(p.get("first_audio_timeout") or 10.0)  # connected, but silent
        self.timeout = float(p.get("timeout") or 120.0)
        self.fallback = p.get("fallback", True) is not False
        self.voices = {**EDGE_VOICES, **{k: v for k, v in (p.get("voices") or {}).items() if v}}

    def voice_for(self, text: str, voice: str | None) -> tuple[str, str]:
        """(edge voice, its language code)."""
        wanted = (voice or "").strip() or (self.spec.model if self.spec.model.strip() not in ("", AUTO) else "")
        if not wanted or wanted == AUTO:
            lang = detect_language(text)
            return self.voices.get(lang, self.voices["en"]), lang
        if m := EDGE_VOICE_RE.match(wanted):
            return wanted, m.group(1)
        base = wanted.lower().replace("_", "-").split("-")[0]
        if base in self.voices:
            return self.voices[base], base
        raise InvalidInput(f"Unknown edge-tts voice {wanted!r}: use 'auto', a language code (en, zh, ...) or a voice "
                           "name such as en-US-AriaNeural or zh-CN-XiaoxiaoNeural")

    def _target(self) -> tuple[str, int]:
        """Where the first TCP connection goes: the proxy when there is one, else the service."""
        proxy = self.proxy or urllib.request.getproxies().get("https")
        if proxy:
            parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        return EDGE_HOST, EDGE_PORT

    async def _stream(self, text: str, voice: str, rate: float) -> bytes:
        import aiohttp
        import edge_tts

        host, port = self._target()
        try:  # DNS + TCP within the budget, or give up: this is what keeps the fallback under a second
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.connect_timeout)
            writer.close()
        except (OSError, TimeoutError) as exc:
            reason = f"cannot connect to {host}:{port} ({type(exc).__name__}: {exc or 'timed out'})"
            with _edge_down_lock:
                _edge_down[(host, port)] = (time.monotonic() + EDGE_DOWN_MEMORY_S, reason)
            raise EdgeUnavailable(reason) from None
        communicate = edge_tts.Communicate(text, voice, rate=f"{round((rate - 1) * 100):+d}%", proxy=self.proxy,
                                           connect_timeout=max(1, round(self.connect_timeout * 3)),
                                           receive_timeout=int(self.timeout))
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.first_audio_timeout) as deadline:
                async for chunk in communicate.stream():
                    if chunk["type"] == "audio":
                        if not chunks:  # it speaks: now allow the whole text the full timeout
                            deadline.reschedule(asyncio.get_running_loop().time() + self.timeout)
                        chunks.append(chunk["data"])
        except (OSError, TimeoutError, aiohttp.ClientError, edge_tts.exceptions.EdgeTTSException) as exc:
            raise EdgeUnavailable(f"the edge-tts service failed ({type(exc).__name__}: {str(exc)[:150]})") from None
        if not chunks:
            raise EdgeUnavailable("the edge-tts service returned no audio")
        return b"".join(chunks)

    def synthesize(self, text: str, voice: str | None = None, fmt: str = "mp3", rate: float | None = None) -> Speech:
        text, fmt = check_text(text), audio.check_format(fmt)
        speed = check_rate(rate) if rate is not None else self.rate
        edge_voice, lang = self.voice_for(text, voice)
        with _edge_down_lock:
            until, reason = _edge_down.get(self._target(), (0.0, ""))
        try:
            if time.monotonic() < until:
                raise EdgeUnavailable(f"{reason}, less than {EDGE_DOWN_MEMORY_S:g} s ago")
            return _result(_run(lambda: self._stream(text, edge_voice, speed)), fmt, "edge-tts", edge_voice)
        except (EdgeUnavailable, ProviderError) as exc:
            why = exc.message if isinstance(exc, AlmanacError) else str(exc)
            if not self.fallback:
                raise ProviderError(f"edge-tts is unavailable: {why}") from None
            log.info("edge-tts unavailable (%s); speaking with espeak-ng", why)
        speech = EspeakTTS(TTSSpec("espeak-ng", ESPEAK_VOICES.get(lang, "en-us"))).synthesize(text, None, fmt, speed)
        speech.note = f"edge-tts was unavailable ({why}); espeak-ng spoke instead."
        return speech


# ------------------------------------------------------------------------------------------ OpenAI-compatible
class OpenAITTS:
    """POST {base_url}/audio/speech (OpenAI, or a compatible local server)."""

    def __init__(self, spec: TTSSpec):
        import openai

        self.spec = spec
        self.base_url = (spec.base_url or "https://api.openai.com/v1").rstrip("/")
        self.timeout = float(spec.params.get("timeout") or 60)
        self.retries = int(spec.params.get("max_retries") if spec.params.get("max_retries") is not None else 1)
        self.voice = str(spec.params.get("voice") or "alloy")
        self.rate = check_rate(spec.params.get("rate"))
        self._client = openai.OpenAI(base_url=self.base_url, api_key=spec.api_key or "no-key",
                                     timeout=self.timeout, max_retries=self.retries)

    def synthesize(self, text: str, voice: str | None = None, fmt: str = "mp3", rate: float | None = None) -> Speech:
        text, fmt = check_text(text, 4096), audio.check_format(fmt)  # OpenAI's own input limit
        speed = check_rate(rate) if rate is not None else self.rate
        chosen = (voice or "").strip() or self.voice
        extra = {"speed": speed} if speed != 1.0 else {}
        try:
            response = self._client.audio.speech.create(model=self.spec.model, voice=chosen, input=text,
                                                        response_format=fmt, **extra)
            data = response.read()
        except Exception as exc:  # mapped to a ProviderError that names the server, never the key
            raise provider_error(exc, base_url=self.base_url, model=self.spec.model, key=self.spec.api_key,
                                 timeout=self.timeout, retries=self.retries) from exc
        return _result(data, fmt, "openai", chosen)


PROVIDERS: dict[str, Callable[[TTSSpec], EdgeTTS | EspeakTTS | OpenAITTS]] = {
    "edge-tts": EdgeTTS,
    "espeak-ng": EspeakTTS,
    "openai": OpenAITTS,
}


def get_tts(spec: TTSSpec) -> EdgeTTS | EspeakTTS | OpenAITTS:
    factory = PROVIDERS.get(spec.provider)
    if factory is None:
        raise InvalidInput(f"Unknown text-to-speech provider '{spec.provider}' (valid: {', '.join(PROVIDERS)})")
    return factory(spec)
