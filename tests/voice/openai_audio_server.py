"""A real OpenAI-compatible audio server on 127.0.0.1 (/v1/audio/transcriptions, /v1/audio/speech), backed by
the offline engines (faster-whisper tiny.en, espeak-ng), for tests of the `openai` client code paths.

    with OpenAIAudioServer(api_key="sk-voice") as srv:
        OpenAISTT(STTSpec("openai", "whisper-1", base_url=srv.base_url, api_key="sk-voice")) ...
        srv.requests  # [{"path", "model", "language", "voice", "format"}]
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from core.errors import InvalidInput
from core.providers.stt import STTSpec, get_stt
from core.providers.tts import EspeakTTS, TTSSpec

STT_MODELS, TTS_MODELS = {"whisper-1"}, {"tts-1"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": None}}, status)


def build_app(api_key: str, requests: list[dict]) -> FastAPI:
    app = FastAPI()
    stt = get_stt(STTSpec("faster-whisper", "bundled"))

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {api_key}"

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request, file: UploadFile = File(...), model: str = Form(...),  # noqa: B008
                             language: str | None = Form(None), response_format: str = Form("json")):
        requests.append({"path": "transcriptions", "model": model, "language": language, "name": file.filename})
        if not authorised(request):
            return _error(401, "Incorrect API key provided")
        if model not in STT_MODELS:
            return _error(404, f"The model '{model}' does not exist")
        try:
            transcript = stt.transcribe(await file.read(), file.filename or "", language)
        except InvalidInput as exc:
            return _error(400, exc.message)
        return {"text": transcript.text}

    @app.post("/v1/audio/speech")
    async def speech(request: Request):
        body = await request.json()
        requests.append({"path": "speech", "model": body.get("model"), "voice": body.get("voice"),
                         "format": body.get("response_format"), "speed": body.get("speed")})
        if not authorised(request):
            return _error(401, "Incorrect API key provided")
        if body.get("model") not in TTS_MODELS:
            return _error(404, f"The model '{body.get('model')}' does not exist")
        fmt = body.get("response_format") or "mp3"
        spoken = EspeakTTS(TTSSpec("espeak-ng", "en-us")).synthesize(body["input"], None, fmt, body.get("speed"))
        return Response(spoken.audio, media_type=spoken.media_type)

    return app


class OpenAIAudioServer:
    def __init__(self, api_key: str):
        self.requests: list[dict] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(build_app(api_key, self.requests), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            if time.time() > deadline:
                raise AssertionError("the OpenAI audio test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
