"""An agent's tool calls and results: collapsed steps under a saved answer, and live while it streams.

A trace is the list MessageInfo.trace holds: {"type": "tool_call", id, name, arguments, step} followed by
{"type": "tool_result", id, name, content, is_error, references, elapsed_ms}. Each call is one step.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.chat import ChatEvent
from pages.components.i18n import t

ARGS_PREVIEW = 60  # characters of the arguments shown in a step's label
RESULT_CHARS = 4000  # what a step shows of a tool's output


def args_text(arguments: Any) -> str:
    """Arguments as readable JSON (the model may have sent text that is not JSON)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return json.dumps(arguments, ensure_ascii=False, indent=2)


def args_preview(arguments: Any) -> str:
    """The arguments on one line, shortened: `(3+4)*2` rather than {"expression": "(3+4)*2"}."""
    if isinstance(arguments, dict) and len(arguments) == 1:
        flat = str(next(iter(arguments.values())))
    else:
        flat = " ".join(args_text(arguments).split())
    flat = flat.replace("`", "'")
    return flat if len(flat) <= ARGS_PREVIEW else flat[: ARGS_PREVIEW - 1] + "…"


def steps(trace: list[dict]) -> list[tuple[dict, dict | None]]:
    """Each tool call with its result (None when the answer stopped mid-call).

    A result belongs to the earliest unanswered call with its id: ids may repeat across steps."""
    pairs: list[list] = []
    for e in trace:
        if e.get("type") == "tool_call":
            pairs.append([e, None])
        elif e.get("type") == "tool_result":
            match = next((p for p in pairs if p[1] is None and p[0].get("id") == e.get("id")), None)
            if match is not None:
                match[1] = e
    return [(call, result) for call, result in pairs]


def step_label(call: dict, result: dict | None) -> str:
    icon = "⏳" if result is None else ("⚠️" if result.get("is_error") else "🔧")
    label = f"{icon} **{call.get('name', '?')}**"
    preview = args_preview(call.get("arguments"))
    if preview:
        label += f" `{preview}`"
    if result is not None:
        refs = result.get("references") or []
        if refs:
            label += " · " + t("agents.trace.passages", n=len(refs))
        if result.get("elapsed_ms") is not None:
            label += f" · {float(result['elapsed_ms']):.0f} ms"
    return label


def step_body(call: dict, result: dict | None) -> None:
    st.caption(t("agents.trace.arguments"))
    st.code(args_text(call.get("arguments")), language="json", wrap_lines=True)
    if result is None:
        st.caption(t("agents.trace.no_result"))
        return
    st.caption(t("agents.trace.error") if result.get("is_error") else t("agents.trace.result"))
    content = str(result.get("content") or "")
    if len(content) > RESULT_CHARS:
        content = content[:RESULT_CHARS] + "…"
    st.code(content or t("agents.trace.empty"), language=None, wrap_lines=True)


def show_trace(trace: list[dict]) -> None:
    """The steps of a saved answer, one collapsed expander each (above the answer, as they came first)."""
    for call, result in steps(trace or []):
        with st.expander(step_label(call, result), expanded=False):
            step_body(call, result)


class LiveTrace:
    """Steps shown as the agent takes them: one st.status per tool call, completed by its result."""

    def __init__(self) -> None:
        self.area = st.container()
        self.calls: dict[tuple, dict] = {}
        self.boxes: dict[tuple, Any] = {}

    def on_event(self, event: ChatEvent) -> None:
        data = event.data
        ident = (data.get("step"), data.get("id"))  # ids may repeat across steps
        if event.type == "tool_call":
            self.calls[ident] = data
            with self.area:
                box = st.status(step_label(data, None), expanded=False, state="running")
            with box:
                st.caption(t("agents.trace.arguments"))
                st.code(args_text(data.get("arguments")), language="json", wrap_lines=True)
            self.boxes[ident] = box
        elif event.type == "tool_result":
            call = self.calls.get(ident, {"name": data.get("name"), "arguments": {}})
            box = self.boxes.get(ident)
            if box is None:
                return
            box.update(label=step_label(call, data), state="error" if data.get("is_error") else "complete")
            with box:
                st.caption(t("agents.trace.error") if data.get("is_error") else t("agents.trace.result"))
                st.code(str(data.get("content") or "")[:RESULT_CHARS] or t("agents.trace.empty"), language=None,
                        wrap_lines=True)

