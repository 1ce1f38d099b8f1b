"""OpenAPI tools: both schema dialects parse, mistakes are named precisely, and calls reach a real server."""

from __future__ import annotations

import json

import pytest
import yaml

from core.errors import InvalidInput
from core.tools import openapi


def simple_schema(server: str = "https://dict.example.com", **overrides) -> dict:
    """LLMOps' own example (2.6), slightly extended."""
    schema = {
        "description": "An English dictionary",
        "server": server,
        "paths": {
            "/suggest": {"get": {
                "description": "Look a word up", "operationId": "YoudaoSuggest",
                "parameters": [
                    {"name": "q", "in": "query", "description": "The word", "required": True, "type": "str"},
                    {"name": "doctype", "in": "query", "description": "json or xml", "required": False,
                     "type": "str"}]}},
            "/users/{user_id}/notes": {"post": {
                "description": "Add a note", "operationId": "AddNote",
                "parameters": [
                    {"name": "user_id", "in": "path", "description": "Whose", "required": True, "type": "int"},
                    {"name": "verbose", "in": "query", "description": "", "required": False, "type": "bool"},
                    {"name": "X-Request-Id", "in": "header", "description": "", "required": False, "type": "str"},
                    {"name": "session", "in": "cookie", "description": "", "required": False, "type": "str"},
                    {"name": "text", "in": "body", "description": "The note", "required": True, "type": "str"},
                    {"name": "tags", "in": "body", "description": "", "required": False, "type": "array"},
                    {"name": "score", "in": "body", "description": "", "required": False, "type": "float"}]}},
        },
    }
    schema.update(overrides)
    return schema


OPENAPI3 = {
    "openapi": "3.0.3",
    "info": {"title": "Notes", "description": "A notes service", "version": "1"},
    "servers": [{"url": "https://{region}.notes.example/api", "variables": {"region": {"default": "eu"}}}],
    "components": {
        "parameters": {"UserId": {"name": "user_id", "in": "path", "required": True,
                                  "schema": {"type": "integer"}}},
        "schemas": {
            "Note": {"type": "object", "required": ["text"],
                     "properties": {"text": {"type": "string", "description": "The note"},
                                    "tags": {"type": "array", "items": {"type": "string"}},
                                    "meta": {"$ref": "#/components/schemas/Meta"}}},
            "Meta": {"type": "object", "properties": {"pinned": {"type": "boolean"}}},
        },
    },
    "paths": {
        "/users/{user_id}/notes": {
            "parameters": [{"$ref": "#/components/parameters/UserId"}],
            "get": {"operationId": "listNotes", "summary": "List a user's notes",
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": ["integer", "null"]}}]},
            "post": {"operationId": "addNote", "description": "Add a note",
                     "parameters": [{"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}}],
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}}},
        },
        "/bulk": {"post": {"operationId": "bulk", "requestBody": {"content": {"application/json": {
            "schema": {"type": "array", "items": {"type": "string"}}}}}}},
    },
}


def inputs_of(spec: openapi.Spec, name: str) -> dict[str, tuple[str, bool, str]]:
    op = spec.operation(name)
    return {i.name: (i.type, i.required, op.locations[i.name]) for i in op.inputs}


# ------------------------------------------------------------------------------------------ parsing
def test_simplified_schema():
    spec = openapi.parse(json.dumps(simple_schema()))
    assert spec.server == "https://dict.example.com" and spec.description == "An English dictionary"
    assert [op.name for op in spec.operations] == ["YoudaoSuggest", "AddNote"]
    assert inputs_of(spec, "YoudaoSuggest") == {"q": ("string", True, "query"), "doctype": ("string", False, "query")}
    assert inputs_of(spec, "AddNote") == {
        "user_id": ("integer", True, "path"), "verbose": ("boolean", False, "query"),
        "X-Request-Id": ("string", False, "header"), "session": ("string", False, "cookie"),
        "text": ("string", True, "body"), "tags": ("array", False, "body"), "score": ("number", False, "body")}
    info = spec.operation("AddNote").info()
    assert info.name == "AddNote" and info.description == "Add a note"


@pytest.mark.parametrize("dump", [json.dumps, lambda d: yaml.safe_dump(d, sort_keys=False)], ids=["json", "yaml"])
def test_openapi3_json_and_yaml(dump):
    spec = openapi.parse(dump(OPENAPI3))
    assert spec.server == "https://eu.notes.example/api" and spec.description == "A notes service"
    assert [op.name for op in spec.operations] == ["listNotes", "addNote", "bulk"]
    assert inputs_of(spec, "listNotes") == {"user_id": ("integer", True, "path"), "limit": ("integer", False, "query")}
    assert spec.operation("listNotes").description == "List a user's notes"
    assert inputs_of(spec, "addNote") == {
        "user_id": ("integer", True, "path"), "X-Request-Id": ("string", False, "header"),
        "text": ("string", True, "body"), "tags": ("array", False, "body"), "meta": ("object", False, "body")}
    bulk = spec.operation("bulk")
    assert bulk.raw_body and inputs_of(spec, "bulk") == {"body": ("array", False, "body")}


def _broken(path: list, value) -> str:
    doc = json.loads(json.dumps(OPENAPI3))
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc)


