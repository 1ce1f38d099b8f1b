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
# OpenMP threads of the embedding and speech engines sleep instead of spinning while they wait: on two
# shared cores spinning doubled the CPU time and wall time of embedding (measured; see core/cli.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse  # noqa: E402

from api.visitors import VisitorAddress  # noqa: E402
from core.config import Settings  # noqa: E402
from core.container import build_services, set_services  # noqa: E402

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

    @app.get("/readme", include_in_schema=False, response_class=PlainTextResponse)
    def readme() -> PlainTextResponse:
        """The README this server was built from (the demo's home page links it when it knows no other copy)."""
        return PlainTextResponse((ROOT / "README.md").read_text(encoding="utf-8"))

    @app.get("/health", tags=["system"])
    def health() -> JSONResponse:
        report = app.state.services.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    # REST dialects at their documented paths (each renders its own error envelope).
    from api.mount import mount_dialects

    mount_dialects(app)

    app.mount("/ui", ui)

    # The public chat page (Gradio) of published assistants and agents: /chat/<assistant_id>[?token=...].
    from public_chat import mount_public_chat

    mount_public_chat(app)
    app.add_middleware(VisitorAddress)
    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    from core.lifecycle import exit_now

    s = Settings()
    # The app object, not "api_server:app": that string made uvicorn import this file a second time and
    # build the whole app twice. Ctrl+C or SIGTERM: open connections get a second to finish (a browser's
    # Streamlit socket never does), the lifespan closes the services, and the process ends at once.
    uvicorn.run(app, host=s.host, port=s.port, log_level="info", timeout_graceful_shutdown=1)
    exit_now(0)
