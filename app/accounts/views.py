"""Sign-in, sign-out, own password, language, own sessions."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import Form, Request, Response

from app.accounts import service, signin, throttle
from app.accounts.access import CurrentPrincipal, CurrentUser, OptionalUser, allow, public, signed_in
from app.accounts.models import AUDIT_ACTION_LABELS, Role
from app.accounts.signin import InvalidCredentials
from app.accounts.throttle import DEVICE_COOKIE, ThrottledSignIn
from app.core import i18n
from app.core.config import get_settings
from app.core.errors import Throttled, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.routing import DbSession, keep_writes, make_router
from app.core.security import SESSION_COOKIE, sign, unsign
from app.core.templating import env as templates_env
from app.core.templating import flash, redirect, render
from app.core.types import Line, Text

router = make_router(tags=["pages: accounts"])

KIOSK_COOKIE = "shixun_kiosk"


def client_ip(request: Request) -> str:
    settings = get_settings()
    peer = request.client.host if request.client else "unknown"
    trusted = {p.strip() for p in settings.trusted_proxies.split(",") if p.strip()}
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and peer in trusted:
        return forwarded.split(",")[-1].strip()[:64] or peer
    return peer


def is_kiosk_device(request: Request) -> bool:
    return unsign("kiosk", request.cookies.get(KIOSK_COOKIE)) == "kiosk"


def request_device(request: Request) -> throttle.Device | None:
    """The device named by the request's signed device cookie (throttle.py), if it has a valid one."""
    return throttle.device_from_cookie(request.cookies.get(DEVICE_COOKIE))


def set_device_cookie(response: Response, device: throttle.Device) -> None:
    response.set_cookie(DEVICE_COOKIE, throttle.device_cookie_value(device), max_age=throttle.DEVICE_COOKIE_MAX_AGE,
                        httponly=True, secure=get_settings().secure_cookies, samesite="lax", path="/")


def safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after sign-in would be a phishing aid."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def set_session_cookie(response: Response, token: str, *, kiosk: bool) -> None:
    settings = get_settings()
    # A kiosk's cookie dies with the browser; elsewhere it lives as long as the session may.
    max_age = None if kiosk else settings.session_max_hours * 3600
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=settings.secure_cookies,
                        samesite="lax", path="/")


@router.get("/login", name="accounts:login", dependencies=[public()])
def login_page(request: Request, user: OptionalUser, next: Line | None = None, expired: bool = False) -> Response:
    if user is not None and not user.must_change_password:
        return redirect(request, safe_next(next))
    kiosk = is_kiosk_device(request)
    return render(request, "accounts/login.html", {"next": safe_next(next), "kiosk": kiosk, "kiosk_device": kiosk,
                                                   "demo_mode": get_settings().demo_mode, "expired": expired})


@router.post("/login", name="accounts:login_submit", dependencies=[public()])
def login_submit(
    request: Request,
    db: DbSession,
    username: Annotated[Line, Form(max_length=64)] = "",
    password: Annotated[Text, Form(max_length=256)] = "",
    next: Annotated[Line, Form()] = "/",
    public_device: Annotated[bool, Form()] = False,
) -> Response:
    kiosk = public_device or is_kiosk_device(request)
    context = {"next": safe_next(next), "username": username, "kiosk": kiosk, "kiosk_device": is_kiosk_device(request),
               "demo_mode": get_settings().demo_mode}
    device = request_device(request)
    try:
        user = signin.authenticate(db, username, password, ip=client_ip(request), device=device,
                                   kiosk=is_kiosk_device(request))
    except (InvalidCredentials, ThrottledSignIn) as exc:
        keep_writes(request)
        status = 429 if isinstance(exc, ThrottledSignIn) else 401
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ThrottledSignIn) else None
        return render(request, "accounts/login.html", {**context, "error": exc.translated_detail()},
                      status_code=status, headers=headers)
    token, _auth = signin.start_session(db, user, ip=client_ip(request), user_agent=request.headers.get("User-Agent"),
                                         kiosk=kiosk, replace_token=request.cookies.get(SESSION_COOKIE))
    target = "/account/password" if user.must_change_password else safe_next(next)
    response = redirect(request, target)
    set_session_cookie(response, token, kiosk=kiosk)
    set_device_cookie(response, signin.remember_device(device, user))
    if user.locale:
        response.set_cookie(i18n.LOCALE_COOKIE, user.locale, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.post("/logout", name="accounts:logout", dependencies=[public()])
def logout(request: Request, db: DbSession) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        signin.revoke_session_by_token(db, token, reason="logout")
    flash(request, _("You have signed out."))
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", name="accounts:password", dependencies=[signed_in(allow_pending_password=True)])
def password_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "accounts/password.html", {"forced": user.must_change_password})


