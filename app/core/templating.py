"""Jinja2 with named blocks (jinja2-fragments): a view renders the whole page, or only one block for
an htmx request, from the same template. Every response from `render` carries `Vary: HX-Request`.
Flash messages ride in a signed cookie across a redirect and are shown out of band for htmx swaps.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup

from app import PROJECT_ROOT
from app.core import i18n
from app.core.security import sign, unsign
from app.core.timeutil import format_datetime

FLASH_COOKIE = "shixun_flash"

env = Environment(
    loader=FileSystemLoader(str(PROJECT_ROOT / "templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    auto_reload=False,
)
templates = Jinja2Blocks(env=env)


# The i18n extension's newstyle gettext, without its layers: Jinja's `_` alias resolves `gettext`, which
# calls the installed callable, each through Context.call (three dispatches per string, and a page has
# dozens). Same result: the translation, marked safe (every template autoescapes), then always
# %-formatted with the escaped variables, as newstyle gettext does.
def _template_gettext(message: str, /, **variables: Any) -> Markup:
    text = i18n.get_translations(i18n.get_locale()).gettext(message)
    if not variables and "%" not in text:
        return Markup(text)  # noqa: S704 (our own catalogue)  formatting would change nothing
    return Markup(text) % variables  # noqa: S704


def _template_ngettext(singular: str, plural: str, n: int, /, **variables: Any) -> Markup:
    variables.setdefault("num", n)
    return Markup(i18n.get_translations(i18n.get_locale()).ngettext(singular, plural, n)) % variables  # noqa: S704


# The extension still compiles {% trans %} blocks into newstyle gettext calls.
env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: i18n.get_translations(i18n.get_locale()).gettext(message),
    lambda s, p, n: i18n.get_translations(i18n.get_locale()).ngettext(s, p, n),
    newstyle=True,
)
env.globals.update(gettext=_template_gettext, _=_template_gettext, ngettext=_template_ngettext)


_URL_CACHE: dict[tuple[int, str, tuple[tuple[str, str], ...]], str] = {}


def path_for(request: Request, name: str, /, **path_params: Any) -> str:
    """Root-relative URL of a named route: correct behind any proxy or host name, as an intranet
    deployment needs. Memoised: FastAPI walks every included router to reverse a name, and pages
    reverse dozens. Views use it for redirects; templates through `url_for`."""
    key = (id(request.app), name, tuple(sorted((k, str(v)) for k, v in path_params.items())))
    url = _URL_CACHE.get(key)
    if url is None:
        if len(_URL_CACHE) > 20_000:
            _URL_CACHE.clear()
        url = _URL_CACHE[key] = str(request.app.url_path_for(name, **path_params))
    return url


@pass_context
def _url_for(context: Any, name: str, /, **path_params: Any) -> str:
    return path_for(context["request"], name, **path_params)


env.globals["url_for"] = _url_for
env.globals["locale_names"] = i18n.LOCALE_NAMES
env.globals["get_locale"] = i18n.get_locale
env.globals["html_lang"] = i18n.html_lang
env.filters["datetime"] = format_datetime


@pass_context
def _csrf_input(context: Any) -> Markup:
    request = context.get("request")
    token = getattr(request.state, "csrf_token", "") if request is not None else ""
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % token


env.globals["csrf_input"] = _csrf_input


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def flash(request: Request, message: str, category: str = "success") -> None:
    pending: list[dict[str, str]] = getattr(request.state, "flashes", None) or []
    pending.append({"message": str(message), "category": category})
    request.state.flashes = pending


def _take_flashes(request: Request) -> list[dict[str, str]]:
    incoming = unsign("flash", request.cookies.get(FLASH_COOKIE)) or []
    pending = getattr(request.state, "flashes", None) or []
    request.state.flashes = []
    request.state.flash_cookie_consumed = bool(incoming)
    return [f for f in incoming + pending if isinstance(f, dict)]


def redirect(request: Request, url: str, status_code: int = 303) -> Response:
    """Redirect after a successful POST; pending flashes travel in a signed cookie."""
    if is_htmx(request):
        response: Response = Response(status_code=204, headers={"HX-Location": url})
    else:
        response = RedirectResponse(url, status_code=status_code)
    pending = getattr(request.state, "flashes", None)
    if pending:
        response.set_cookie(FLASH_COOKIE, sign("flash", pending), httponly=True, samesite="lax", path="/")
        request.state.flashes = []
    return response


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    ctx: dict[str, Any] = {
        "request": request,
        "current_user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "locale": i18n.get_locale(),
    }
    ctx.update(context or {})
    flashes = _take_flashes(request)
    ctx["flashes"] = flashes
    fragment = block is not None and is_htmx(request)
    if fragment:
        response: Response = templates.TemplateResponse(
            request, template, ctx, block_name=block, status_code=status_code, headers=headers
        )
        # After an action the flash region always follows (emptied when there is nothing new), so the
        # message of an earlier action does not linger over the result of this one.
        if flashes or request.method not in ("GET", "HEAD"):
            oob = env.get_template("_components/flash.html").render(flashes=flashes, oob=True)
            body = bytes(response.body) + oob.encode("utf-8")  # type: ignore[attr-defined]
            response = HTMLResponse(body, status_code=status_code, headers=headers)
    else:
        response = templates.TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    response.headers.append("Vary", "HX-Request")
    if getattr(request.state, "flash_cookie_consumed", False):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
