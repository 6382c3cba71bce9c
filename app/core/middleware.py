"""The request context: request id, locale, CSRF cookie and token, security and cache headers, and an
access log line. Pure ASGI (no BaseHTTPMiddleware) so that it adds no task per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import i18n
from app.core.config import get_settings
from app.core.logging import request_id_var
from app.core.security import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for, new_token

log = logging.getLogger("shixun.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{6,64}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)


def _cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, parsed as `Request.cookies` parses them (Starlette's lenient, browser-like
    parser, several times faster than http.cookies)."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        started = time.perf_counter()
        incoming_id = _header(scope, b"x-request-id")
        request_id = incoming_id if incoming_id and _REQUEST_ID.match(incoming_id) else uuid.uuid4().hex[:16]
        token = request_id_var.set(request_id)
        cookies = _cookies(scope)
        path: str = scope.get("path", "")
        default_locale = i18n.normalize_locale(settings.default_locale) or i18n.DEFAULT_LOCALE
        if path.startswith("/api/"):
            # Integrators choose with Accept-Language (API.md); default zh-CN.
            locale = i18n.negotiate(_header(scope, b"accept-language"), default=default_locale)
        else:
            # Pages are Chinese first: English only when the person chose it (cookie, saved on the account),
            # whatever language a kiosk's browser happens to be installed with.
            locale = i18n.normalize_locale(cookies.get(i18n.LOCALE_COOKIE)) or default_locale
        i18n.set_locale(locale)

        is_static = path.startswith(self.static_prefix)
        state: dict[str, Any] = scope.setdefault("state", {})
        new_csrf_cookie = None
        # A bearer-token API call renders no form: no CSRF token to make, no cookie to hand a client that
        # keeps none. (Whether it is exempt from the CSRF check is decided by core/csrf, once the token has
        # authenticated it.)
        authorization = _header(scope, b"authorization") or ""
        bearer = path.startswith("/api/") and authorization[:7].lower() == "bearer " and bool(authorization[7:].strip())
        if not is_static and not bearer:
            csrf_cookie = cookies.get(CSRF_COOKIE)
            if not csrf_cookie:
                csrf_cookie = new_csrf_cookie = new_token(24)
            state["csrf_binding"] = cookies.get(SESSION_COOKIE) or csrf_cookie
            state["csrf_token"] = csrf_token_for(state["csrf_binding"])
        state["request_id"] = request_id
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "SAMEORIGIN")
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                if is_static:
                    headers.setdefault("Cache-Control", "public, max-age=86400")
                else:
                    # Nothing dynamic is cached: a shared kiosk must never show the previous person's page.
                    # Media files (authorized video segments, pictures) may say `private` themselves.
                    if not (path.startswith("/media/") and (headers.get("Cache-Control") or "").startswith("private")):
                        headers["Cache-Control"] = "no-store"
                    headers.setdefault("Content-Language", "zh-CN" if i18n.get_locale() == "zh_CN" else "en")
                if new_csrf_cookie:
                    secure = "; Secure" if settings.secure_cookies else ""
                    headers.append("Set-Cookie", f"{CSRF_COOKIE}={new_csrf_cookie}; Path=/; HttpOnly; SameSite=Lax{secure}")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if not is_static:
                user = state.get("user")
                log.info(
                    "%s %s %s %.1fms",
                    scope.get("method"),
                    path,
                    status_holder["status"],
                    (time.perf_counter() - started) * 1000,
                    extra={"user_id": getattr(user, "id", None), "status": status_holder["status"]},
                )
            request_id_var.reset(token)
