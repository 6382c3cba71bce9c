"""create_app(): settings, logging, middleware, error handlers, static files and routers."""

from __future__ import annotations

import gc

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import PROJECT_ROOT
from app.accounts import admin_views as accounts_admin_views
from app.accounts import api as accounts_api
from app.accounts import import_api as accounts_import_api
from app.accounts import views as accounts_views
from app.accounts.access import user_for_error_page
from app.core.bodies import BodyLimitMiddleware
from app.core.config import Settings, get_settings
from app.core.csrf import verify_csrf
from app.core.db import Database, get_database
from app.core.errors import install_error_handlers
from app.core.lean import LeanRoutesMiddleware
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.courses import api as courses_api
from app.courses import authoring_views as courses_authoring_views
from app.courses import subscribers as courses_subscribers  # noqa: F401  (registers event handlers)
from app.courses import views as courses_views
from app.exams import bank_api as exams_bank_api
from app.exams import bank_views as exams_bank_views
from app.exams import exam_api as exams_exam_api
from app.exams import exam_views as exams_exam_views
from app.exams import report_views as exams_report_views
from app.home import views as home_views
from app.media import api as media_api
from app.media import views as media_views
from app.ops import views as ops_views
from app.standards import api as standards_api
from app.standards import views as standards_views

API_DESCRIPTION = """
Shixun (实训) JSON API. Authenticate with `POST /api/v1/auth/token` and send
`Authorization: Bearer <token>`. Errors are `application/problem+json`; lists are
`{"items": [...], "total": n}` with `?limit=&offset=`.
"""


def create_app(settings: Settings | None = None, database: Database | None = None, *, lean_routes: bool = True) -> FastAPI:
    """`lean_routes=False` serves the hot endpoints through their declared FastAPI routes (tests compare)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Shixun 实训",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.database = database or get_database()
    app.state.resolve_user = user_for_error_page
    install_error_handlers(app)
    # Inside the request context (added first = nearer the routes): the exam autosave, a trainee's home and
    # the lesson player, answered without FastAPI's routing and dependency solving (core/lean).
    lean = [exams_exam_api.SAVE_LEAN, home_views.HOME_LEAN, courses_views.LESSON_LEAN]
    app.add_middleware(LeanRoutesMiddleware, routes=lean if lean_routes else [])
    # Outside the lean routes, so that every body the app reads, lean or declared, is read within its route's limit.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.mount("/static", StaticFiles(directory=str(PROJECT_ROOT / "static")), name="static")
    for module in (ops_views, accounts_views, accounts_admin_views, home_views, accounts_api, accounts_import_api,
                   standards_views, standards_api, courses_views, courses_authoring_views, courses_api, media_views, media_api,
                   exams_bank_api, exams_bank_views):
        app.include_router(module.router)
    app.include_router(exams_exam_api.router)
    app.include_router(exams_exam_views.router)
    app.include_router(exams_report_views.router)
    return app


# Python's full (generation 2) collections scan every object the process holds, most of them modules,
# classes and compiled templates that live as long as the process. Under load one came every few seconds
# and stalled every request in flight for 200-240 ms (measured in the exam autosave bench). A served
# process therefore moves what exists once it is built out of the collector's sight (gc.freeze) and
# collects the young generations less eagerly; reference cycles created by requests are still collected.
GC_THRESHOLDS = (50_000, 20, 100)


def create_served_app() -> FastAPI:
    """The app as `shixun serve` runs it (each web process builds its own): `create_app`, then the
    collector tuned for a long-lived server."""
    app = create_app()
    from app.core.templating import env

    for name in env.list_templates(extensions=("html",)):
        env.get_template(name)  # compile now, so that the compiled templates are frozen too
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app
