"""Custom API tools from an OpenAPI description: parse and validate it, then call its operations.

Two dialects are read:
- LLMOps' simplified schema: {"description", "server", "paths": {"/x": {"get": {"description",
  "operationId", "parameters": [{"name", "in", "description", "required", "type"}]}}}} with `in`
  one of query | path | header | cookie | body and `type` str | int | float | bool | object | array;
- standard OpenAPI 3.x, as JSON or YAML: servers[0].url, path and operation parameters, and an
  application/json requestBody whose properties become body inputs; local $refs are resolved.

Every operation becomes one tool named by its operationId. Only GET and POST are supported, as in
LLMOps: a schema with any other method is rejected with the path and method named, rather than
silently loading part of the API (the user would not know which tools exist).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

from core.errors import InvalidInput
from core.tools.base import ToolInfo, ToolInput, ToolResult
from core.tools.web import clip, error_excerpt, send

MAX_SCHEMA_CHARS = 1_000_000
MAX_OPERATIONS = 200
MAX_REF_DEPTH = 32
SUPPORTED_METHODS = ("get", "post")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAM_LOCATIONS = ("query", "path", "header", "cookie")
SIMPLE_LOCATIONS = (*PARAM_LOCATIONS, "body")
JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array")
SIMPLE_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object",
                "list": "array", **{t: t for t in JSON_TYPES}}
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
RAW_BODY = "body"  # the input carrying a whole JSON body that is not an object with properties


@dataclass
class Operation:
    name: str  # operationId, the tool's name
    method: str  # get | post
    path: str
    description: str
    inputs: list[ToolInput]
    locations: dict[str, str]  # input name -> query | path | header | cookie | body
    raw_body: bool = False  # the RAW_BODY input is the whole request body

    def info(self) -> ToolInfo:
        return ToolInfo(name=self.name, label=self.name, description=self.description, inputs=self.inputs)


@dataclass
class Spec:
    server: str
    description: str
    operations: list[Operation] = field(default_factory=list)

    def operation(self, name: str) -> Operation | None:
        return next((op for op in self.operations if op.name == name), None)


# ------------------------------------------------------------------------------------------ parsing
class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors/aliases: they can expand a small text into a huge document."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise InvalidInput(f"YAML aliases (*name) are not supported (line {mark.line + 1})")
        return super().compose_node(parent, index)


def load_document(text: Any) -> dict:
    """The schema text as a dict (JSON first, then YAML)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("openapi_schema must be a non-empty JSON or YAML text")
    if len(text) > MAX_SCHEMA_CHARS:
        raise InvalidInput(f"openapi_schema is longer than {MAX_SCHEMA_CHARS:,} characters")
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidInput("openapi_schema is nested too deeply") from None
    except json.JSONDecodeError as json_error:
        if text.lstrip().startswith(("{", "[")):
            raise InvalidInput(f"openapi_schema is not valid JSON: {json_error.msg} at line {json_error.lineno}, "
                               f"column {json_error.colno}") from None
        try:
            data = yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass
        except RecursionError:
            raise InvalidInput("openapi_schema is nested too deeply") from None
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            raise InvalidInput(f"openapi_schema is neither JSON nor valid YAML: "
                               f"{getattr(exc, 'problem', None) or exc}{at}") from None
    if not isinstance(data, dict):
        raise InvalidInput("openapi_schema must be a JSON object (or a YAML mapping) at the top level")
    return data


def parse(text: Any) -> Spec:
    """Validate a schema and list its operations; InvalidInput names the path and field at fault."""
    doc = load_document(text)
    if "swagger" in doc:
        raise InvalidInput("Swagger 2.0 documents are not supported: convert it to OpenAPI 3 first")
    try:
        spec = _parse_openapi3(doc) if "openapi" in doc else _parse_simple(doc)
    except RecursionError:
        raise InvalidInput("openapi_schema is nested too deeply") from None
    except (TypeError, AttributeError, ValueError) as exc:
        # A value of an unexpected kind somewhere the checks above do not name: still the caller's input.
        raise InvalidInput(f"openapi_schema has a value of the wrong kind ({exc})") from None
    if not spec.operations:
        raise InvalidInput("paths: the schema defines no operations")
    if len(spec.operations) > MAX_OPERATIONS:
        raise InvalidInput(f"paths: at most {MAX_OPERATIONS} operations are supported")
    return spec


