"""Who is calling, for a public demo's per-address limits (core/visitors.py), as an ASGI middleware.

The address is the client's as uvicorn reports it: behind a proxy (Hugging Face Spaces), the forwarded
one when uvicorn trusts the proxy (FORWARDED_ALLOW_IPS). The admin UI and the public chat page run
their code in threads of their own and name their visitor themselves.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from core.visitors import visiting


class VisitorAddress:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        with visiting(client[0] if client else None):
            await self.app(scope, receive, send)
