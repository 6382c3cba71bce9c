"""Recurring exams (日考/周考/月考): which edition of a schedule is due, and publishing it.

Periods are counted in Asia/Shanghai. A daily schedule's edition for 2026-11-26 is keyed "2026-11-26"
and opens that day at `opens_at_local`; a weekly one is keyed by ISO week ("2026-W48") and opens on its
ISO weekday; a monthly one "2026-11", opening on `month_day` (the last day when the month is shorter).
Each edition stays open `window_hours`. The worker's periodic job calls `publish_due_editions`; the
unique (schedule_id, edition_key) constraint makes a second worker's publish of the same edition fail
harmlessly, so an edition is published exactly once.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Tier, User
from app.accounts.scope import CHANGE, USE, related
from app.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.timeutil import DISPLAY_TZ
from app.exams import papers, permissions
from app.exams.models import Exam, ExamSchedule, ExamStatus, Paper, PaperKind, ResultsPolicy

log = logging.getLogger("shixun.exams")


class ScheduleIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(daily|weekly|monthly)$")
    paper_id: int
    tier: Tier | None = None
    org_unit_id: int | None = None
    opens_at_local: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    window_hours: int = Field(default=24, ge=1, le=24 * 31)
    weekday: int = Field(default=1, ge=1, le=7)
    month_day: int = Field(default=1, ge=1, le=31)
    time_limit_s: int = Field(default=1200, gt=0, le=24 * 3600)
    pass_percent: int = Field(default=60, ge=0, le=100)


@dataclass(frozen=True)
class Edition:
    key: str
    opens_at: datetime  # UTC
    closes_at: datetime  # UTC


def _at(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=DISPLAY_TZ).astimezone(UTC)


def current_edition(kind: str, now: datetime, *, opens_at_local: str = "08:00", window_hours: int = 24,
                    weekday: int = 1, month_day: int = 1) -> Edition | None:
    """The edition of the period containing `now`, once it has opened; None before that."""
    today = now.astimezone(DISPLAY_TZ).date()
    if kind == "daily":
        day, key = today, today.isoformat()
    elif kind == "weekly":
        year, week, _ = today.isocalendar()
        day, key = date.fromisocalendar(year, week, min(max(weekday, 1), 7)), f"{year}-W{week:02d}"
    elif kind == "monthly":
        last = calendar.monthrange(today.year, today.month)[1]
        day, key = today.replace(day=min(max(month_day, 1), last)), f"{today.year}-{today.month:02d}"
    else:
        raise ValueError(f"unknown schedule kind {kind!r}")
    opens = _at(day, opens_at_local)
    if now < opens:
        return None
    return Edition(key, opens, opens + timedelta(hours=window_hours))


# ---------------------------------------------------------------------------------------------
# Schedules on the database


def _edition_of(schedule: ExamSchedule, now: datetime) -> Edition | None:
    return current_edition(schedule.kind, now, opens_at_local=schedule.opens_at_local, window_hours=schedule.window_hours,
                           weekday=schedule.weekday, month_day=schedule.month_day)


def edition_title(schedule: ExamSchedule, edition: Edition) -> str:
    return f"{schedule.title}（{edition.key}）"


def create_schedule(session: Session, actor: User, data: ScheduleIn) -> ExamSchedule:
    """A recurring exam on a blueprint paper the caller may use, aimed at an audience they may target."""
    if not permissions.can_author(actor):
        raise PermissionDenied()
    paper = permissions.PAPER.find(session, actor, data.paper_id, USE)
    if paper is None or paper.archived_at is not None:
        raise ValidationFailed(_("Choose a blueprint paper."))
    accounts.target_unit(session, actor, data.org_unit_id)
    if paper.kind != PaperKind.blueprint:
        raise ValidationFailed(_("A recurring exam draws a fresh paper each time: choose a blueprint paper."))
    check = papers.check_blueprint(session, paper)
    if not check.feasible:
        raise ValidationFailed(_("The question bank cannot satisfy this blueprint yet."))
    schedule = ExamSchedule(**data.model_dump(), owner_id=actor.id or 0)
    session.add(schedule)
    session.flush()
    return schedule


def _paper_of(session: Session, schedule: ExamSchedule) -> Paper:
    """The system's own load (no caller): the schedule's paper, checked against its owner when the
    schedule was made; a paper deleted since is a domain error that skips this period."""
    paper = related(session, Paper, schedule.paper_id)
    if paper is None:
        raise NotFound()
    return paper


def publish_due_editions(session: Session, *, now: datetime | None = None) -> list[Exam]:
    """Publish the current edition of every active schedule that does not have it yet. Safe to run from
    several workers at once: the (schedule_id, edition_key) unique constraint lets one insert win."""
    now = now or utcnow()
    published = []
    for schedule in session.exec(select(ExamSchedule).where(col(ExamSchedule.is_active).is_(True))).all():
        edition = _edition_of(schedule, now)
        if edition is None or edition.key == schedule.last_edition_key or now >= edition.closes_at:
            continue
        exists = session.exec(select(Exam.id).where(Exam.schedule_id == schedule.id, Exam.edition_key == edition.key)).first()
        if exists is None:
            try:
                with session.begin_nested():
                    exam = Exam(title=edition_title(schedule, edition), kind=schedule.kind, paper_id=schedule.paper_id,
                                paper_snapshot=papers.freeze(session, _paper_of(session, schedule)),
                                status=ExamStatus.published.value, published_at=now, opens_at=edition.opens_at,
                                closes_at=edition.closes_at, time_limit_s=schedule.time_limit_s, attempts_allowed=1,
                                pass_percent=schedule.pass_percent, results_policy=ResultsPolicy.immediately.value,
                                tier=schedule.tier, org_unit_id=schedule.org_unit_id, schedule_id=schedule.id,
                                edition_key=edition.key, owner_id=schedule.owner_id)
                    session.add(exam)
                    session.flush()
                published.append(exam)
            except IntegrityError:
                pass  # another worker published this edition a moment ago
            except DomainError as exc:  # the bank no longer satisfies the blueprint: try again next period
                log.warning("schedule %s: edition %s not published: %s", schedule.id, edition.key, exc)
                continue
        schedule.last_edition_key = edition.key
        session.add(schedule)
    session.flush()
    return published


def schedules_of(session: Session, actor: User) -> Sequence[ExamSchedule]:
    """The schedules the caller may change (SCHEDULE policy)."""
    return session.exec(permissions.SCHEDULE.select(actor, CHANGE).order_by(col(ExamSchedule.id))).all()


def set_active(session: Session, actor: User, schedule_id: int, active: bool) -> ExamSchedule:
    schedule = permissions.SCHEDULE.get(session, actor, schedule_id, CHANGE)
    schedule.is_active = active
    session.add(schedule)
    session.flush()
    return schedule
