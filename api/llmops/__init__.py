"""LLMOps' API at root paths: apps (an app = an Almanac agent, with a draft, publishing and a debug
conversation), built-in and API tools, upload files (the core file storage service), datasets = knowledge
bases with their documents and segments.

Shapes follow LLMOps: `{"code": "success", "message": "", "data": ...}`, failures with the codes fail,
not_found, unauthorized, forbidden and validate_error, always HTTP 200 (errors.py); paged lists as
`data.list` + `data.paginator`; times in Unix seconds (views.py); one thin module per resource.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.llmops.errors import render_error

__all__ = ["ROOT_PREFIXES", "render_error", "routers"]
# Unknown paths under these answer in LLMOps' envelope (api/mount.py).
ROOT_PREFIXES = ("/apps", "/datasets", "/api-tools", "/builtin-tools", "/upload-files")


def routers() -> list[APIRouter]:
    from api.llmops import api_tools, app_chat, apps, builtin_tools, datasets, documents, segments, upload_files

    return [m.router for m in (apps, app_chat, builtin_tools, api_tools, upload_files, datasets, documents,
                               segments)]
