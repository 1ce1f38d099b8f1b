"""Audio bytes in and out, with PyAV (FFmpeg): decode any common format to mono PCM, encode wav / mp3.

Every decoding failure becomes an InvalidInput that says what was wrong with the audio, so a bad
upload never turns into a 500.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import av
import numpy as np

from core.errors import InvalidInput

log = logging.getLogger(__name__)

WHISPER_RATE = 16_000  # what speech recognisers want: 16 kHz mono
OUTPUT_FORMATS = ("mp3", "wav")
MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}
SUPPORTED_HINT = "wav, mp3, m4a, webm, ogg or flac"

# Leading bytes of the container formats we accept; anything else on the streaming endpoint is raw PCM.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"RIFF", "wav"), (0, b"ID3", "mp3"), (0, b"OggS", "ogg"), (0, b"fLaC", "flac"),
    (0, b"\x1a\x45\xdf\xa3", "webm"), (4, b"ftyp", "m4a"), (0, b"FORM", "aiff"),
)


def sniff_container(data: bytes) -> str | None:
    """The container format the bytes start with, or None (e.g. raw PCM or not audio at all)."""
    for offset, magic, name in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return name
    if _mpeg_header(data[:4]):  # mp3 without an ID3 tag
        return "mp3"
    return None


def _mpeg_header(head: bytes) -> bool:
    """A valid MPEG audio frame header: sync bits and no reserved version, layer, bitrate or rate.

    Strict on purpose: raw PCM often starts with 0xFFFF (-1, near silence), which is sync-like.
    """
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Raw little-endian 16-bit mono PCM as float32 in [-1, 1] (a trailing odd byte is dropped)."""
    usable = len(data) - len(data) % 2
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0


def _frames(container: av.container.InputContainer) -> Iterator[av.AudioFrame]:
    """Decoded frames; damage after the first good frame ends the audio there instead of failing it."""
    stream = container.streams.audio[0]
    produced = False
    try:
        for frame in container.decode(stream):
            produced = True
            yield frame
    except (av.error.FFmpegError, ValueError) as exc:
        if not produced:
            raise
        log.info("audio damaged after some frames, keeping what decoded: %s", exc)


def decode(data: bytes, sample_rate: int | None = WHISPER_RATE, *, name: str = "") -> tuple[np.ndarray, int]:
    """Any supported audio file as (float32 mono samples, sample rate); sample_rate None keeps the file's own.

    Empty, unreadable or silent-less (no samples at all) input raises InvalidInput.
    """
    label = f"'{name}'" if name else "The audio"
    if not data:
        raise InvalidInput(f"{label} is empty (0 bytes): send a recording in {SUPPORTED_HINT}")
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InvalidInput(f"{label} has no audio track")
            rate = sample_rate or container.streams.audio[0].rate or WHISPER_RATE
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            chunks = [out.to_ndarray().reshape(-1) for frame in _frames(container) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]  # flush
    except InvalidInput:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as exc:
        kind = "truncated or damaged" if sniff_container(data) else "not a supported audio format"
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"{label} could not be read: {kind} (supported: {SUPPORTED_HINT}). "
                           f"The decoder said: {reason}") from None
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise InvalidInput(f"{label} contains no audio samples (a header without sound, or cut off too early)")
    return samples, rate


def check_format(fmt: str) -> str:
    fmt = (fmt or "").strip().lower().lstrip(".")
    if fmt not in OUTPUT_FORMATS:
        raise InvalidInput(f"Unknown audio format {fmt!r} (valid: {', '.join(OUTPUT_FORMATS)})")
    return fmt


def encode(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """Mono float32 samples as a complete wav (16-bit PCM) or mp3 file."""
    fmt = check_format(fmt)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream("pcm_s16le" if fmt == "wav" else "libmp3lame", rate=sample_rate, layout="mono")
        if fmt == "mp3":
            stream.bit_rate = 64_000  # speech: small files, still clear
        step = 4096
        for start in range(0, max(len(pcm), 1), step):
            frame = av.AudioFrame.from_ndarray(pcm[start:start + step].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def transcode(data: bytes, fmt: str) -> tuple[bytes, float]:
    """Audio bytes in any supported format as (bytes in `fmt`, duration in seconds), at the source's rate."""
    samples, rate = decode(data, None)
    return encode(samples, rate, fmt), len(samples) / rate


def duration_of(data: bytes) -> float:
    samples, rate = decode(data, None)
    return len(samples) / rate


def tone(seconds: float = 1.0, hz: float = 440.0, sample_rate: int = WHISPER_RATE) -> np.ndarray:
    """A sine tone, e.g. a probe clip when no speech synthesiser is at hand."""
    t = np.arange(int(seconds * sample_rate), dtype=np.float32) / sample_rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
