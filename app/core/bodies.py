"""How much of a request body the server reads: a per-route limit, enforced as the bytes arrive.

Every request's `receive` goes through `BodyLimitMiddleware`. The limit is the one its route declared
(core/routing.body_limit, put in the scope under BODY_LIMIT_KEY once the route's access rule has
passed) or DEFAULT_BODY_LIMIT, which is what JSON bodies and forms get: a declared Content-Length over
the limit is refused before anything is read, and a body that turns out longer (chunked, or lying about
its length) is refused at the first chunk past it. Either way the answer is 413 (problem+json on the
API, a Chinese page otherwise) and the server never holds more than the limit.

Starlette's RequestBodyLimitMiddleware (FastAPI's `max_body_size`) does the counting too, but answers
in plain English text and replaces whatever the route answered (even a 401) with its own 413 when the
declared length is over the limit, so an unauthenticated caller would learn the limit before being
told to sign in.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.i18n import gettext as _

BODY_LIMIT_KEY = "shixun.body_limit"
DEFAULT_BODY_LIMIT = 1024 * 1024  # JSON and forms: far above any form or JSON body the app takes


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI, which turns other errors raised while it reads a body into a
    400, passes it on to the app's handler (core/errors)."""

    def __init__(self, limit: int) -> None:
        size = f"{limit / 1024**3:.1f} GB" if limit >= 1024**3 else f"{limit / 1024**2:.1f} MB"
        super().__init__(413, _("The request body is larger than the limit of %(size)s.", size=size))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            limit: int = scope.get(BODY_LIMIT_KEY, DEFAULT_BODY_LIMIT)
            if received == 0:
                declared = _declared_length(scope)
                if declared is not None and declared > limit:
                    raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
