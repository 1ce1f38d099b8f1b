"""The one process: REST APIs, the Streamlit admin UI at /ui/, the public chat page at /chat/, health and docs.

    uvicorn api_server:app          (or: python api_server.py)
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from fastapi import FastAPI, HTTPException  # noqa: E402
from fastapi.responses import JSONResponse, RedirectResponse, Response  # noqa: E402

from core.config import Settings  # noqa: E402
from core.container import build_services, set_services  # noqa: E402
from core.errors import NotFound  # noqa: E402

ROOT = Path(__file__).parent
log = logging.getLogger("almanac")


def banner(settings: Settings, admin_key: str) -> str:
    base = f"http://{'localhost' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
    return (
        "\n  Almanac is running\n"
        f"    Admin UI       {base}/ui/\n"
        f"    API docs       {base}/docs\n"
        f"    Public chat    {base}/chat/<assistant id>\n"
        f"    Health         {base}/health\n"
        f"    Data dir       {settings.resolved_data_dir}\n"
        f"    Admin API key  {admin_key}\n"
    )


def one_request_log() -> None:
    """Streamlit gives uvicorn's loggers a handler of its own, so each request was logged twice: keep uvicorn's."""
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        own = [h for h in logger.handlers if h.get_name() in ("default", "access")]
        if own:
            logger.handlers = own


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    import streamlit.starlette
    from streamlit.runtime.pages_manager import PagesManager

    # app.py declares its pages with st.navigation. Without this, Streamlit treats the
    # pages/ folder as old-style auto pages until the first session runs app.py, and a
    # deep link opened first would skip app.py (its sidebar, language and login).
    PagesManager.uses_pages_directory = False
    ui = streamlit.starlette.App(str(ROOT / "app.py"))

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        services = build_services(settings, start_workers=True)
        set_services(services)
        app.state.services = services
        print(banner(settings, services.admin_api_key), flush=True)
        async with ui.lifespan()(app):
            one_request_log()
            if settings.warm_up:
                services.workers.warm_up()  # serving already: the first document then finds everything loaded
            yield
        services.close()
        set_services(None)

    app = FastAPI(title="Almanac", version="0.1.0", lifespan=lifespan,
                  description="Self-hosted knowledge bases and agents. REST dialects mount under /api.")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/health", tags=["system"])
    def health() -> JSONResponse:
        report = app.state.services.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/builtin-tools/{provider}/icon", tags=["tools"], response_class=Response)
    def builtin_tool_icon(provider: str) -> Response:
        """A built-in tool provider's icon (public: pages show it in <img> tags). LLMOps 2.4."""
        try:
            content, media_type = app.state.services.tools.builtin_icon(provider)
        except NotFound as exc:
            raise HTTPException(404, exc.message) from None
        return Response(content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    # REST dialects (each router renders its own error envelope).
    from api.ragflow import build_router as ragflow_router

    app.include_router(ragflow_router())
    from api.openai_compat import router as openai_router  # /v1/chat/completions, /v1/models

    app.include_router(openai_router)
    from api.voice import router as voice_router  # /api/voice/{stt,tts}/ws (Nexent paths)

    app.include_router(voice_router)

    app.mount("/ui", ui)

    # The public chat page (Gradio) of published assistants and agents: /chat/<assistant_id>[?token=...].
    from public_chat import mount_public_chat

    mount_public_chat(app)
    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    s = Settings()
    uvicorn.run("api_server:app", host=s.host, port=s.port, log_level="info")
