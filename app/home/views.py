"""The home page of each role. A user with several roles sees the most senior one's home and tabs."""

from __future__ import annotations

from fastapi import Request, Response

from app.accounts import service as accounts
from app.accounts.access import SIGNED_IN, CurrentUser, allow, signed_in
from app.accounts.models import Role
from app.core.jobs import JobStatus
from app.core.lean import LeanRoute, run_view
from app.core.routing import DbSession, make_router
from app.core.templating import render
from app.courses import reads
from app.courses import service as courses
from app.ops import service as ops
from app.standards import citations

router = make_router(tags=["pages: home"])

HOME_ORDER = (Role.admin, Role.district_admin, Role.instructor, Role.examiner, Role.coordinator, Role.trainee)


def home_kind(roles: set[str]) -> str:
    for role in HOME_ORDER:
        if role in roles:
            return "admin" if role in (Role.admin, Role.district_admin) else role.value
    return "trainee"


@router.get("/", name="home:index", dependencies=[signed_in()])
def index(request: Request, db: DbSession, user: CurrentUser) -> Response:
    kind = home_kind(user.roles)
    context: dict[str, object] = {"home_kind": kind}
    if kind == "trainee":
        mine = reads.my_learning(db, user)  # reads the unit path with the hours: one query less
        context["learning"], context["unit_path"] = mine, mine.unit_path
    else:
        context["unit_path"] = accounts.org_unit_path_names(db, user.org_unit)
    if kind == "instructor":
        context["own_courses"] = list(courses.list_own_courses(db, user)[:8])
        context["reviews"], context["review_total"] = citations.review_items(db, user, limit=5)
    if kind == "admin":
        context["counts"] = accounts.count_users(db, user)
        context["recent_audit"] = accounts.list_audit(db, limit=8)[0] if Role.admin in user.roles else []
        context["jobs"] = ops.job_counts(db) if Role.admin in user.roles else {}
        context["job_statuses"] = list(JobStatus)
    return render(request, f"home/{kind}.html", context)


async def _index_lean(request: Request) -> Response | None:
    """`index` for a trainee without FastAPI's routing and dependency solving (core/lean): the same
    access rule and view, with the remembered user (the trainee's home only reads it). Another role's
    home, or a query, is left to the declared route."""
    if request.scope.get("query_string"):
        return None
    principal = await SIGNED_IN.detached(request)
    assert principal is not None
    if home_kind(principal.user.roles) != "trainee":
        SIGNED_IN.forget(request)
        return None
    return await run_view(request, index, user=principal.user)


HOME_LEAN = LeanRoute("GET", "/", _index_lean)


@router.get("/admin/overview", name="home:admin_overview", dependencies=[allow(Role.admin, Role.district_admin)])
def admin_overview(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return index(request, db, user)
