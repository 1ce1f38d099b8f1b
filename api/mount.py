"""Mounts every REST dialect at its documented paths (real clients hard-code them) and under `/<dialect>`.

Three dialects share `/api/v1` (RAGFlow, WeKnora, AgentChat), so the order of routes matters:
- all dialects' routes are registered together, fixed path segments before parameters at the first place two
  paths differ (`/api/v1/knowledge/batch` before `/api/v1/knowledge/{id}`), so no route shadows another;
- a method + path that two dialects both claim must be declared in SHARED_ROUTES; one route then serves it
  and hands each request to the dialect its credential names (CREDENTIAL_DIALECTS). An undeclared claim is a
  mistake and stops the app from starting;
- a request for an unknown `/api/v1` path gets a 404 (405 for a known path with another method) in the
  envelope of the caller's dialect, again chosen by the credential; under a prefix only one dialect uses
  (its package's ROOT_PREFIXES, e.g. LLMOps' /datasets), in that dialect's envelope.
A dialect is a package `api/<name>` with `routers()` (routers whose routes carry their full documented paths;
never nested with include_router, so routes of different dialects can be ordered together) and
`render_error(exc)` (its error envelope). Adding one = one line in DIALECTS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from api.common.auth import read_credential
from api.common.errors import Unauthenticated

DIALECTS = ("ragflow", "openai", "weknora", "llmops", "nexent", "agentchat")
EXTRA_ROUTERS = ("api.files",)  # not part of a dialect package: signed file URLs
SHARED_ROUTES: set[tuple[str, str]] = set()  # (method, path) served by two dialects, dispatched by credential
SHARED_PREFIX = "/api/v1"
# Who sends what: WeKnora's clients `X-API-Key`, AgentChat's a login JWT, RAGFlow's `Authorization: Bearer <key>`.
CREDENTIAL_DIALECTS = {"x-api-key": "weknora", "jwt": "agentchat", "bearer": "ragflow", "query": "ragflow"}
HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def credential_dialect(conn: HTTPConnection) -> str:
    """The dialect a request's credential belongs to (RAGFlow when there is none or it is malformed)."""
    try:
        credential = read_credential(conn)
    except Unauthenticated:
        return "ragflow"
    if credential is None:
        return "ragflow"
    return CREDENTIAL_DIALECTS["jwt" if credential.is_jwt else credential.source]


class CredentialDispatch(BaseRoute):
    """One method + path served by several dialects: each request goes to the dialect its credential names."""

    def __init__(self, candidates: dict[str, BaseRoute]):
        self.candidates = candidates
        self.first = next(iter(candidates.values()))
        self.path = self.first.path

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return self.first.matches(scope)

    def url_path_for(self, name: str, /, **path_params: str):  # noqa: ANN201 - starlette's URLPath
        return self.first.url_path_for(name, **path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.candidates.get(credential_dialect(HTTPConnection(scope)), self.first)
        await route.handle(scope, receive, send)


def specificity(route: BaseRoute) -> tuple[int, ...]:
    """Sort key: at each path segment a fixed name (0) comes before a parameter (1), a catch-all last (2)."""
    return tuple(2 if ":path}" in seg else int(seg.startswith("{")) for seg in route.path.strip("/").split("/"))


def route_keys(route: BaseRoute) -> list[tuple[str, str]]:
    methods = ["WS"] if isinstance(route, WebSocketRoute) or not hasattr(route, "methods") else \
        sorted(route.methods - {"HEAD"})
    return [(method, route.path) for method in methods]


def dialect_routes() -> tuple[list[tuple[str, BaseRoute]], dict[str, Callable[[Exception], Response]]]:
    """Every dialect's routes (with the dialect's name) and each dialect's error renderer."""
    routes, renderers = [], {}
    for name in DIALECTS:
        package = import_module(f"api.{name}")
        renderers[name] = package.render_error
        routes += [(name, route) for router in package.routers() for route in router.routes]
    for module_name in EXTRA_ROUTERS:
        routes += [(module_name, route) for route in import_module(module_name).router.routes]
    return routes, renderers


def merge_claims(routes: list[tuple[str, BaseRoute]]) -> list[BaseRoute]:
    """The routes in registration order; a declared shared method + path becomes one CredentialDispatch."""
    claims: dict[tuple[str, str], dict[str, BaseRoute]] = {}
    for name, route in routes:
        for key in route_keys(route):
            claims.setdefault(key, {})[name] = route
    merged, seen = [], set()
    for name, route in sorted(routes, key=lambda item: specificity(item[1])):
        shared = [claims[key] for key in route_keys(route) if len(claims[key]) > 1]
        if not shared:
            merged.append(route)
            continue
        for key in route_keys(route):
            if key not in SHARED_ROUTES:
                raise RuntimeError(f"{key[0]} {key[1]} is claimed by {', '.join(claims[key])}: declare it in "
                                   "api.mount.SHARED_ROUTES to dispatch it by credential, or rename one")
        if id(shared[0]) not in seen:
            seen.add(id(shared[0]))
            merged.append(CredentialDispatch(shared[0]))
    return merged


def mount_dialects(app: FastAPI) -> None:
    routes, renderers = dialect_routes()
    app.router.routes.extend(merge_claims(routes))
    for name in DIALECTS:  # each dialect alone under /<dialect> too (not in the OpenAPI schema)
        own = sorted((route for dialect, route in routes if dialect == name), key=specificity)
        app.router.routes.append(Mount(f"/{name}", routes=own))

    fallbacks: list[Route] = []

    def unmatched(render: Callable[[Exception], Response] | None) -> Callable:
        async def answer(request: Request) -> Response:
            """No route for this path: 404, or 405 when the path exists with other methods; in the envelope of
            the prefix's dialect, or (on the shared /api/v1) of the caller's. Repeated slashes count as one (an
            empty id leaves `//`), as in Flask-based servers: a path that then matches is redirected there (308
            keeps the method and body)."""
            path = re.sub("/{2,}", "/", request.url.path)
            merged = {**request.scope, "path": path}
            if path != request.url.path and any(route not in fallbacks and route.matches(merged)[0] == Match.FULL
                                                for route in app.router.routes):
                return RedirectResponse(request.url.replace(path=path), status_code=308)
            merged["path"] = path.rstrip("/") or "/"
            known_path = any(route not in fallbacks and route.matches(merged)[0] == Match.PARTIAL
                             for route in app.router.routes)
            error = HTTPException(405, f"Method {request.method} is not allowed for {request.url.path}") \
                if known_path else HTTPException(404, f"No such endpoint: {request.method} {request.url.path}")
            return (render or renderers.get(credential_dialect(request), renderers["ragflow"]))(error)

        return answer

    own_prefixes = [(prefix, renderers[name]) for name in DIALECTS
                    for prefix in getattr(import_module(f"api.{name}"), "ROOT_PREFIXES", ())]
    for prefix, render in [(SHARED_PREFIX, None), *own_prefixes]:
        for path in (prefix, prefix + "/{rest:path}"):
            fallbacks.append(Route(path, unmatched(render), methods=HTTP_METHODS, include_in_schema=False))
    app.router.routes.extend(fallbacks)
