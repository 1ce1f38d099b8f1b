"""Streaming voice over WebSockets at the Nexent paths.

/api/voice/stt/ws  client: binary frames (raw 16 kHz mono 16-bit PCM, or the bytes of an audio file), then the
                   text frame {"type": "end"}; server: {"type": "partial", "text"} while it can, then
                   {"type": "final", "text", "language", "duration_s", ...} and a normal close.
                   Query: language (auto | en | zh ...), model_id (a saved stt model), format (auto | pcm | file).
/api/voice/tts/ws  client: {"text", "voice"?, "format"?: "mp3" | "wav", "rate"?, "model_id"?}; server: binary
                   audio frames, then {"type": "end", ...}. Several requests may share one connection.

Auth is optional, as in Nexent: `Authorization: Bearer <key>` or `?api_key=<key>` picks the key's tenant and
its saved voice models; without a key only the built-in offline engines run (faster-whisper, espeak-ng), never
a workspace's saved models or their provider keys (a `model_id` is then refused). Every error arrives as {"type": "error", "message"} followed by a
normal close, never as a dropped connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.common.auth import Principal, optional_principal
from api.common.errors import Unauthenticated
from api.nexent.errors import message_of
from core.container import Services
from core.errors import AlmanacError, Forbidden, InvalidInput
from core.scope import parse_config
from core.voice import TranscriptionSession

log = logging.getLogger("almanac.voice")
router = APIRouter(tags=["Nexent: voice"])
AUDIO_FRAME_BYTES = 32 * 1024  # TTS audio goes out in frames of this size


class SpeakRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    voice: str | None = None
    format: Literal["mp3", "wav"] = "mp3"
    rate: float | None = Field(None, ge=0.5, le=2.0)
    model_id: str | None = None


def _services(ws: WebSocket) -> Services:
    return ws.app.state.services


def _caller(ws: WebSocket) -> Principal:
    """The key's tenant, else an anonymous caller (keys are optional here, as in Nexent)."""
    try:
        return optional_principal(ws)
    except Unauthenticated as exc:
        raise Forbidden(message_of(exc)) from None


async def _fail(ws: WebSocket, message: str) -> None:
    """An error frame, then a normal close; the client may already be gone."""
    try:
        await ws.send_json({"type": "error", "message": message})
        await ws.close(code=1000)
    except (WebSocketDisconnect, RuntimeError):
        pass


def _json_frame(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidInput(f"Text frames must be JSON objects, got {text[:60]!r}") from None
    if not isinstance(data, dict):
        raise InvalidInput("Text frames must be JSON objects")
    return data


async def _guarded(ws: WebSocket, handler: Callable[[WebSocket], Awaitable[None]]) -> None:
    """Accept, run the handler, and turn every failure into an error frame."""
    await ws.accept()
    try:
        await handler(ws)
    except WebSocketDisconnect:
        return
    except AlmanacError as exc:
        await _fail(ws, exc.message)
    except Exception:  # still an error frame, never a dropped connection
        log.exception("voice websocket failed")
        await _fail(ws, "Internal error while processing the audio; see the server log")


# ------------------------------------------------------------------------------------------------ STT
async def _listen(ws: WebSocket) -> None:
    caller = await run_in_threadpool(_caller, ws)
    q = ws.query_params
    session: TranscriptionSession = await run_in_threadpool(
        _services(ws).voice.stream, caller.tenant_id, language=q.get("language") or None,
        model_id=q.get("model_id") or None, kind=q.get("format") or "auto", offline_only=caller.anonymous)
    partial_task: asyncio.Task | None = None

    async def send_partial() -> None:
        try:
            partial = await run_in_threadpool(session.partial)
        except AlmanacError as exc:  # the final transcript will report it properly
            log.info("partial transcript skipped: %s", exc.message)
            return
        if partial is not None and partial.text:
            await ws.send_json({"type": "partial", "text": partial.text})

    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if message.get("bytes") is not None:
                session.feed(message["bytes"])
                # One partial at a time, computed while more audio keeps arriving.
                if partial_task is None or partial_task.done():
                    partial_task = asyncio.create_task(send_partial())
                continue
            frame = _json_frame(message.get("text") or "")
            if frame.get("type") != "end":
                raise InvalidInput('Unexpected text frame: send binary audio frames, then {"type": "end"}')
            break
        if partial_task is not None:
            await partial_task  # never send a partial after the final
    finally:
        if partial_task is not None and not partial_task.done():
            partial_task.cancel()  # on errors: no partial after the error frame
    final = await run_in_threadpool(session.final)
    await ws.send_json({"type": "final", "text": final.text, "language": final.language,
                        "duration_s": final.duration_s, "model": final.model, "note": final.note,
                        "segments": [s.__dict__ for s in final.segments]})
    await ws.close(code=1000)


@router.websocket("/api/voice/stt/ws")
async def stt_ws(ws: WebSocket) -> None:
    await _guarded(ws, _listen)


# ------------------------------------------------------------------------------------------------ TTS
async def _speak(ws: WebSocket) -> None:
    caller = await run_in_threadpool(_caller, ws)
    voice = _services(ws).voice
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is None:
            raise InvalidInput('Send a JSON text frame such as {"text": "Hello", "format": "mp3"}')
        request = parse_config(SpeakRequest, _json_frame(message["text"]))
        speech = await run_in_threadpool(voice.synthesize, caller.tenant_id, request.text, voice=request.voice,
                                         format=request.format, model_id=request.model_id, rate=request.rate,
                                         offline_only=caller.anonymous)
        for start in range(0, len(speech.audio), AUDIO_FRAME_BYTES):
            await ws.send_bytes(speech.audio[start:start + AUDIO_FRAME_BYTES])
        await ws.send_json({"type": "end", "format": speech.format, "media_type": speech.media_type,
                            "bytes": len(speech.audio), "duration_s": speech.duration_s,
                            "provider": speech.provider_used, "voice": speech.voice_used, "note": speech.note})


@router.websocket("/api/voice/tts/ws")
async def tts_ws(ws: WebSocket) -> None:
    await _guarded(ws, _speak)