@router.post("/account/password", name="accounts:password_submit", dependencies=[signed_in(allow_pending_password=True)])
def password_submit(
    request: Request,
    db: DbSession,
    principal: CurrentPrincipal,
    current_password: Annotated[Text, Form(max_length=256)] = "",
    new_password: Annotated[Text, Form(max_length=256)] = "",
    confirm_password: Annotated[Text, Form(max_length=256)] = "",
) -> Response:
    user = principal.user
    try:
        if new_password != confirm_password:
            raise ValidationFailed(_("The two new passwords do not match."))
        service.change_own_password(db, user, current_password, new_password,
                                    keep_session_id=principal.session_id, ip=client_ip(request))
    except Throttled as exc:
        keep_writes(request)  # the wrong password that reached the limit is recorded
        return render(request, "accounts/password.html", {"forced": user.must_change_password, "error": exc.translated_detail()},
                      status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except ValidationFailed as exc:
        if getattr(exc, "keep_writes", False):
            keep_writes(request)  # a wrong current password counts toward the throttle
        return render(request, "accounts/password.html", {"forced": user.must_change_password, "error": exc.translated_detail()},
                      status_code=422)
    flash(request, _("Your password has been changed."))
    return redirect(request, "/")


@router.post("/locale", name="accounts:set_locale", dependencies=[public()])
def set_locale(
    request: Request, db: DbSession, user: OptionalUser, locale: Annotated[Line, Form()] = "zh_CN",
    next: Annotated[Line, Form()] = "/",
) -> Response:
    chosen = i18n.normalize_locale(locale) or i18n.DEFAULT_LOCALE
    if user is not None:
        user.locale = chosen
        db.add(user)
    response = redirect(request, safe_next(next))
    response.set_cookie(i18n.LOCALE_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/account/sessions", name="accounts:sessions", dependencies=[signed_in()])
def sessions_page(request: Request, db: DbSession, principal: CurrentPrincipal) -> Response:
    sessions = signin.list_user_sessions(db, principal.user, now=utcnow())
    current_id = principal.session_id
    return render(request, "accounts/sessions.html", {"sessions": sessions, "current_id": current_id})


@router.post("/account/sessions/revoke-others", name="accounts:sessions_revoke_others", dependencies=[signed_in()])
def revoke_other_sessions(request: Request, db: DbSession, principal: CurrentPrincipal) -> Response:
    count = service.revoke_user_sessions(db, principal.user, reason="signed_out_elsewhere",
                                         except_id=principal.session_id)
    flash(request, _("Signed out %(n)s other sessions.", n=count))
    return redirect(request, "/account/sessions")


@router.get("/admin/kiosk", name="accounts:kiosk", dependencies=[allow(Role.admin)])
def kiosk_page(request: Request) -> Response:
    return render(request, "accounts/kiosk.html", {"is_kiosk": is_kiosk_device(request)})


@router.post("/admin/kiosk", name="accounts:kiosk_submit", dependencies=[allow(Role.admin)])
def kiosk_submit(request: Request, db: DbSession, user: CurrentUser, enable: Annotated[bool, Form()] = True) -> Response:
    """Marks this browser as a shared kiosk: every sign-in on it gets the short kiosk idle timeout."""
    service.audit(db, "device.kiosk_enabled" if enable else "device.kiosk_disabled", actor=user, ip=client_ip(request),
                  details={"user_agent": (request.headers.get("User-Agent") or "")[:200]})
    flash(request, _("This device is now a shared kiosk.") if enable else _("This device is no longer a shared kiosk."))
    response = redirect(request, "/admin/kiosk")
    if enable:
        response.set_cookie(KIOSK_COOKIE, sign("kiosk", "kiosk"), max_age=5 * 365 * 86400, httponly=True,
                            secure=get_settings().secure_cookies, samesite="lax", path="/")
        # A kiosk is a device from the start: its failures are counted apart from its neighbours' behind
        # the same address (throttle.py).
        set_device_cookie(response, request_device(request) or throttle.new_device())
    else:
        response.delete_cookie(KIOSK_COOKIE, path="/")
    return response


def _role_label(role: str) -> str:
    from app.accounts.models import Role

    try:
        return Role(role).label
    except ValueError:
        return role


def _tier_label(tier: str) -> str:
    from app.accounts.models import Tier

    try:
        return Tier(tier).label
    except ValueError:
        return tier


def _audit_label(action: str) -> str:
    label = AUDIT_ACTION_LABELS.get(action)
    return str(label) if label is not None else action


templates_env.globals["role_label"] = _role_label
templates_env.globals["audit_label"] = _audit_label
templates_env.globals["audit_actions"] = lambda: list(AUDIT_ACTION_LABELS)
templates_env.globals["tier_label"] = _tier_label
