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

A lean endpoint may also decline a request (return None): the declared route then answers it. The hot
pages (a trainee's home, the lesson player) serve only their plain case lean, a signed-in caller with a
well-formed query, and leave everything else (another role's home, a query FastAPI would refuse with
422) to FastAPI, which answers it as it always did.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.db import run_read
from app.core.routing import close_request_session, committing_in_thread, get_db
from app.core.types import INT4_MAX

LeanEndpoint = Callable[..., Awaitable[Response | None]]


@dataclass(frozen=True)
class LeanRoute:
    """`path` in Starlette's syntax (`/api/v1/attempts/{attempt_id:int}/answers/{question_id}`); the
    endpoint is called as `endpoint(request, **path_params)` and returns a response, raises, or returns
    None to leave the request to the app's declared routes."""

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
        """The path's parameters, or None. An `:int` parameter is a row id (core/types.Id): one out of that
        range matches nothing here, and the declared route answers it (404)."""
        if method != self.method:
            return None
        found = self.regex.match(path)
        if found is None:
            return None
        params = {name: self.convertors[name].convert(value) for name, value in found.groupdict().items()}
        if any(isinstance(value, int) and not 1 <= value <= INT4_MAX for value in params.values()):
            return None
        return params


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


_CANONICAL_INT = re.compile(r"[0-9]{1,6}")


def query_ints(request: Request, spec: Mapping[str, tuple[int, int, int]]) -> dict[str, int] | None:
    """The query's integer parameters, `spec` giving each name's (default, least, most); None when the
    query holds anything else (another name, a repeated, signed or out-of-range value), for the declared
    route to answer (with FastAPI's 422 where it refuses)."""
    values = {name: default for name, (default, _least, _most) in spec.items()}
    if not request.scope.get("query_string"):
        return values
    seen: set[str] = set()
    for name, raw in request.query_params.multi_items():
        bounds = spec.get(name)
        if bounds is None or name in seen or not _CANONICAL_INT.fullmatch(raw):
            return None
        seen.add(name)
        value = int(raw)
        if not bounds[1] <= value <= bounds[2]:
            return None
        values[name] = value
    return values


async def run_view(request: Request, view: Callable[..., Response], /, **kwargs: Any) -> Response:
    """Call a read-only page's view as its TransactionalRoute does, as `view(request=, db=, **kwargs)`:
    with the request's session, committing when the answer is not an error (the middleware closes the
    session afterwards).

    On the event loop with SQLite, on a worker thread otherwise (core/db.run_read says why): a view that
    may write or wait must not be served here."""
    db = await get_db(request)
    return await run_read(db.get_bind().dialect.name, committing_in_thread(view, 200), request=request, db=db, **kwargs)


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
            if response is None:
                await close_request_session(request, False)  # declined: nothing of it is kept
            else:
                # The request's session (the access rule's, get_db's), if the endpoint made one: finished as a
                # TransactionalRoute finishes it.
                await close_request_session(request, response.status_code < 400 or bool(getattr(request.state, "keep_writes", False)))
        except Exception as exc:
            response = await self._handled(request, exc)
        if response is None:  # the declared route answers
            await self.app(scope, receive, send)
            return
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
