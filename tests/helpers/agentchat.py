"""AgentChat's envelope, for tests."""

from __future__ import annotations

from typing import Any


def agentchat_data(res: Any, status: int = 200) -> Any:
    """The `data` of an AgentChat answer with HTTP `status` (200), or its `status_message` for an error status."""
    assert res.status_code == status, res.text
    return res.json()["data"] if status == 200 else res.json()["status_message"]