def _server_url(url: Any, where: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"{where}: the API's base URL is missing")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:  # e.g. a malformed [IPv6] host
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise InvalidInput(f"{where}: {url!r} is not an absolute http(s) URL")
    return url.strip().rstrip("/")


def _paths(doc: dict) -> dict:
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise InvalidInput("paths: must be an object with at least one path")
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidInput(f"paths: {path!r} must start with '/'")
    return paths


def _methods(paths: dict) -> list[tuple[str, str, dict]]:
    found = []
    for path, item in paths.items():
        if not isinstance(item, dict):
            raise InvalidInput(f"paths.{path}: must be an object of HTTP methods")
        for method, op in item.items():
            method_lower = str(method).lower()
            if method_lower not in HTTP_METHODS:
                continue  # summary, parameters, servers …
            if method_lower not in SUPPORTED_METHODS:
                raise InvalidInput(f"paths.{path}.{method}: only GET and POST operations are supported")
            if not isinstance(op, dict):
                raise InvalidInput(f"paths.{path}.{method}: must be an object")
            found.append((path, method_lower, op))
    return found


def _operation_id(op: dict, where: str, seen: dict[str, str]) -> str:
    name = op.get("operationId")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{where}.operationId: every operation needs an operationId (it names the tool)")
    name = name.strip()
    if len(name) > 128:
        raise InvalidInput(f"{where}.operationId: longer than 128 characters")
    if name in seen:
        raise InvalidInput(f"{where}.operationId: '{name}' is already used by {seen[name]}")
    seen[name] = where
    return name


def _add_input(inputs: list[ToolInput], locations: dict[str, str], item: ToolInput, location: str,
               where: str) -> None:
    if item.name in locations:
        raise InvalidInput(f"{where}: two inputs are named '{item.name}'")
    if location == "header" and not HEADER_NAME.match(item.name):
        raise InvalidInput(f"{where}: '{item.name}' is not a valid HTTP header name")
    inputs.append(item)
    locations[item.name] = location


def _check_path_params(path: str, locations: dict[str, str], where: str) -> None:
    declared = {n for n, loc in locations.items() if loc == "path"}
    used = set(_PLACEHOLDER.findall(path))
    if used - declared:
        raise InvalidInput(f"{where}: path parameter {', '.join(sorted(used - declared))} is not declared")
    if declared - used:
        raise InvalidInput(f"{where}: path parameter {', '.join(sorted(declared - used))} does not appear in the "
                           f"path {path}")


def _parse_simple(doc: dict) -> Spec:
    server = _server_url(doc.get("server"), "server")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise InvalidInput("description: must be a string")
    spec, seen = Spec(server, description), {}
    for path, method, op in _methods(_paths(doc)):
        where = f"paths.{path}.{method}"
        name = _operation_id(op, where, seen)
        params = op.get("parameters", [])
        if not isinstance(params, list):
            raise InvalidInput(f"{where}.parameters: must be a list")
        inputs: list[ToolInput] = []
        locations: dict[str, str] = {}
        for i, p in enumerate(params):
            pw = f"{where}.parameters[{i}]"
            if not isinstance(p, dict):
                raise InvalidInput(f"{pw}: must be an object")
            pname, location, ptype = p.get("name"), p.get("in"), p.get("type")
            if not isinstance(pname, str) or not pname.strip():
                raise InvalidInput(f"{pw}.name: missing")
            if location not in SIMPLE_LOCATIONS:
                raise InvalidInput(f"{pw}.in: {location!r} is not one of {', '.join(SIMPLE_LOCATIONS)}")
            if not isinstance(ptype, str) or ptype not in SIMPLE_TYPES:
                raise InvalidInput(f"{pw}.type: {ptype!r} is not one of str, int, float, bool, object, array")
            required = p.get("required", False)
            if not isinstance(required, bool):
                raise InvalidInput(f"{pw}.required: must be true or false")
            desc = p.get("description", "")
            _add_input(inputs, locations, ToolInput(name=pname.strip(), description=str(desc or ""),
                                                    required=required or location == "path",
                                                    type=SIMPLE_TYPES[ptype]), location, pw)
        _check_path_params(path, locations, where)
        spec.operations.append(Operation(name, method, path, str(op.get("description") or name), inputs, locations))
    return spec


