"""OpenAI-compatible dialect: /v1/chat/completions and /v1/models over the assistants (see completions.py)."""

from __future__ import annotations

from fastapi import APIRouter

from api.openai.errors import render_error

__all__ = ["render_error", "routers"]


def routers() -> list[APIRouter]:
    from api.openai import completions

    return [completions.router]
