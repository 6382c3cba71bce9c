"""Who may do what with standards. Pure predicates, no I/O.

- Every signed-in user reads standards that are in force (or in force while under revision), and
  their published history; drafts and abolished standards only authors see.
- Instructors and administrators author: create standards, versions and clauses, import text, and
  put an in-force version under revision (that only opens a draft; nothing changes for readers).
- Only administrators decide what takes or loses force: publishing a version (→ in force, which
  supersedes the previous one) and abolishing. These are the base's formal 立/废 decisions.
- A review item is for its citation's owner; administrators see and settle everybody's.

The policies (app/accounts/scope.py) say the same as row conditions; services load by id through them:
STANDARD, VERSION, CLAUSE (follows its version) and REVIEW_ITEM.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.accounts.models import Role, User
from app.accounts.scope import CHANGE, READ, Anyone, Owner, Policy, Via, Where, register
from app.standards.models import CURRENT_STATUSES, Clause, ReviewItem, Standard, StandardVersion, VersionStatus

AUTHOR_ROLES = (Role.instructor, Role.admin)
DECIDER_ROLES = (Role.admin,)


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_decide(user: User) -> bool:
    return user.has_role(*DECIDER_ROLES)


def can_see_all_reviews(user: User) -> bool:
    return user.has_role(Role.admin)


# ---------------------------------------------------------------------------------------------
# Policies

def _current_standard(_user: User) -> sa.ColumnElement[bool]:
    return col(Standard.status).in_(CURRENT_STATUSES)


def _published_version_of_current_standard(_user: User) -> sa.ColumnElement[bool]:
    standard = aliased(Standard)
    current = (select(col(standard.id)).where(col(standard.id) == col(StandardVersion.standard_id),
                                              col(standard.status).in_(CURRENT_STATUSES)).exists())
    return sa.and_(col(StandardVersion.status) != VersionStatus.draft.value, current)


STANDARD: Policy[Standard] = Policy(Standard, {
    READ: (Anyone(*AUTHOR_ROLES), Where(_current_standard, "standards in force (or in force while under revision)")),
    CHANGE: (Anyone(*AUTHOR_ROLES),),
}, name="standard")

VERSION: Policy[StandardVersion] = Policy(StandardVersion, {
    READ: (Anyone(*AUTHOR_ROLES), Where(_published_version_of_current_standard, "published versions of standards in force")),
    CHANGE: (Anyone(*AUTHOR_ROLES),),
}, name="standard version")

CLAUSE: Policy[Clause] = Policy(Clause, {action: (Via(VERSION, Clause.version_id, action),) for action in (READ, CHANGE)},
                                name="clause")

REVIEW_ITEM: Policy[ReviewItem] = Policy(ReviewItem, {
    action: (Owner(ReviewItem.owner_id), Anyone(*DECIDER_ROLES)) for action in (READ, CHANGE)
}, name="review item")

register(STANDARD, VERSION, CLAUSE, REVIEW_ITEM)
