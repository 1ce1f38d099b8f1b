"""The built-in tool catalogue: what each provider offers, and the code behind each tool.

Runners take a Call and return a ToolResult; a tool-level failure is raised as a core error
(InvalidInput for bad arguments or missing configuration, ProviderError for a remote failure)
whose message the registry hands back to the LLM as an error result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.calibration import DEFAULT_THRESHOLD, DEFAULT_TOP_K
from core.config import Settings
from core.errors import AlmanacError, InvalidInput, ProviderError
from core.ingestion.readers import read_document
from core.net import fetch
from core.prompting import passage
from core.retrieval import RetrievalService
from core.tools.base import ParamOption, ToolContext, ToolInfo, ToolInput, ToolParam, ToolResult
from core.tools.calculator import CalculatorError, evaluate, format_number
from core.tools.web import clip, error_excerpt, send

ICONS_DIR = Path(__file__).resolve().parents[2] / "assets" / "tools"
CATEGORIES = {"knowledge": "Knowledge", "utility": "Utilities", "web": "Web", "search": "Search", "image": "Images"}
NO_PASSAGES = "No relevant passages found."
SERPER_NOT_CONFIGURED = "Web search is not configured: set ALMANAC_SERPER_API_KEY"
IMAGES_NOT_CONFIGURED = "Image generation is not configured: set ALMANAC_IMAGES_API_KEY"
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv")


@dataclass
class Call:
    """Everything one tool call may use."""

    args: dict[str, Any]  # from the LLM
    params: dict[str, Any]  # the agent's settings for this tool, defaults filled in
    ctx: ToolContext
    settings: Settings
    retrieval: RetrievalService

    @property
    def timeout(self) -> float:
        """The tool's own timeout setting, never beyond what the run allows."""
        return min(float(self.params.get("timeout") or self.ctx.timeout), self.ctx.timeout)


Runner = Callable[[Call], ToolResult]


@dataclass(frozen=True)
class BuiltinProvider:
    name: str
    label: str
    description: str
    category: str
    background: str
    tools: list[ToolInfo]
    runners: dict[str, Runner] = field(default_factory=dict)
    setup: Callable[[Settings], str] = lambda _settings: ""  # what is missing before it works ("" = ready)

    def tool(self, name: str) -> ToolInfo | None:
        return next((t for t in self.tools if t.name == name), None)


# ------------------------------------------------------------------------------------------ knowledge
def _kb_search(call: Call) -> ToolResult:
    if not call.ctx.kb_ids:
        raise InvalidInput("This agent has no knowledge bases to search; add one in its settings.")
    hits = call.retrieval.search(call.ctx.tenant_id, call.ctx.kb_ids, str(call.args["query"]),
                                 mode=str(call.params.get("mode") or "hybrid"),
                                 top_k=int(call.params["top_n"]), threshold=float(call.params["similarity_threshold"]),
                                 source="agent")
    if not hits:
        return ToolResult(content=NO_PASSAGES)
    return ToolResult(references=[passage(h) for h in hits])


# ------------------------------------------------------------------------------------------ utilities
def _calculator(call: Call) -> ToolResult:
    expression = str(call.args["expression"])
    try:
        return ToolResult(content=format_number(evaluate(expression)))
    except CalculatorError as exc:
        raise InvalidInput(f"Cannot calculate {expression[:80]!r}: {exc}") from None


