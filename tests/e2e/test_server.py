"""The one process: health, UI, docs and the redirect, served by a real uvicorn."""

import httpx

from tests.helpers import free_port, start_server, stop_process


def test_one_process_serves_health_ui_and_docs(tmp_path):
    port = free_port()
    server = start_server(tmp_path / "data", port)
    base = f"http://127.0.0.1:{port}"
    try:
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "ok"
        assert health["database"]["dialect"] == "sqlite" and health["vector_store"]["ok"]
        assert health["workers"]["running"] and health["workers"]["threads"] == 2
        root = httpx.get(base + "/", follow_redirects=False)
        assert root.status_code in (302, 307) and root.headers["location"] == "/ui/"
        ui = httpx.get(f"{base}/ui/", follow_redirects=True)
        assert ui.status_code == 200 and "<html" in ui.text.lower()
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/health" in httpx.get(f"{base}/openapi.json").json()["paths"]
        icon = httpx.get(f"{base}/builtin-tools/calculator/icon")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in icon.content
        assert httpx.get(f"{base}/builtin-tools/nope/icon").status_code == 404
        assert (tmp_path / "data" / "admin_api_key").read_text().strip().startswith("almanac-")
    finally:
        stop_process(server)
