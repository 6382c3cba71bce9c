"""Request-scoped sessions committed before the response is sent (polar's AutoCommitAPIRoute).

A route's handler gets its session from `get_db`. `TransactionalRoute` wraps the handler: when the
handler returns a response below 400 the session is committed *before* that response goes out, so a
client never sees success for a write that did not land; a commit that fails becomes an error
response. Any exception or an error response rolls back. Every router in the app is an `APIRouter`
made by `make_router`, and a test checks that every route is a TransactionalRoute.

Sync endpoints (all of ours) commit or roll back in the same worker thread that ran them, right after
they return. Were the commit a separate hop to the thread pool, a finished request would keep its
connection (and on SQLite a writer its write lock) while queued for a free thread, and under load the
threads could all be waiting for connections or locks held by requests waiting for a thread.

Before FastAPI reads a request's body (which it does before solving any dependency), the route runs its
access rule (a `RouteGuard`: accounts.access.AccessRule) and states how many bytes of body it accepts
(`body_limit`, enforced by core/bodies.BodyLimitMiddleware): an anonymous caller cannot make the server
read, parse and validate a large body, and no body is read past its route's limit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import event
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, get_route_path
from starlette.types import Scope

from app.core.bodies import BODY_LIMIT_KEY
from app.core.db import get_database

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Whether a session has a database transaction open (a connection checked out): set when one begins,
# cleared when it ends. Sessions that never reached the database close without a thread hop.
_HOLDS_CONNECTION = "shixun_holds_connection"


@event.listens_for(Session, "after_begin")
def _began(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_HOLDS_CONNECTION] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost one: the connection goes back
        session.info.pop(_HOLDS_CONNECTION, None)


_current_request: ContextVar[Request | None] = ContextVar("shixun_request_with_db", default=None)


async def get_db(request: Request) -> Session:
    """Async only so that it runs on the event loop: creating a Session does no I/O."""
    session: Session | None = getattr(request.state, "db", None)
    if session is None:
        database = getattr(request.app.state, "database", None) or get_database()
        session = database.new_session(write=request.method not in SAFE_METHODS)
        request.state.db = session
        _current_request.set(request)  # copied into the thread that runs the endpoint
    return session


DbSession = Annotated[Session, Depends(get_db)]


def _finish(request: Request, commit: bool) -> None:
    session: Session | None = getattr(request.state, "db", None)
    if session is None:
        return
    try:
        if commit:
            session.commit()
        else:
            # Detach first so the error page can still show the signed-in user's name from what was
            # loaded, instead of lazy-loading through a rolled-back session.
            session.expunge_all()
            session.rollback()
    finally:
        session.close()
        request.state.db = None


def _end_transaction(request: Request, commit: bool) -> None:
    """In the endpoint's thread: commit or roll back, keep the session open for serialising the result."""
    session: Session | None = getattr(request.state, "db", None)
    if session is None:
        return
    request.state.db_done = True
    if commit:
        session.commit()
    else:
        session.expunge_all()
        session.rollback()


def committing_in_thread(endpoint: Callable[..., Any], default_status: int) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        request = _current_request.get()
        if request is None:  # the endpoint takes no session: nothing to finish here
            return endpoint(*args, **kwargs)
        try:
            result = endpoint(*args, **kwargs)
        except BaseException as exc:
            _end_transaction(request, bool(getattr(exc, "keep_writes", False)))
            raise
        status = result.status_code if isinstance(result, Response) else default_status
        _end_transaction(request, status < 400 or bool(getattr(request.state, "keep_writes", False)))
        return result

    return run


class RouteGuard:
    """Who may call a route, declared as a dependency (`dependencies=[allow(...)]`); accounts.access.AccessRule
    is the one kind. Besides running as a dependency, a route's guard runs before its body is read."""

    async def __call__(self, request: Request, db: Session) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class BodyLimit:
    """How many bytes of request body a route accepts, declared as a dependency next to its access rule
    (`dependencies=[allow(...), body_limit(20 * 2**20)]`); DEFAULT_BODY_LIMIT (JSON and forms) otherwise.
    `size` may be a function of the app's settings (media uploads follow SHIXUN_MEDIA_MAX_UPLOAD_BYTES)."""

    size: int | Callable[[Any], int]

    def resolve(self, request: Request) -> int:
        if callable(self.size):
            settings = getattr(request.app.state, "settings", None)
            if settings is None:
                from app.core.config import get_settings

                settings = get_settings()
            return self.size(settings)
        return self.size

    async def __call__(self) -> None:  # a declaration: nothing to do per request
        return None


