"""Events the accounts domain publishes (app.core.events). Higher domains subscribe to them: the
courses domain enrols new and changed people by its enrolment rules (app/courses/subscribers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.events import Event


@dataclass(frozen=True)
class UserEvent(Event):
    """Something happened to a user; published inside the transaction that did it."""

    user_id: int
    at: datetime


@dataclass(frozen=True)
class UserCreated(UserEvent):
    """A user was created (administration page, Excel import in the request or by the job, API, CLI)."""


@dataclass(frozen=True)
class UserChanged(UserEvent):
    """What rules may select a user by changed: `changed` names the fields among `tier`, `org_unit`,
    `is_active` (reactivated) and `roles` (a role was added)."""

    changed: tuple[str, ...] = ()