# ------------------------------------------------------------------------------------------ OpenAPI 3
def _resolve(doc: dict, node: Any, where: str, depth: int = 0) -> Any:
    """`node` with a local $ref followed (chains too)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if depth >= MAX_REF_DEPTH:
            raise InvalidInput(f"{where}: $ref chain too deep (circular?)")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise InvalidInput(f"{where}: only local $refs (#/components/...) are supported, not {ref!r}")
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise InvalidInput(f"{where}: $ref {ref} points to nothing")
            target = target[part]
        node, depth = target, depth + 1
    return node


def _json_type(doc: dict, schema: Any, where: str) -> str:
    schema = _resolve(doc, schema, where)
    if not isinstance(schema, dict):
        return "string"
    t = schema.get("type")
    if isinstance(t, list):  # OpenAPI 3.1: ["string", "null"]
        t = next((x for x in t if x != "null"), None)
    if t in JSON_TYPES:
        return t
    if "properties" in schema or "allOf" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _properties(doc: dict, schema: dict, where: str) -> tuple[dict, set[str]]:
    """Properties and required names of an object schema, allOf parts merged."""
    props, required, parts = schema.get("properties") or {}, schema.get("required") or [], schema.get("allOf") or []
    if not isinstance(props, dict):
        raise InvalidInput(f"{where}.properties: must be an object")
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise InvalidInput(f"{where}.required: must be a list of property names")
    if not isinstance(parts, list):
        raise InvalidInput(f"{where}.allOf: must be a list")
    props, required = dict(props), set(required)
    for i, part in enumerate(parts):
        part = _resolve(doc, part, f"{where}.allOf[{i}]")
        if isinstance(part, dict):
            sub_props, sub_required = _properties(doc, part, f"{where}.allOf[{i}]")
            props.update(sub_props)
            required |= sub_required
    return props, required


def _parse_openapi3(doc: dict) -> Spec:
    version = str(doc.get("openapi"))
    if not version.startswith("3."):
        raise InvalidInput(f"openapi: version {version} is not supported (use OpenAPI 3.x)")
    servers = doc.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        raise InvalidInput("servers: add the API's base URL as servers[0].url")
    url, variables = servers[0].get("url"), servers[0].get("variables") or {}
    if not isinstance(variables, dict):
        raise InvalidInput("servers[0].variables: must be an object")
    for var, spec_var in variables.items():
        if isinstance(url, str) and isinstance(spec_var, dict):
            url = url.replace("{" + var + "}", str(spec_var.get("default", "")))
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    spec, seen = Spec(_server_url(url, "servers[0].url"), str(info.get("description") or info.get("title") or "")), {}
    paths = _paths(doc)
    for path, method, op in _methods(paths):
        where = f"paths.{path}.{method}"
        name = _operation_id(op, where, seen)
        inputs: list[ToolInput] = []
        locations: dict[str, str] = {}
        merged: dict[tuple[str, str], tuple[dict, str]] = {}
        for source, items in (("parameters", paths[path].get("parameters")), (f"{method}.parameters",
                                                                              op.get("parameters"))):
            if items is None:
                continue
            if not isinstance(items, list):
                raise InvalidInput(f"paths.{path}.{source}: must be a list")
            for i, p in enumerate(items):
                pw = f"paths.{path}.{source}[{i}]"
                p = _resolve(doc, p, pw)
                if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
                    raise InvalidInput(f"{pw}.name: missing")
                if p.get("in") not in PARAM_LOCATIONS:
                    raise InvalidInput(f"{pw}.in: {p.get('in')!r} is not one of {', '.join(PARAM_LOCATIONS)}")
                merged[(p["name"].strip(), p["in"])] = (p, pw)  # operation-level overrides path-level
        for (pname, location), (p, pw) in merged.items():
            item = ToolInput(name=pname, description=str(p.get("description") or ""),
                             required=bool(p.get("required")) or location == "path",
                             type=_json_type(doc, p.get("schema"), f"{pw}.schema"))
            _add_input(inputs, locations, item, location, pw)
        raw_body = _body_inputs(doc, op, where, inputs, locations)
        _check_path_params(path, locations, where)
        description = str(op.get("description") or op.get("summary") or name)
        spec.operations.append(Operation(name, method, path, description, inputs, locations, raw_body))
    return spec


def _body_inputs(doc: dict, op: dict, where: str, inputs: list[ToolInput], locations: dict[str, str]) -> bool:
    """Add the requestBody's inputs; True when the body is sent whole as the RAW_BODY input."""
    if "requestBody" not in op:
        return False
    bw = f"{where}.requestBody"
    body = _resolve(doc, op["requestBody"], bw)
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, dict) or not content:
        raise InvalidInput(f"{bw}.content: missing")
    media = next((m for m in content if "json" in str(m).lower()), None)
    if media is None:
        raise InvalidInput(f"{bw}.content: only application/json bodies are supported, not {', '.join(content)}")
    sw = f"{bw}.content.{media}.schema"
    media_type = _resolve(doc, content[media] or {}, f"{bw}.content.{media}")
    if not isinstance(media_type, dict):
        raise InvalidInput(f"{bw}.content.{media}: must be an object")
    schema = _resolve(doc, media_type.get("schema") or {}, sw)
    if isinstance(schema, dict) and _json_type(doc, schema, sw) == "object" and (
            schema.get("properties") or schema.get("allOf")):
        props, required = _properties(doc, schema, sw)
        for pname, prop in props.items():
            prop_schema = _resolve(doc, prop, f"{sw}.properties.{pname}")
            desc = prop_schema.get("description", "") if isinstance(prop_schema, dict) else ""
            _add_input(inputs, locations, ToolInput(name=str(pname), description=str(desc or ""),
                                                    required=pname in required,
                                                    type=_json_type(doc, prop_schema, sw)), "body", sw)
        return False
    _add_input(inputs, locations, ToolInput(name=RAW_BODY, description=str(body.get("description") or
                                                                        "The request body"),
                                            required=bool(body.get("required")),
                                            type=_json_type(doc, schema, sw)), "body", bw)
    return True


