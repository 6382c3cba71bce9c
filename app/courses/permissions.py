"""Who may do what with courses. Pure predicates, no I/O.

- Instructors author courses and own what they create; administrators edit every course. A district
  administrator edits the courses of curricula that belong to a unit of their subtree.
- Curricula: administrators manage all of them; a district administrator those of their subtree
  (city-wide curricula, without a unit, are the administrators').
- Enrolments and enrolment rules: administrators for everybody, district administrators for people
  and units of their subtree.
- Progress reports: administrators everything, district administrators their subtree's people,
  instructors the enrolments of their own courses (reports.visible_rows).
- Trainees see only the courses they are enrolled in, as published.
"""

from __future__ import annotations

from app.accounts.models import OrgUnit, Role, User
from app.accounts.permissions import unit_in_scope
from app.courses.models import Course, Curriculum

AUTHOR_ROLES = (Role.instructor, Role.admin, Role.district_admin)


def is_admin(user: User) -> bool:
    return user.has_role(Role.admin)


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_manage_curriculum(user: User, curriculum: Curriculum, unit: OrgUnit | None) -> bool:
    """`unit` is the curriculum's org unit (None for a city-wide curriculum)."""
    if is_admin(user):
        return True
    return user.has_role(Role.district_admin) and unit is not None and unit_in_scope(user, unit)


def can_add_course(user: User, curriculum: Curriculum, unit: OrgUnit | None) -> bool:
    return user.has_role(Role.instructor) or can_manage_curriculum(user, curriculum, unit)


def can_edit_course(user: User, course: Course, curriculum: Curriculum, unit: OrgUnit | None) -> bool:
    if is_admin(user):
        return True
    if user.has_role(Role.instructor) and course.owner_id == user.id:
        return True
    return user.has_role(Role.district_admin) and unit is not None and unit_in_scope(user, unit)


def can_manage_enrolments(user: User) -> bool:
    return user.has_role(Role.admin, Role.district_admin)


def can_view_progress(user: User) -> bool:
    """Administrators, district administrators (their subtree) and instructors (their own courses)."""
    return user.has_role(Role.admin, Role.district_admin, Role.instructor)


def can_enrol(actor: User, trainee: User) -> bool:
    return can_manage_enrolments(actor) and unit_in_scope(actor, trainee.org_unit)


def can_set_requirements(user: User) -> bool:
    return is_admin(user)
