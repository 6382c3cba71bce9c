"""/healthz, /readyz and the administrators' audit log and job pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from app.accounts import service as accounts
from app.accounts.access import allow, public
from app.accounts.models import Role
from app.core.pagination import page_numbers
from app.core.routing import DbSession, make_router
from app.core.templating import render
from app.core.types import Line, Offset
from app.ops import service

router = make_router(tags=["operations"])


@router.get("/healthz", name="ops:healthz", dependencies=[public()])
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", name="ops:readyz", dependencies=[public()])
def readyz(db: DbSession) -> JSONResponse:
    ready, checks = service.readiness(db)
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)


@router.get("/admin/audit", name="ops:audit", dependencies=[allow(Role.admin)])
def audit_page(request: Request, db: DbSession, action: Line | None = None, q: Line | None = None,
               offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    limit = 50
    rows, total = accounts.list_audit(db, action=action or None, q=q or None, limit=limit, offset=offset)
    return render(request, "ops/audit.html", {"rows": rows, "total": total, "action": action or "", "q": q or "",
                                              "pages": page_numbers(total, limit, offset)}, block="results")


@router.get("/admin/jobs", name="ops:jobs", dependencies=[allow(Role.admin)])
def jobs_page(request: Request, db: DbSession) -> Response:
    return render(request, "ops/jobs.html", {"jobs": service.recent_jobs(db), "counts": service.job_counts(db)},
                  block="jobs")


@router.get("/api/docs", name="ops:api_docs", include_in_schema=False, dependencies=[public()])
def api_docs() -> Response:
    from fastapi.openapi.docs import get_swagger_ui_html

    response = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Shixun 实训 API",
        swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/img/favicon.svg",
        swagger_ui_parameters={"syntaxHighlight": False},
    )
    # Swagger UI starts itself with an inline script; allow that here only, still nothing from outside.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
    )
    return response
