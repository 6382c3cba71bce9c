"""Jinja2 with named blocks (jinja2-fragments): a view renders the whole page, or only one block for
an htmx request, from the same template. Every response from `render` carries `Vary: HX-Request`.
Flash messages ride in a signed cookie across a redirect and are shown out of band for htmx swaps.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
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
    token = context.get("csrf_token")
    if token is None:
        request = context.get("request")
        token = getattr(getattr(request, "state", None), "csrf_token", "") if request is not None else ""
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % token


env.globals["csrf_input"] = _csrf_input


# --- Memoised fragments -------------------------------------------------------------------------------
# Most of a page's cost is rendering (a trainee's home page: ~90 template calls, three dozen translated
# strings, twenty reversed URLs), and most of it renders the same output again and again: the navigation
# of the same roles, a trainee's course cards while their progress has not moved. `{{ fragment(name,
# **variables) }}` renders a partial from the variables alone and keeps the output, keyed by the
# template, the locale and a frozen copy of the variables. The partial sees nothing else: no request, no
# current user, no CSRF token unless passed (it can reverse route names: `url_for` only needs the app).
# The output is a function of its key (templates and catalogues do not change while a process runs), so
# a kept fragment is never stale and processes need no invalidation between them: a change of data is a
# different key. Bounded; least recently used entries go first.


class _RoutesOnly:
    """The request as a memoised fragment sees it: the app, to reverse route names, and nothing else."""

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        # Not an AttributeError, which Jinja would render as an empty string: reading the request would make
        # the kept output depend on something its key does not hold.
        raise RequestInFragment(f"a memoised fragment cannot read request.{name}: pass it as a variable")


class RequestInFragment(RuntimeError):
    pass


class Unfreezable(TypeError):
    pass


def frozen(value: Any) -> Any:
    """A hashable copy of `value` that equals another's only when both render the same: types are kept
    (True, 1, 1.0 and Decimal("1.0") print differently, datetimes of different zones compare equal)."""
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if kind is list or kind is tuple:
        return (kind, tuple([frozen(item) for item in value]))
    if kind is dict:
        return (dict, tuple([(key, frozen(item)) for key, item in value.items()]))
    if kind is bool or kind is float:
        return (kind, repr(value))
    if kind is Decimal or kind is datetime or kind is date or kind is time:
        return (kind, str(value))
    if isinstance(value, Enum):
        return (kind, value.value)
    if isinstance(value, str):  # Markup
        return (kind, str(value))
    if isinstance(value, tuple):  # a named tuple
        return (kind, tuple([frozen(item) for item in value]))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (kind, tuple([frozen(getattr(value, f.name)) for f in dataclasses.fields(value)]))
    if kind is frozenset or kind is set:
        return (frozenset, frozenset([frozen(item) for item in value]))
    raise Unfreezable(f"cannot key a memoised fragment on a {kind.__name__}")


class FragmentCache:
    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self.hits = self.misses = self.uncached = 0
        self._entries: OrderedDict[Any, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, app: Any, name: str, variables: dict[str, Any]) -> Markup:
        try:
            key = (id(app), name, i18n.get_locale(), frozen(variables))
        except Unfreezable:  # a variable that cannot be keyed (a database row): rendered every time
            self.uncached += 1
            return self._render(app, name, variables)
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return html
        html = self._render(app, name, variables)
        with self._lock:
            self.misses += 1
            self._entries[key] = html
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return html

    @staticmethod
    def _render(app: Any, name: str, variables: dict[str, Any]) -> Markup:
        return Markup(env.get_template(name).render({**variables, "request": _RoutesOnly(app)}))  # noqa: S704

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = self.uncached = 0


fragments = FragmentCache()


@pass_context
def _fragment(context: Any, name: str, /, **variables: Any) -> Markup:
    return fragments.render(context["request"].app, name, variables)


env.globals["fragment"] = _fragment


def nav_section(path: str) -> str:
    """Which main navigation entry a path belongs to (the one marked `aria-current`)."""
    if path == "/":
        return "home"
    for prefix, section in _NAV_SECTIONS:
        if path.startswith(prefix):
            return section
    return ""


_NAV_SECTIONS = (
    ("/standards", "standards"), ("/author/question-banks", "banks"), ("/author", "authoring"),
    ("/exams/staff", "exam_admin"), ("/exams", "exams"), ("/admin/users", "users"), ("/admin/units", "units"),
    ("/admin/audit", "audit"), ("/admin/jobs", "jobs"),
)
env.globals["nav_section"] = nav_section


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
