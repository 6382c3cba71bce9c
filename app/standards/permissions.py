"""Who may do what with standards. Pure predicates, no I/O.

- Every signed-in user reads standards that are in force (or in force while under revision), and
  their published history; drafts and abolished standards only authors see.
- Instructors and administrators author: create standards, versions and clauses, import text, and
  put an in-force version under revision (that only opens a draft; nothing changes for readers).
- Only administrators decide what takes or loses force: publishing a version (→ in force, which
  supersedes the previous one) and abolishing. These are the base's formal 立/废 decisions.
- A review item is for its citation's owner; administrators see and settle everybody's.
"""

from __future__ import annotations

from app.accounts.models import Role, User
from app.standards.models import CURRENT_STATUSES, ReviewItem, Standard, StandardVersion, VersionStatus

AUTHOR_ROLES = (Role.instructor, Role.admin)
DECIDER_ROLES = (Role.admin,)


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_decide(user: User) -> bool:
    return user.has_role(*DECIDER_ROLES)


def can_see_standard(user: User, standard: Standard) -> bool:
    return can_author(user) or standard.status in CURRENT_STATUSES


def can_see_version(user: User, version: StandardVersion) -> bool:
    if can_author(user):
        return True
    return version.status != VersionStatus.draft and version.standard.status in CURRENT_STATUSES


def can_see_all_reviews(user: User) -> bool:
    return user.has_role(Role.admin)


def can_settle_review(user: User, item: ReviewItem) -> bool:
    return item.owner_id == user.id or can_see_all_reviews(user)