@pytest.mark.parametrize(("text", "message"), [
    ("", "must be a non-empty JSON or YAML text"),
    ('{"server": "https://x.example", "paths": {', "not valid JSON"),
    ("paths: [unclosed", "neither JSON nor valid YAML"),
    ("base: &a [1]\nother: *a", "YAML aliases"),
    ("[1, 2]", "at the top level"),
    ('{"swagger": "2.0"}', "Swagger 2.0"),
    (json.dumps(simple_schema(server="dict.example.com")), "server: 'dict.example.com' is not an absolute"),
    (json.dumps(simple_schema(server=None)), "server: the API's base URL is missing"),
    (json.dumps(simple_schema(paths={})), "paths: must be an object"),
    (json.dumps(simple_schema(paths={"suggest": {"get": {"operationId": "a"}}})), "paths: 'suggest' must start"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"description": "x"}}})),
     "paths./a.get.operationId: every operation needs an operationId"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "same"}}, "/b": {"post": {"operationId": "same"}}})),
     "paths./b.post.operationId: 'same' is already used by paths./a.get"),
    (json.dumps(simple_schema(paths={"/a": {"delete": {"operationId": "gone"}}})),
     "paths./a.delete: only GET and POST operations are supported"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "q", "in": "form", "type": "str"}]}}})), "paths./a.get.parameters[0].in: 'form' is not one of"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "q", "in": "query", "type": "text"}]}}})), "paths./a.get.parameters[0].type: 'text' is not one of"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "a", "parameters": [
        {"in": "query", "type": "str"}]}}})), "paths./a.get.parameters[0].name: missing"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "q", "in": "query", "type": "str"}, {"name": "q", "in": "body", "type": "str"}]}}})),
     "paths./a.get.parameters[1]: two inputs are named 'q'"),
    (json.dumps(simple_schema(paths={"/a/{id}": {"get": {"operationId": "a"}}})),
     "paths./a/{id}.get: path parameter id is not declared"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "id", "in": "path", "type": "int"}]}}})), "path parameter id does not appear in the path /a"),
    (json.dumps(simple_schema(paths={"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "bad header", "in": "header", "type": "str"}]}}})), "'bad header' is not a valid HTTP header name"),
    (_broken(["openapi"], "4.0.0"), "openapi: version 4.0.0 is not supported"),
    (_broken(["servers"], KeyError), "servers: add the API's base URL as servers[0].url"),
    (_broken(["servers"], [{"url": "/api"}]), "servers[0].url: '/api' is not an absolute http(s) URL"),
    (_broken(["paths", "/bulk", "post", "operationId"], KeyError), "paths./bulk.post.operationId"),
    (_broken(["paths", "/bulk", "put"], {"operationId": "replace"}), "paths./bulk.put: only GET and POST"),
    (_broken(["components", "schemas", "Note"], KeyError),
     ("paths./users/{user_id}/notes.post.requestBody.content.application/json.schema: "
      "$ref #/components/schemas/Note points to nothing")),
    (_broken(["paths", "/bulk", "post", "requestBody", "content"], {"multipart/form-data": {}}),
     "paths./bulk.post.requestBody.content: only application/json bodies are supported"),
    (_broken(["components", "parameters", "UserId", "$ref"], "https://elsewhere.example/p.json"),
     "only local $refs"),
    (_broken(["components", "parameters", "UserId"], {"$ref": "#/components/parameters/UserId"}), "circular"),
])
def test_validation_errors_name_the_problem(text, message):
    with pytest.raises(InvalidInput) as err:
        openapi.parse(text)
    assert message in err.value.message


# ------------------------------------------------------------------------------------------ calling
def test_a_call_sends_path_query_header_cookie_and_body_parameters(web):
    spec = openapi.parse(json.dumps(simple_schema(server=web.base_url)))
    op = spec.operation("AddNote")
    result = openapi.call(spec.server, op, {
        "user_id": "a b/7", "verbose": True, "X-Request-Id": "r-1", "session": "s 1", "text": "Buy otter food",
        "tags": ["pets", "todo"], "score": 2.5, "ignored": "x"}, {"Authorization": "Bearer sk-provider-0001"},
        allow_private=True, timeout=5)
    assert not result.is_error
    seen = web.last()
    assert seen.method == "POST" and seen.path == "/users/a%20b%2F7/notes"
    assert seen.query == {"verbose": ["true"]}
    assert seen.headers["x-request-id"] == "r-1" and seen.headers["cookie"] == "session=s%201"
    assert seen.headers["authorization"] == "Bearer sk-provider-0001"
    assert seen.json() == {"text": "Buy otter food", "tags": ["pets", "todo"], "score": 2.5}
    assert json.loads(result.content)["path"] == "/users/a%20b%2F7/notes"


def test_openapi3_raw_body_and_get_query(web):
    doc = json.loads(json.dumps(OPENAPI3))
    doc["servers"] = [{"url": web.base_url + "/"}]
    spec = openapi.parse(json.dumps(doc))
    openapi.call(spec.server, spec.operation("bulk"), {"body": ["a", "b"]}, {}, allow_private=True, timeout=5)
    assert web.last().path == "/bulk" and web.last().json() == ["a", "b"]
    openapi.call(spec.server, spec.operation("listNotes"), {"user_id": 7, "limit": 3}, {}, allow_private=True,
                 timeout=5)
    assert web.last().method == "GET" and web.last().path == "/users/7/notes" and web.last().query == {"limit": ["3"]}


def test_provider_headers_win_over_header_parameters(web):
    spec = openapi.parse(json.dumps(simple_schema(server=web.base_url)))
    openapi.call(spec.server, spec.operation("AddNote"), {"user_id": 1, "text": "t", "X-Request-Id": "from-llm"},
                 {"x-request-id": "from-provider"}, allow_private=True, timeout=5)
    assert web.last().headers["x-request-id"] == "from-provider"


def test_http_errors_become_error_results(web):
    web.routes["/suggest"] = lambda _h, _s: (500, "text/plain", b"database is down " * 100, {})
    spec = openapi.parse(json.dumps(simple_schema(server=web.base_url)))
    result = openapi.call(spec.server, spec.operation("YoudaoSuggest"), {"q": "otter"}, {}, allow_private=True,
                          timeout=5)
    assert result.is_error and result.content.startswith("YoudaoSuggest failed: HTTP 500: database is down")
    assert len(result.content) < 400


def test_calls_to_private_addresses_are_refused_unless_allowed(web):
    spec = openapi.parse(json.dumps(simple_schema(server=web.base_url)))
    with pytest.raises(InvalidInput, match="private or local address"):
        openapi.call(spec.server, spec.operation("YoudaoSuggest"), {"q": "otter"}, {}, allow_private=False,
                     timeout=5)
    assert web.requests == []
