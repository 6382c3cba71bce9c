"""Operational state: health, readiness, jobs overview."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import Session, col, func, select

from app import PROJECT_ROOT
from app.core.config import get_settings
from app.core.jobs import Job, WorkerHeartbeat
from app.core.models import utcnow


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(session: Session) -> set[str]:
    try:
        rows = session.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.DBAPIError:
        return set()
    return {r[0] for r in rows}


def readiness(session: Session, *, now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
    now = now or utcnow()
    checks: dict[str, Any] = {}
    try:
        session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.DBAPIError as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
        return False, checks
    heads, current = head_revisions(), current_revisions(session)
    checks["migrations"] = "ok" if current == heads else f"pending: at {sorted(current)}, head {sorted(heads)}"
    stale = now - timedelta(seconds=get_settings().worker_stale_seconds)
    live = session.exec(select(func.count()).select_from(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen_at) >= stale)).one()
    checks["workers"] = live
    checks["worker"] = "ok" if live else "no worker seen recently"
    ready = checks["migrations"] == "ok" and live > 0
    return ready, checks


def job_counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(Job.status, func.count()).group_by(Job.status)).all()
    return {status: count for status, count in rows}


def recent_jobs(session: Session, *, limit: int = 50) -> list[Job]:
    return list(session.exec(select(Job).order_by(col(Job.id).desc()).limit(limit)).all())
