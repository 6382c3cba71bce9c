"""Domain errors and how they reach people: problem+json on the API, a Chinese page in the browser.

Services raise these; they never know about HTTP. `install_error_handlers` maps them to responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.security import SESSION_COOKIE

log = logging.getLogger("shixun.errors")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    status_code = 400
    code = "bad-request"
    title = N_("The request cannot be processed")

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors or []

    def translated_title(self) -> str:
        return _(self.title)

    def translated_detail(self) -> str:
        return self.detail if self.detail else _(self.title)


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not-authenticated"
    title = N_("Please sign in first")


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"
    title = N_("You do not have permission to do this")


class NotFound(DomainError):
    status_code = 404
    code = "not-found"
    title = N_("The requested item does not exist")


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    title = N_("The request conflicts with the current state")


def form_error_message(exc: ValidationError | DomainError) -> str:
    """One line for a flash message on a form page: the domain error's own words, or the first field
    that did not validate."""
    if isinstance(exc, DomainError):
        return exc.translated_detail()
    first = exc.errors()[0]
    return _("Please check the field %(field)s.", field=".".join(str(p) for p in first["loc"]) or "?")


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation-failed"
    title = N_("The submitted data is not valid")


class Throttled(DomainError):
    status_code = 429
    code = "throttled"
    title = N_("Too many attempts")

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class CsrfFailed(DomainError):
    status_code = 403
    code = "csrf-failed"
    title = N_("The form has expired or did not come from this site. Please reload the page and try again.")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/readyz")


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:shixun:problem:{code}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _error_page(request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    from app.core.templating import render

    if getattr(request.state, "user", None) is None:
        # The error came before (or without) the route's access rule: look the person up so the page
        # still shows who is signed in. The hook is installed by app.main (core knows no accounts).
        resolver = getattr(request.app.state, "resolve_user", None)
        if resolver is not None:
            try:
                request.state.user = resolver(request)
            except Exception:  # an error page must render even when the database is what failed
                log.warning("could not resolve the user for an error page", exc_info=True)

    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
        headers=headers,
    )


def _login_redirect(request: Request) -> Response:
    from urllib.parse import quote

    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"/login?next={quote(target, safe='')}"
    expired = bool(request.cookies.get(SESSION_COOKIE))
    if expired:
        url += "&expired=1"
    if request.headers.get("HX-Request"):
        # htmx would swap the login page into a fragment; ask it to navigate instead.
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if wants_json(request):
        if isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return problem_response(
            exc.status_code,
            exc.code,
            exc.translated_title(),
            exc.translated_detail(),
            errors=exc.errors,
            headers=headers or None,
        )
    if isinstance(exc, NotAuthenticated):
        return _login_redirect(request)
    return _error_page(request, exc.status_code, exc.translated_title(), exc.translated_detail(), headers or None)


def _http_title(status: int) -> str:
    titles = {
        400: _("The request cannot be processed"),
        401: _("Please sign in first"),
        403: _("You do not have permission to do this"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        413: _("The request is too large"),
        415: _("This kind of file is not supported"),
        422: _("The submitted data is not valid"),
        429: _("Too many attempts"),
    }
    return titles.get(status, _("Something went wrong"))


def handle_http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    title = _http_title(exc.status_code)
    headers = dict(exc.headers) if exc.headers else None
    detail = title if exc.status_code == 404 or not isinstance(exc.detail, str) else _(exc.detail)
    if wants_json(request):
        return problem_response(exc.status_code, f"http-{exc.status_code}", title, detail, headers=headers)
    return _error_page(request, exc.status_code, title, detail, headers)


def handle_validation_error(request: Request, exc: RequestValidationError) -> Response:
    if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
        # A path that names nothing that can exist (an id out of range or not a number) is a page that
        # does not exist, as an id that is not in the database: 404, not a form to correct.
        return handle_domain_error(request, NotFound())
    errors = [{"loc": list(err.get("loc", [])), "msg": str(err.get("msg", ""))} for err in exc.errors()]
    title = _("The submitted data is not valid")
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    if wants_json(request):
        return problem_response(422, "validation-failed", title, detail, errors=errors)
    return _error_page(request, 422, title, detail)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    title = _("Something went wrong")
    detail = _("An unexpected error occurred. It has been logged; please try again later.")
    if wants_json(request):
        return problem_response(500, "internal-error", title, detail)
    try:
        return _error_page(request, 500, title, detail)
    except Exception:  # the template layer itself may be what failed
        return Response(f"500 {title}", status_code=500, media_type="text/plain; charset=utf-8")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, handle_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, handle_unexpected)
