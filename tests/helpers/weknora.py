"""WeKnora's published Python client, SSE parsing and WeKnora's envelopes, for tests."""

from __future__ import annotations

import ast
import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any


def weknora_client_class() -> type:
    """`WeKnoraClient` from PyPI's weknora-mcp-server 1.0.0, its code unchanged.

    Importing the module also starts building its MCP server with the decorator API of mcp 1.x, which
    mcp 2.x (pinned here) no longer has; so the module's source is read and everything before that part
    (imports, settings, the client class) is executed as published."""
    path = Path(find_spec("weknora_mcp_server").origin)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    end = next(i for i, node in enumerate(tree.body) if isinstance(node, ast.ClassDef) and node.name == "WeKnoraClient")
    client_part = ast.Module(body=tree.body[: end + 1], type_ignores=[])
    namespace: dict[str, Any] = {"__name__": "weknora_mcp_server"}
    exec(compile(client_part, str(path), "exec"), namespace)  # noqa: S102 - the published module's own code
    return namespace["WeKnoraClient"]


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event name, decoded data) of each Server-Sent Event in a response body."""
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line]
        if not lines:
            continue
        name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("event:")), "message")
        data = "\n".join(line.split(":", 1)[1].removeprefix(" ") for line in lines if line.startswith("data:"))
        events.append((name, json.loads(data)))
    return events


RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"


def weknora_data(res, status: int = 200) -> Any:
    """The `data` of a WeKnora success envelope with this HTTP status."""
    assert res.status_code == status, res.text
    body = res.json()
    assert body["success"] is True, body
    return body.get("data")


def weknora_error(res, status: int, code: int) -> dict:
    """The `error` of a WeKnora error envelope with this HTTP status and WeKnora code."""
    assert res.status_code == status, res.text
    body = res.json()
    assert body["success"] is False and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]
