"""What the courses domain does when lower domains report something (app.core.events).

Enrolment rules (tier × org-unit subtree) apply to people as they arrive or change: a new user, a
reactivated one, or one whose tier, unit or roles changed is enrolled in every course whose active
rules now select them. This runs in the publisher's transaction, so a user is never created without
their rule enrolments (and a failed import leaves neither). Enrolments are never taken away here:
someone who moves keeps the courses, and the progress, they had.

Imported by app.main and by the worker (app/worker/runner.py), so that the handlers are registered
wherever users are written.
"""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.events import UserChanged, UserCreated, UserEvent
from app.accounts.models import User
from app.accounts.scope import related
from app.core import events
from app.courses import learning


def enrol_by_rules(session: Session, event: UserEvent) -> None:
    user = related(session, User, event.user_id)
    if user is None or not user.is_active:
        return
    learning.apply_rules(session, user=user, now=event.at)


events.subscribe(UserCreated, enrol_by_rules)
events.subscribe(UserChanged, enrol_by_rules)
