"""CSRF protection for every unsafe method, as an app-wide dependency.

Signed double submit: the token is an HMAC of the session cookie (or, before sign-in, of a random
CSRF cookie) and comes back in the `csrf_token` form field or the `X-CSRF-Token` header (htmx sends
it through `hx-headers` on <body>). A call that a bearer token authenticated carries no ambient
credential and is exempt, as are API calls without a session cookie. An `Authorization` header alone
exempts nothing: a blank or unknown token leaves the session cookie to speak, and then the cookie's CSRF
token is required. The caller is resolved before this check runs (core/routing runs the route's access
rule first), and accounts.access marks a request that a token authenticated.
"""

from __future__ import annotations

from fastapi import Request

from app.core.errors import CsrfFailed
from app.core.routing import SAFE_METHODS
from app.core.security import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_token_valid

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


BEARER_STATE = "bearer_authenticated"


def mark_bearer_authenticated(request: Request) -> None:
    """Called by the access rule when a bearer token, not a cookie, authenticated the request."""
    setattr(request.state, BEARER_STATE, True)


def bearer_authenticated(request: Request) -> bool:
    return bool(getattr(request.state, BEARER_STATE, False))


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if bearer_authenticated(request):
        return
    session_cookie = request.cookies.get(SESSION_COOKIE)
    if request.url.path.startswith("/api/") and not session_cookie:
        return
    binding = session_cookie or request.cookies.get(CSRF_COOKIE)
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not binding or not csrf_token_valid(binding, token):
        raise CsrfFailed()
