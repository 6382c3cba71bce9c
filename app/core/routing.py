"""Request-scoped sessions committed before the response is sent (polar's AutoCommitAPIRoute).

A route's handler gets its session from `get_db`. `TransactionalRoute` wraps the handler: when the
handler returns a response below 400 the session is committed *before* that response goes out, so a
client never sees success for a write that did not land; a commit that fails becomes an error
response. Any exception or an error response rolls back. Every router in the app is an `APIRouter`
made by `make_router`, and a test checks that every route is a TransactionalRoute.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import get_database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


async def get_db(request: Request) -> Session:
    """Async only so that it runs on the event loop: creating a Session does no I/O."""
    session: Session | None = getattr(request.state, "db", None)
    if session is None:
        database = getattr(request.app.state, "database", None) or get_database()
        session = database.new_session(write=request.method not in SAFE_METHODS)
        request.state.db = session
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


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException as exc:
                # Some errors are themselves records to keep (a failed sign-in counts toward the lock).
                await run_in_threadpool(_finish, request, bool(getattr(exc, "keep_writes", False)))
                raise
            commit = response.status_code < 400 or bool(getattr(request.state, "keep_writes", False))
            await run_in_threadpool(_finish, request, commit)
            return response

        return route_handler


def keep_writes(request: Request) -> None:
    """A view that answers with an error page but whose writes must still land (e.g. a failed sign-in)."""
    request.state.keep_writes = True


def make_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=TransactionalRoute, **kwargs)


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
