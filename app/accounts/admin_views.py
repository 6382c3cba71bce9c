"""Administration of org units and users (placeholder routes; being built)."""

from __future__ import annotations

from fastapi import Request, Response

from app.accounts.access import allow
from app.accounts.models import Role
from app.core.routing import make_router
from app.core.templating import render

router = make_router(tags=["pages: administration"])
ADMINS = (Role.admin, Role.district_admin)


@router.get("/admin/users", name="accounts:admin_users", dependencies=[allow(*ADMINS)])
def users(request: Request) -> Response:
    return render(request, "errors/error.html", {"status": 200, "title": "users", "detail": ""})


@router.get("/admin/users/new", name="accounts:admin_user_new", dependencies=[allow(*ADMINS)])
def user_new(request: Request) -> Response:
    return render(request, "errors/error.html", {"status": 200, "title": "new", "detail": ""})


@router.get("/admin/users/import", name="accounts:admin_import", dependencies=[allow(*ADMINS)])
def user_import(request: Request) -> Response:
    return render(request, "errors/error.html", {"status": 200, "title": "import", "detail": ""})


@router.get("/admin/units", name="accounts:admin_units", dependencies=[allow(*ADMINS)])
def units(request: Request) -> Response:
    return render(request, "errors/error.html", {"status": 200, "title": "units", "detail": ""})
