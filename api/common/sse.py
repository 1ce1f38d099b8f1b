"""One way to stream Server-Sent Events; each dialect formats its own frames."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi.responses import StreamingResponse

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering: frames arrive live


def sse_frame(data: Any, *, event: str | None = None, space: bool = True) -> str:
    """One event: `data: <json>` (or `data:<json>` with `space=False`, as RAGFlow and WeKnora write), an optional
    `event:` line (spaced the same way), and the blank line that ends it. Strings are sent as they are."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    gap = " " if space else ""
    head = f"event:{gap}{event}\n" if event else ""
    return f"{head}data:{gap}{payload}\n\n"


def sse_response(frames: Iterable[str]) -> StreamingResponse:
    return StreamingResponse(iter(frames), media_type="text/event-stream", headers=SSE_HEADERS)
