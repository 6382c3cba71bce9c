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

The policies below say the same as rows conditions (app/accounts/scope.py); services load every row a
caller names by id through them: CURRICULUM, COURSE (and MODULE, LESSON, MATERIAL, which follow their
course), ENROLMENT_RULE and ENROLMENT.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.accounts.models import Role, User
from app.accounts.scope import CHANGE, READ, TAKE, USE, Anyone, Owner, Policy, Subtree, Via, Where, register, scope_path, unit_in_subtree
from app.core.i18n import gettext as _
from app.courses.models import Course, Curriculum, Enrolment, EnrolmentRule, Lesson, Material, Module

AUTHOR_ROLES = (Role.instructor, Role.admin, Role.district_admin)


def is_admin(user: User) -> bool:
    return user.has_role(Role.admin)


def can_author(user: User) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_manage_enrolments(user: User) -> bool:
    return user.has_role(Role.admin, Role.district_admin)


def can_view_progress(user: User) -> bool:
    """Administrators, district administrators (their subtree) and instructors (their own courses)."""
    return user.has_role(Role.admin, Role.district_admin, Role.instructor)


def can_set_requirements(user: User) -> bool:
    return is_admin(user)


# ---------------------------------------------------------------------------------------------
# Policies (app/accounts/scope.py)

DISTRICT = (Role.district_admin,)


def _city_wide_or_subtree(user: User) -> sa.ColumnElement[bool]:
    prefix = scope_path(user)
    if prefix is None:
        return sa.true()
    return sa.or_(col(Curriculum.org_unit_id).is_(None), unit_in_subtree(Curriculum.org_unit_id, prefix))


_CURRICULUM_CHANGE = (Anyone(Role.admin), Subtree(unit=Curriculum.org_unit_id, roles=DISTRICT))
CURRICULUM: Policy[Curriculum] = Policy(Curriculum, {
    READ: (Anyone(Role.admin, Role.instructor), Where(_city_wide_or_subtree, "city-wide curricula and their subtree's", *DISTRICT)),
    CHANGE: _CURRICULUM_CHANGE,
    USE: (Anyone(Role.instructor), *_CURRICULUM_CHANGE),  # add a course to it
}, name="curriculum", not_found=lambda: _("The curriculum does not exist."))


def _enrolled_in_published(user: User) -> sa.ColumnElement[bool]:
    mine = aliased(Enrolment)
    enrolled = select(mine.id).where(mine.course_id == col(Course.id), mine.user_id == user.id).exists()
    return sa.and_(col(Course.published_number) > 0, enrolled)


COURSE: Policy[Course] = Policy(Course, {
    READ: (Anyone(*AUTHOR_ROLES), Where(_enrolled_in_published, "published courses they are enrolled in")),
    CHANGE: (Anyone(Role.admin), Owner(Course.owner_id, Role.instructor), Via(CURRICULUM, Course.curriculum_id, CHANGE, *DISTRICT)),
    USE: (Anyone(Role.admin, Role.district_admin),),  # enrol people in it (whom: USER's rule)
}, name="course")

MODULE: Policy[Module] = Policy(Module, {CHANGE: (Via(COURSE, Module.course_id, CHANGE),)}, name="module")
LESSON: Policy[Lesson] = Policy(Lesson, {CHANGE: (Via(MODULE, Lesson.module_id, CHANGE),)}, name="lesson")
MATERIAL: Policy[Material] = Policy(Material, {CHANGE: (Via(LESSON, Material.lesson_id, CHANGE),)}, name="material")

ENROLMENT_RULE: Policy[EnrolmentRule] = Policy(EnrolmentRule, {
    CHANGE: (Anyone(Role.admin), Subtree(unit=EnrolmentRule.org_unit_id, roles=DISTRICT)),
}, name="enrolment rule")

ENROLMENT: Policy[Enrolment] = Policy(Enrolment, {
    READ: (Owner(Enrolment.user_id), Anyone(Role.admin), Subtree(owner=Enrolment.user_id, roles=DISTRICT),
           Via(COURSE, Enrolment.course_id, CHANGE, Role.instructor)),
    TAKE: (Owner(Enrolment.user_id),),  # learn: start, read, watch, complete
}, name="enrolment")

register(CURRICULUM, COURSE, MODULE, LESSON, MATERIAL, ENROLMENT_RULE, ENROLMENT)