def body_limit(size: int | Callable[[Any], int]) -> Any:
    return Depends(BodyLimit(size))


class TransactionalRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = committing_in_thread(endpoint, kwargs.get("status_code") or 200)
        super().__init__(path, endpoint, **kwargs)

    def declared(self, kind: type[T]) -> T | None:
        """The route's own dependency of this kind (its RouteGuard, its BodyLimit), if it declares one."""
        return next((d.dependency for d in self.dependencies if isinstance(d.dependency, kind)), None)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        guard, limit = self.declared(RouteGuard), self.declared(BodyLimit)

        async def route_handler(request: Request) -> Response:
            try:
                if guard is not None:
                    # Who is calling, before FastAPI reads the body: a refused caller costs no parsing. The
                    # dependency runs again while FastAPI solves the route's dependencies, from request.state.
                    await guard(request, await get_db(request))
                if limit is not None:
                    request.scope[BODY_LIMIT_KEY] = limit.resolve(request)
                response = await handler(request)
            except BaseException as exc:
                # Some errors are themselves records to keep (a failed sign-in counts toward the lock).
                await close_request_session(request, bool(getattr(exc, "keep_writes", False)))
                raise
            await close_request_session(request, response.status_code < 400 or bool(getattr(request.state, "keep_writes", False)))
            return response

        return route_handler


async def close_request_session(request: Request, commit: bool) -> None:
    """Finish the request's session (get_db's), if it made one: commit or roll back, then close."""
    session: Session | None = getattr(request.state, "db", None)
    if session is None:
        return
    if not session.info.get(_HOLDS_CONNECTION):
        # Already committed or rolled back in the endpoint's thread, or never touched the database (an
        # async endpoint whose caller came from the principal cache): no I/O left, no thread needed.
        session.close()
        request.state.db = None
        return
    # An async endpoint, a dependency that failed before the endpoint ran, or lazy loads while
    # serialising the result opened a transaction: finish it in a thread (it may do I/O).
    await run_in_threadpool(_finish, request, commit and not getattr(request.state, "db_done", False))


def keep_writes(request: Request) -> None:
    """A view that answers with an error page but whose writes must still land (e.g. a failed sign-in)."""
    request.state.keep_writes = True


class Router(APIRouter):
    """An APIRouter that turns a request away in one string comparison when no route of its own can
    match the path (the static start of each route's path, up to its first parameter). FastAPI tries
    the app's ~200 routes one after the other, with a few microseconds of bookkeeping each, so without
    this a request for a route near the end paid for all of the others first. Answers exactly as
    before: a path that starts with none of the prefixes matches no route of this router."""

    _prefixes: tuple[str, ...] = ("",)
    _prefixes_for = -1

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._prefixes_for != len(self.routes):
            self._prefixes = self._static_prefixes()
            self._prefixes_for = len(self.routes)
        if not get_route_path(scope).startswith(self._prefixes):
            return Match.NONE, {}
        return super().matches(scope)

    def _static_prefixes(self) -> tuple[str, ...]:
        prefixes = []
        for route in self.routes:
            path = getattr(route, "path", None)
            if not isinstance(route, APIRoute) or not isinstance(path, str):
                return ("",)  # something else (a mount, an included router): never prune
            prefixes.append(path.split("{", 1)[0].rstrip("/") or "/")
        return tuple(sorted(set(prefixes))) or ("",)


def make_router(**kwargs: Any) -> APIRouter:
    return Router(route_class=TransactionalRoute, **kwargs)


@dataclass(frozen=True)
class RouteInfo:
    """A route as the app serves it: full path (with router prefixes) and the route object declared."""

    path: str
    methods: frozenset[str]
    name: str
    route: APIRoute


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every APIRoute of the app, with router prefixes applied (FastAPI includes routers lazily)."""
    infos = []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if isinstance(original, APIRoute):
            infos.append(RouteInfo(path=context.path or original.path, methods=frozenset(context.methods or original.methods or ()),
                                   name=context.name or original.name, route=original))
    return infos
