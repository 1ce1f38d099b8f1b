"""Checking what an agent asks for (tool settings) and running what the LLM calls (bounded, never raising).

Also the masking of secret header / environment values shown back to users.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from core.errors import AlmanacError, InvalidInput
from core.tools.base import ToolInfo, ToolResult

log = logging.getLogger(__name__)
SECRET_MARKERS = ("authorization", "key", "token", "secret", "password", "cookie", "credential")
TIMEOUT_GRACE = 1.0  # seconds past ctx.timeout before giving up on a call, so a tool's own timeout reports first


# ------------------------------------------------------------------------------------------ settings
def check_params(tool: ToolInfo, params: Any) -> dict[str, Any]:
    """The tool's settings validated against its ToolParam list, defaults filled in."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInput(f"The settings of tool '{tool.name}' must be an object")
    known = {p.name: p for p in tool.params}
    unknown = [k for k in params if k not in known]
    if unknown:
        valid = f"valid: {', '.join(known)}" if known else "it has no settings"
        raise InvalidInput(f"Unknown setting '{unknown[0]}' for tool '{tool.name}' ({valid})")
    out: dict[str, Any] = {}
    for p in tool.params:
        value = params.get(p.name)
        where = f"Setting '{p.name}' of tool '{tool.name}'"
        if value is None or value == "":
            if p.required and p.default is None:
                raise InvalidInput(f"{where} is required")
            out[p.name] = p.default
            continue
        if p.type == "number":
            out[p.name] = _number(value, where, p.min, p.max)
        elif p.type == "boolean":
            out[p.name] = _boolean(value, where)
        elif p.type == "select":
            options = [o.value for o in p.options]
            if str(value) not in options:
                raise InvalidInput(f"{where} must be one of: {', '.join(options)}")
            out[p.name] = str(value)
        else:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise InvalidInput(f"{where} must be text")
            out[p.name] = str(value)
    return out


def _number(value: Any, where: str, lo: float | None, hi: float | None) -> int | float:
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise InvalidInput(f"{where} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{where} must be a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InvalidInput(f"{where} must be between {lo:g} and {hi:g}")
    return value


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidInput(f"{where} must be true or false")


# ------------------------------------------------------------------------------------------ running
def arguments(raw: Any) -> dict[str, Any]:
    """The LLM's arguments as a dict (they may arrive as JSON text)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidInput("The arguments are not valid JSON") from None
    if not isinstance(raw, dict):
        raise InvalidInput("The arguments must be a JSON object")
    return raw


def guarded(tool: ToolInfo, label: str, execute: Callable[[dict[str, Any]], ToolResult],
            timeout: float) -> Callable[[Any], ToolResult]:
    """A run function that checks required inputs, enforces `timeout` and turns failures into error results."""

    def run(raw_args: Any) -> ToolResult:
        try:
            args = arguments(raw_args)
        except InvalidInput as exc:
            return ToolResult(content=f"{label}: {exc.message}", is_error=True)
        missing = [i.name for i in tool.inputs if i.required and args.get(i.name) in (None, "")]
        if missing:
            return ToolResult(content=f"{label}: missing required argument {', '.join(repr(m) for m in missing)}",
                              is_error=True)
        box: dict[str, ToolResult] = {}

        def work() -> None:
            try:
                result = execute(args)
                box["result"] = result if isinstance(result, ToolResult) else ToolResult(content=str(result))
            except AlmanacError as exc:
                box["result"] = ToolResult(content=exc.message, is_error=True)
            except Exception as exc:  # a tool bug must not end the agent's run
                log.exception("tool %s failed", tool.name)
                box["result"] = ToolResult(content=f"{label} failed unexpectedly ({type(exc).__name__})",
                                           is_error=True)

        # A daemon thread per call: a stuck tool is abandoned, not waited for, and holds no pool slot.
        worker = threading.Thread(target=work, name=f"tool-{tool.name}", daemon=True)
        worker.start()
        worker.join(timeout + TIMEOUT_GRACE)
        if worker.is_alive():
            return ToolResult(content=f"{label} did not finish within {timeout:g} s", is_error=True)
        return box["result"]

    return run


# ------------------------------------------------------------------------------------------ secrets
def is_secret(key: str) -> bool:
    key = key.lower()
    return any(marker in key for marker in SECRET_MARKERS)


def mask(value: str) -> str:
    """'Bearer sk-1…abcd': an auth scheme is kept, then the first and last 4 characters of long secrets."""
    scheme, _, secret = value.partition(" ") if " " in value.strip() else ("", "", value)
    if not (scheme.isalpha() and secret):
        scheme, secret = "", value
    shown = f"{secret[:4]}…{secret[-4:]}" if len(secret) >= 12 else "…"
    return f"{scheme} {shown}" if scheme else shown


def masked(pairs: dict[str, str]) -> dict[str, str]:
    return {k: mask(v) if is_secret(k) else v for k, v in pairs.items()}


def unmask(new: dict[str, str], stored: dict[str, str]) -> dict[str, str]:
    """`new` with masked values sent back unchanged replaced by the stored secrets they stand for."""
    stored_by_key = {k.lower(): v for k, v in stored.items()}
    out = {}
    for key, value in new.items():
        old = stored_by_key.get(key.lower())
        out[key] = old if old is not None and is_secret(key) and value == mask(old) else value
    return out
