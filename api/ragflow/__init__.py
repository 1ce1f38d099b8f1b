"""RAGFlow's HTTP API (/api/v1): datasets = knowledge bases, documents, chunks, retrieval, chats = chat
assistants with sessions and completions, agents, and its OpenAI-compatible chat route.

Shapes follow RAGFlow: `{"code": 0, "data": ...}` on success, `{"code": <RetCode>, "message": ...}` with HTTP 200
otherwise (errors.py); views.py maps core objects onto RAGFlow's field names; one thin module per resource.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.ragflow.errors import render_error

__all__ = ["render_error", "routers"]


def routers() -> list[APIRouter]:
    from api.ragflow import agents, chats, chunks, datasets, documents, openai, retrieval, sessions

    return [m.router for m in (datasets, documents, chunks, retrieval, chats, sessions, agents, openai)]
