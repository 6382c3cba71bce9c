"""Who may do what with exams and attempts. Pure predicates, no I/O.

- Instructors and administrators author exams (papers, windows, audiences) and publish them; a district
  administrator authors for their subtree. Examiners and instructors grade short answers.
- An attempt is seen by its owner, and by instructors, examiners and administrators (disputes); only
  its owner saves answers or submits it.
"""

from __future__ import annotations

from app.accounts.models import Role, User
from app.exams.models import Attempt, Exam

AUTHOR_ROLES = (Role.instructor, Role.admin, Role.district_admin)
GRADER_ROLES = (Role.instructor, Role.examiner, Role.admin)
REVIEWER_ROLES = (Role.instructor, Role.examiner, Role.admin, Role.district_admin)


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_edit_exam(user: User, exam: Exam) -> bool:
    return user.has_role(Role.admin) or (user.has_role(*AUTHOR_ROLES) and exam.owner_id == user.id)


def can_grade(user: User) -> bool:
    return user.has_role(*GRADER_ROLES)


def can_view_attempt(user: User, attempt: Attempt) -> bool:
    return attempt.user_id == user.id or user.has_role(*REVIEWER_ROLES)


def owns_attempt(user: User, attempt: Attempt) -> bool:
    return attempt.user_id == user.id
