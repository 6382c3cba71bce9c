"""Lean routes: the few hot JSON endpoints served in front of FastAPI's routing and dependency solving.

An exam's autosave is nearly all of the traffic while an exam runs (every trainee, every few seconds),
and for that one request FastAPI's own work (matching ~200 routes, solving the dependency graph,
validating the response model, the exception and exit-stack middlewares) cost several times the save
itself. A `LeanRoute` answers such a request from an ASGI middleware placed inside the request context
(request id, locale, security headers and the access log still apply), with the same pieces a route
uses: the endpoint calls the same CSRF check, access rule and service function, and errors go to the
app's own exception handlers, so a lean route answers exactly what its declared FastAPI route answers
(tests compare the two). The FastAPI route stays declared: it documents the endpoint in OpenAPI and
serves it when the app is built without lean routes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.routing import close_request_session

LeanEndpoint = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class LeanRoute:
    """`path` in Starlette's syntax (`/api/v1/attempts/{attempt_id:int}/answers/{question_id}`); the
    endpoint is called as `endpoint(request, **path_params)` and returns a response or raises."""

    method: str
    path: str
    endpoint: LeanEndpoint
    regex: re.Pattern[str] = field(init=False, repr=False)
    convertors: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        regex, _format, convertors = compile_path(self.path)
        object.__setattr__(self, "regex", regex)
        object.__setattr__(self, "convertors", convertors)

    def match(self, method: str, path: str) -> dict[str, Any] | None:
        if method != self.method:
            return None
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: self.convertors[name].convert(value) for name, value in found.groupdict().items()}


async def read_model(request: Request, model: type[BaseModel]) -> Any:
    """The JSON body as `model`, or the RequestValidationError FastAPI raises for a body parameter
    (locations under "body", answered 422 by the app's handler)."""
    body = await request.body()
    try:
        return model.model_validate_json(body or b"null")
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)], body=body
        ) from None


class LeanRoutesMiddleware:
    def __init__(self, app: ASGIApp, routes: Sequence[LeanRoute] = ()) -> None:
        self.app = app
        self.routes = tuple(routes)
        self.methods = frozenset(route.method for route in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods:
            path = get_route_path(scope)
            for route in self.routes:
                params = route.match(scope["method"], path)
                if params is not None:
                    scope["path_params"] = params
                    await self._serve(route, params, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(self, route: LeanRoute, params: dict[str, Any], scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            try:
                response = await route.endpoint(request, **params)
            except BaseException as exc:
                await close_request_session(request, bool(getattr(exc, "keep_writes", False)))
                raise
            # The request's session (the access rule's, get_db's), if the endpoint made one: finished as a
            # TransactionalRoute finishes it.
            await close_request_session(request, response.status_code < 400)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        handlers: dict[Any, Callable[..., Any]] = getattr(request.app, "exception_handlers", {})
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                response = handler(request, exc)
                if inspect.isawaitable(response):
                    response = await response
                return response  # type: ignore[no-any-return]
        raise exc