# ------------------------------------------------------------------------------------------ calling
def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def call(server: str, op: Operation, args: dict[str, Any], headers: dict[str, str], *, allow_private: bool,
         timeout: float, max_bytes: int = 1_000_000) -> ToolResult:
    """Call one operation with the LLM's arguments; HTTP errors come back as error results."""
    path, query, send_headers, cookies, body = op.path, [], {}, [], {}
    for name, location in op.locations.items():
        value = args.get(name)
        if value is None:
            if location == "path":
                raise InvalidInput(f"Missing required argument '{name}'")
            continue
        if location == "path":
            path = path.replace("{" + name + "}", quote(_text_value(value), safe=""))
        elif location == "query":
            values = value if isinstance(value, list) else [value]
            query.extend((name, _text_value(v)) for v in values)
        elif location == "header":
            send_headers[name] = _text_value(value)
        elif location == "cookie":
            cookies.append(f"{name}={quote(_text_value(value), safe='')}")
        else:
            body[name] = value
    if cookies:
        send_headers["Cookie"] = "; ".join(cookies)
    # The provider's own headers (credentials) win over anything the LLM sends.
    configured = {k.lower() for k in headers}
    send_headers = {k: v for k, v in send_headers.items() if k.lower() not in configured} | headers
    json_body = body.get(RAW_BODY) if op.raw_body else (body or None)
    reply = send(op.method, server + path, allow_private=allow_private, timeout=timeout, max_bytes=max_bytes,
                 headers=send_headers, params=query or None, json_body=json_body)
    if reply.status >= 400:
        return ToolResult(content=f"{op.name} failed: {error_excerpt(reply)}", is_error=True)
    text = clip(reply.text)
    return ToolResult(content=text or f"HTTP {reply.status} (empty response)")
