"""Exam statistics (distribution, pass rates by unit and tier, item analysis with dubious items, Excel
export), the live competition leaderboard, and recurring exam schedules (日考/周考/月考)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from pydantic import ValidationError

from app.accounts.access import CurrentUser, allow, signed_in
from app.accounts.models import TIER_LABELS, Role, Tier
from app.accounts.permissions import may_target_everyone
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.core.routing import DbSession, make_router
from app.core.templating import flash, path_for, redirect, render
from app.core.types import Id, Line
from app.exams import exams, papers, reports, schedules
from app.exams.models import EXAM_KIND_LABELS, ExamKind, PaperKind
from app.exams.permissions import AUTHOR_ROLES

router = make_router(tags=["pages: exam statistics"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCHEDULE_KINDS = (ExamKind.daily, ExamKind.weekly, ExamKind.monthly)



@router.get("/exams/staff/author/{exam_id}/statistics", name="exams:statistics",
            dependencies=[allow(Role.instructor, Role.admin, Role.district_admin)])
def statistics(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    report = reports.exam_report(db, user, exams.get_exam(db, user, exam_id))
    return render(request, "exams/reports/statistics.html", {"report": report, "flag_label": reports.flag_label,
                                                             "kind_labels": EXAM_KIND_LABELS})


@router.get("/exams/staff/author/{exam_id}/statistics.xlsx", name="exams:statistics_export",
            dependencies=[allow(Role.instructor, Role.admin, Role.district_admin)])
def statistics_export(db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    report = reports.exam_report(db, user, exams.get_exam(db, user, exam_id))
    return Response(reports.export_xlsx(report), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=exam-{exam_id}-statistics.xlsx"})


@router.get("/exams/{exam_id}/leaderboard", name="exams:leaderboard", dependencies=[signed_in()])
def leaderboard(request: Request, db: DbSession, user: CurrentUser, exam_id: Id) -> Response:
    exam = reports.competition(db, user, exam_id)
    people, units, running = reports.leaderboard(db, exam)
    return render(request, "exams/reports/leaderboard.html", {"exam": exam, "people": people, "units": units, "running": running},
                  block="board")


@router.get("/exams/staff/schedules", name="exams:schedules", dependencies=[allow(*AUTHOR_ROLES)])
def schedule_list(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(request, "exams/reports/schedules.html", _schedule_ctx(db, user))


def _schedule_ctx(db: DbSession, user: CurrentUser, values: dict[str, str] | None = None) -> dict[str, object]:
    blueprints = [p for p in papers.authored_papers(db, user) if p.kind == PaperKind.blueprint]
    return {"schedules": schedules.schedules_of(db, user), "blueprints": blueprints, "kinds": SCHEDULE_KINDS,
            "units": exams.unit_choices(db, user), "city_wide": may_target_everyone(user),
            "kind_labels": EXAM_KIND_LABELS, "tiers": list(Tier), "tier_labels": TIER_LABELS, "values": values or {}}


@router.post("/exams/staff/schedules", name="exams:schedule_create", dependencies=[allow(*AUTHOR_ROLES)])
def schedule_create(request: Request, db: DbSession, user: CurrentUser, title: Annotated[Line, Form()] = "",
                    kind: Annotated[Line, Form()] = "daily", paper_id: Annotated[Line, Form()] = "",
                    tier: Annotated[Line, Form()] = "", opens_at_local: Annotated[Line, Form()] = "08:00",
                    window_hours: Annotated[Line, Form()] = "24", weekday: Annotated[Line, Form()] = "1",
                    month_day: Annotated[Line, Form()] = "1", time_limit_min: Annotated[Line, Form()] = "20",
                    pass_percent: Annotated[Line, Form()] = "60",  # noqa: S107 (not a password)
                    org_unit_id: Annotated[Line, Form()] = "") -> Response:
    values = {"title": title, "kind": kind, "paper_id": paper_id, "tier": tier, "opens_at_local": opens_at_local,
              "org_unit_id": org_unit_id,
              "window_hours": window_hours, "weekday": weekday, "month_day": month_day, "time_limit_min": time_limit_min,
              "pass_percent": pass_percent}
    try:
        data = schedules.ScheduleIn(title=title, kind=kind, paper_id=int(paper_id or 0), tier=tier or None, opens_at_local=opens_at_local,
                                    window_hours=int(window_hours or 0), weekday=int(weekday or 0), month_day=int(month_day or 0),
                                    time_limit_s=int(time_limit_min or 0) * 60, pass_percent=int(pass_percent or 0),
                                    org_unit_id=int(org_unit_id) if org_unit_id else None)
        schedules.create_schedule(db, user, data)
    except (ValidationError, ValueError):
        flash(request, _("Please check the form: every field needs a valid value."), "error")
        return render(request, "exams/reports/schedules.html", _schedule_ctx(db, user, values), status_code=422)
    except (ValidationFailed, NotFound) as exc:
        flash(request, str(exc.detail or exc.title) if isinstance(exc, ValidationFailed) else _("No such paper."), "error")
        return render(request, "exams/reports/schedules.html", _schedule_ctx(db, user, values), status_code=422)
    flash(request, _("Recurring exam saved. Each edition is published automatically when it opens."))
    return redirect(request, path_for(request, "exams:schedules"))


@router.post("/exams/staff/schedules/{schedule_id}/active", name="exams:schedule_active", dependencies=[allow(*AUTHOR_ROLES)])
def schedule_active(request: Request, db: DbSession, user: CurrentUser, schedule_id: Id,
                    active: Annotated[Line, Form()] = "") -> Response:
    schedules.set_active(db, user, schedule_id, active == "1")
    flash(request, _("Recurring exam resumed.") if active == "1" else _("Recurring exam paused."))
    return redirect(request, path_for(request, "exams:schedules"))
