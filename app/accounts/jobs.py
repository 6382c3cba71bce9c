"""Background jobs of the accounts domain."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.accounts import signin
from app.core.jobs import JobContext, job_handler


@job_handler("accounts.purge_expired", max_attempts=1)
def purge_expired(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Deletes sessions, tokens and sign-in failures that ended more than 30 days ago."""
    return signin.purge_expired(session)