def _current_time(call: Call) -> ToolResult:
    name = str(call.args.get("timezone") or call.params.get("timezone") or "UTC").strip()
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"Unknown time zone '{name}': use an IANA name such as Europe/Paris or "
                           "America/New_York") from None
    now = datetime.now(zone)
    return ToolResult(content=f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')}, {name})")


# ------------------------------------------------------------------------------------------ web
def _header_arg(value: Any) -> dict[str, str]:
    """The LLM may send headers as an object or as JSON text."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InvalidInput("headers must be a JSON object such as {\"Accept\": \"application/json\"}") from None
    if not isinstance(value, dict):
        raise InvalidInput("headers must be a JSON object of header names to values")
    return {str(k): str(v) for k, v in value.items()}


def _http_request(call: Call) -> ToolResult:
    method = str(call.args.get("method") or "GET").upper()
    if method not in ("GET", "POST"):
        raise InvalidInput(f"method must be GET or POST, not {method!r}")
    headers = _header_arg(call.args.get("headers"))
    body, json_body = call.args.get("body"), None
    if isinstance(body, dict | list):
        body, json_body = None, body
    elif body not in (None, ""):
        body = str(body)
        if not any(k.lower() == "content-type" for k in headers):
            try:
                json.loads(body)
                headers["Content-Type"] = "application/json"
            except json.JSONDecodeError:
                headers["Content-Type"] = "text/plain; charset=utf-8"
    else:
        body = None
    reply = send(method, str(call.args["url"]).strip(), allow_private=call.settings.allow_private_urls,
                 timeout=call.timeout, max_bytes=int(call.params["max_bytes"]), headers=headers,
                 json_body=json_body, content=body)
    kind = reply.content_type.split(";")[0].strip() or "unknown type"
    if any(t in kind for t in _TEXT_TYPES) or kind == "unknown type":
        text = clip(reply.text) + ("\n\n[… response cut at the size limit]" if reply.truncated else "")
    else:
        text = f"[{len(reply.body)} bytes of {kind}, not shown]"
    return ToolResult(content=f"HTTP {reply.status} ({kind})\n\n{text}".strip(), is_error=reply.status >= 400)


def _read_name(url: str, content_type: str) -> str:
    """A file name read_document can recognise, from the content type or the URL."""
    for marker, name in (("html", "page.html"), ("pdf", "page.pdf"), ("json", "page.json"), ("csv", "page.csv"),
                         ("markdown", "page.md"), ("text/plain", "page.txt")):
        if marker in content_type:
            return name
    return PurePath(urlparse(url).path).name or "page.html"


def _web_reader(call: Call) -> ToolResult:
    url = str(call.args["url"]).strip()
    try:
        got = fetch(url, max_bytes=int(call.params["max_bytes"]), timeout=call.timeout,
                    allow_private=call.settings.allow_private_urls)
    except ValueError:  # urlparse refuses e.g. a malformed [IPv6] host
        raise InvalidInput(f"Not a valid URL: {url!r}") from None
    text = read_document(_read_name(got.url, got.content_type.lower()), got.content).text
    return ToolResult(content=f"{got.url}\n\n{clip(text)}")


# ------------------------------------------------------------------------------------------ search
def _web_search(call: Call) -> ToolResult:
    key = call.settings.serper_api_key
    if not key:
        raise InvalidInput(SERPER_NOT_CONFIGURED)
    n = int(call.params["max_results"])
    # The endpoint is the operator's configuration, not user input: no private-address guard.
    reply = send("POST", call.settings.serper_url, allow_private=True, timeout=call.timeout, max_bytes=2_000_000,
                 headers={"X-API-KEY": key}, json_body={"q": str(call.args["query"]), "num": n})
    if reply.status >= 400:
        raise ProviderError(f"Web search failed: {error_excerpt(reply)}")
    try:
        data = json.loads(reply.text)
    except json.JSONDecodeError:
        raise ProviderError("Web search answered with something that is not JSON") from None
    return ToolResult(content=_search_text(data, n) or "No web results found.")


def _search_text(data: dict, n: int) -> str:
    lines = []
    box = data.get("answerBox") or {}
    if box.get("answer") or box.get("snippet"):
        lines.append(f"Answer: {box.get('answer') or box.get('snippet')}")
    graph = data.get("knowledgeGraph") or {}
    if graph.get("description"):
        lines.append(f"{graph.get('title', '')}: {graph['description']}".strip(": "))
    for i, item in enumerate((data.get("organic") or [])[:n], 1):
        lines.append(f"{i}. {item.get('title', '')} — {item.get('link', '')}\n   {item.get('snippet', '')}".rstrip())
    return clip("\n".join(lines))


# ------------------------------------------------------------------------------------------ images
def _image_generation(call: Call) -> ToolResult:
    from openai import APIConnectionError, APIStatusError, APITimeoutError, OpenAI

    from core.model_configs import redact

    s = call.settings
    if not s.images_api_key:
        raise InvalidInput(IMAGES_NOT_CONFIGURED)
    prompt = str(call.args["prompt"])
    kwargs: dict[str, Any] = {"model": s.images_model, "prompt": prompt, "size": call.params["size"], "n": 1}
    if s.images_model.startswith("dall-e"):
        kwargs["response_format"] = "url"
    if s.images_model == "dall-e-3":  # the only model that knows `style`
        kwargs["style"] = call.params["style"]
    client = OpenAI(api_key=s.images_api_key, base_url=s.images_base_url, timeout=call.timeout, max_retries=0)
    try:
        result = client.images.generate(**kwargs)
    except APITimeoutError:
        raise ProviderError(f"The image service did not answer within {call.timeout:g} s") from None
    except APIConnectionError:
        raise ProviderError(f"Could not reach the image service at {s.images_base_url}") from None
    except APIStatusError as exc:
        detail = redact(str(getattr(exc, "message", "") or exc), s.images_api_key)
        raise ProviderError(f"The image service answered HTTP {exc.status_code}: {detail[:300]}") from None
    image = (result.data or [None])[0]
    if image is None or not image.url:
        raise ProviderError("The image service returned no image URL (use a model that returns URLs, "
                            "such as dall-e-3)")
    text = f"![{' '.join(prompt.split())[:80]}]({image.url})"
    if image.revised_prompt:
        text += f"\n\nRevised prompt: {image.revised_prompt}"
    return ToolResult(content=text)


# ------------------------------------------------------------------------------------------ catalogue
def _number(name: str, label: str, default: float, lo: float, hi: float, help_text: str) -> ToolParam:
    return ToolParam(name=name, label=label, type="number", default=default, min=lo, max=hi, help=help_text)


def _select(name: str, label: str, options: list[tuple[str, str]]) -> ToolParam:
    return ToolParam(name=name, label=label, type="select", default=options[0][0], required=True,
                     options=[ParamOption(value=v, label=lbl) for v, lbl in options])


_URL = ToolInput(name="url", description="The full http(s) URL", required=True)
_FETCH_PARAMS = [_number("max_bytes", "Size limit (bytes)", 1_000_000, 1024, 10_000_000,
                         "Larger responses are cut (http_request) or refused (web_reader)."),
                 _number("timeout", "Timeout (seconds)", 15, 1, 120, "How long to wait for the server.")]

# When the built-in catalogue shipped (LLMOps lists a provider's creation time).
CATALOGUE_SHIPPED = datetime(2026, 11, 21, 13, 39, 18)

PROVIDERS: dict[str, BuiltinProvider] = {p.name: p for p in [
    BuiltinProvider(
        "knowledge", "Knowledge base", "Searches the agent's knowledge bases for relevant passages.", "knowledge",
        "#DBEAFE",
        [ToolInfo(name="kb_search", label="Knowledge search",
                  description="Search the agent's knowledge bases and return the most relevant passages. Use it "
                              "for any question the documents may answer.",
                  inputs=[ToolInput(name="query", description="What to look for, as a standalone search query",
                                    required=True)],
                  params=[_number("top_n", "Passages", DEFAULT_TOP_K, 1, 20, "How many passages to return at most."),
                          _number("similarity_threshold", "Similarity threshold", DEFAULT_THRESHOLD, 0, 1,
                                  "Passages scoring below this are left out."),
                          _select("mode", "Search mode", [("hybrid", "Hybrid"), ("semantic", "Semantic"),
                                                          ("full_text", "Full text")])])],
        {"kb_search": _kb_search}),
    BuiltinProvider(
        "calculator", "Calculator", "Exact arithmetic and common math functions.", "utility", "#FEF3C7",
        [ToolInfo(name="calculator", label="Calculator",
                  description="Evaluate an arithmetic expression exactly, e.g. (3.5 + 2) * 4 / 7 or "
                              "sqrt(2) * pi. Supports + - * / // % **, parentheses, sqrt, sin, cos, tan, log, "
                              "log10, exp, abs, round, floor, ceil, min, max, pow, pi and e.",
                  inputs=[ToolInput(name="expression", description="The arithmetic expression", required=True)])],
        {"calculator": _calculator}),
    BuiltinProvider(
        "time", "Time", "The current date and time in any time zone.", "utility", "#E0E7FF",
        [ToolInfo(name="current_time", label="Current time",
                  description="Get the current date, time and weekday in a time zone.",
                  inputs=[ToolInput(name="timezone", description="IANA time zone such as Europe/Paris; "
                                                                 "omit for the agent's default")],
                  params=[ToolParam(name="timezone", label="Default time zone", default="UTC",
                                    help="IANA name used when the model does not give one.")])],
        {"current_time": _current_time}),
    BuiltinProvider(
        "http", "HTTP", "Calls web APIs and reads web pages.", "web", "#DCFCE7",
        [ToolInfo(name="http_request", label="HTTP request",
                  description="Send an HTTP GET or POST request and return the status and response body.",
                  inputs=[_URL, ToolInput(name="method", description="GET (default) or POST"),
                          ToolInput(name="body", description="Request body: JSON text or plain text"),
                          ToolInput(name="headers", type="object", description="Extra request headers")],
                  params=_FETCH_PARAMS),
         ToolInfo(name="web_reader", label="Web page reader",
                  description="Fetch a web page (or PDF) and return its readable text.",
                  inputs=[_URL], params=_FETCH_PARAMS)],
        {"http_request": _http_request, "web_reader": _web_reader}),
    BuiltinProvider(
        "serper", "Google Search", "Google web search through serper.dev.", "search", "#F3F4F6",
        [ToolInfo(name="web_search", label="Web search",
                  description="Search the web with Google and return the top results with their links and "
                              "snippets. Use it for recent events and facts outside the knowledge bases.",
                  inputs=[ToolInput(name="query", description="The search query", required=True)],
                  params=[_number("max_results", "Results", 5, 1, 10, "How many results to return.")])],
        {"web_search": _web_search},
        lambda s: "" if s.serper_api_key else "Set ALMANAC_SERPER_API_KEY to a serper.dev API key"),
    BuiltinProvider(
        "images", "Image generation", "Creates images from text with an OpenAI-compatible images API.", "image",
        "#FCE7F3",
        [ToolInfo(name="image_generation", label="Image generation",
                  description="Generate an image from a text description and return its URL as Markdown.",
                  inputs=[ToolInput(name="prompt", description="A detailed description of the image",
                                    required=True)],
                  params=[_select("size", "Size", [("1024x1024", "Square 1024×1024"),
                                                   ("1792x1024", "Landscape 1792×1024"),
                                                   ("1024x1792", "Portrait 1024×1792")]),
                          _select("style", "Style", [("vivid", "Vivid"), ("natural", "Natural")])])],
        {"image_generation": _image_generation},
        lambda s: "" if s.images_api_key else "Set ALMANAC_IMAGES_API_KEY (and ALMANAC_IMAGES_BASE_URL for a "
                                              "service other than OpenAI)"),
]}


def icon_path(name: str) -> Path:
    return ICONS_DIR / f"{name}.svg"


def category_icon(category: str) -> str:
    """The category's SVG markup (LLMOps sends category icons inline)."""
    return icon_path(f"category-{category}").read_text(encoding="utf-8")


def run(provider: BuiltinProvider, tool: str, call: Call) -> ToolResult:
    """Run one built-in tool; core errors propagate for the caller to turn into error results."""
    try:
        return provider.runners[tool](call)
    except AlmanacError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # a runner reading a badly typed argument
        raise InvalidInput(f"Bad arguments for {tool}: {exc}") from exc
