"""Curricula, courses and their structure, published versions, enrolments, progress and study hours.

Definitions and records apart (STYLE §3):

- The *draft* structure lives in the ordinary tables course → module → lesson → material, which
  instructors edit. Rows of the structure are never deleted once they may have been published: they
  are marked `removed_at` instead, so their ids stay valid identities for snapshots and records.
- Publishing writes a `CourseVersion` whose `snapshot` JSON freezes the whole structure (titles,
  order, material configs, hours). Nothing ever updates a version: trainees learn from it while the
  next draft is edited.
- An enrolment is pinned to the version the trainee started (`version_id`, set when they first open
  a lesson); before that it follows the newest published version. Material progress points at the
  stable material id, not at a version, so moving an enrolment to a newer version keeps every
  record that still applies.
- Completing a course awards study hours once: the enrolment's `completed_at` is set by a
  conditional UPDATE (only one caller wins), and the ledger entry is unique per enrolment.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from app.core.i18n import lazy_gettext as _l
from app.core.models import TimestampMixin, created_field, datetime_field

TIER_CHECK = "tier IN ('decision','management','execution')"


def _check(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in values) + ")"


class MaterialKind(StrEnum):
    """The five forms of the base."""

    text = "text"
    video = "video"
    picture_book = "picture_book"
    scene = "scene"
    visual_assessment = "visual_assessment"

    @property
    def label(self) -> str:
        return str(MATERIAL_KIND_LABELS[self])


MATERIAL_KIND_LABELS = {
    MaterialKind.text: _l("Text"),
    MaterialKind.video: _l("Video"),
    MaterialKind.picture_book: _l("Picture book"),
    MaterialKind.scene: _l("Scene"),
    MaterialKind.visual_assessment: _l("Visual assessment"),
}


class EnrolmentSource(StrEnum):
    manual = "manual"
    rule = "rule"

    @property
    def label(self) -> str:
        return str(ENROLMENT_SOURCE_LABELS[self])


ENROLMENT_SOURCE_LABELS = {EnrolmentSource.manual: _l("Enrolled by hand"), EnrolmentSource.rule: _l("Enrolled by rule")}


class EnrolmentStatus(StrEnum):
    """Derived from the enrolment's dates and progress, never stored."""

    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"

    @property
    def label(self) -> str:
        return str(ENROLMENT_STATUS_LABELS[self])


ENROLMENT_STATUS_LABELS = {
    EnrolmentStatus.not_started: _l("Not started"),
    EnrolmentStatus.in_progress: _l("In progress"),
    EnrolmentStatus.completed: _l("Completed"),
}


class Curriculum(TimestampMixin, table=True):
    """A tier's programme. With an org unit it is that unit's (a district's 一区一特色 courses)."""

    __tablename__ = "courses_curriculum"
    __table_args__ = (sa.CheckConstraint(TIER_CHECK, name="tier_valid"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    tier: str = Field(max_length=20, index=True)
    org_unit_id: int | None = Field(default=None, foreign_key="accounts_org_unit.id", ondelete="RESTRICT", index=True)
    sort_order: int = 0
    is_active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")


class Course(TimestampMixin, table=True):
    __tablename__ = "courses_course"
    __table_args__ = (
        sa.CheckConstraint("hours >= 0", name="hours_not_negative"),
        sa.CheckConstraint("published_number >= 0", name="published_number_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    curriculum_id: int = Field(foreign_key="courses_curriculum.id", ondelete="RESTRICT", index=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_type=sa.Text)
    # 学时 awarded on completion; the published version's figure is the one that counts.
    hours: Decimal = Field(default=Decimal("0"), sa_type=sa.Numeric(5, 1))
    is_required: bool = True  # required or elective within its curriculum
    sort_order: int = 0
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="RESTRICT", index=True)
    published_number: int = 0  # newest published version number; 0: never published
    has_draft_changes: bool = True
    archived_at: datetime | None = datetime_field(nullable=True)


class Prerequisite(SQLModel, table=True):
    """`course_id` cannot be started until `required_course_id` is complete."""

    __tablename__ = "courses_prerequisite"
    __table_args__ = (sa.CheckConstraint("course_id <> required_course_id", name="not_self"),)

    course_id: int = Field(foreign_key="courses_course.id", ondelete="CASCADE", primary_key=True)
    required_course_id: int = Field(foreign_key="courses_course.id", ondelete="RESTRICT", primary_key=True, index=True)


class Module(SQLModel, table=True):
    __tablename__ = "courses_module"

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="courses_course.id", ondelete="CASCADE", index=True)
    title: str = Field(max_length=200)
    position: int = 0
    removed_at: datetime | None = datetime_field(nullable=True)


class Lesson(SQLModel, table=True):
    __tablename__ = "courses_lesson"

    id: int | None = Field(default=None, primary_key=True)
    module_id: int = Field(foreign_key="courses_module.id", ondelete="CASCADE", index=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_type=sa.Text)
    position: int = 0
    removed_at: datetime | None = datetime_field(nullable=True)


class Material(TimestampMixin, table=True):
    """One piece of a lesson. `config` is validated by app.courses.materials (a discriminated union
    on `kind`, carrying its own shape version `v`); `kind` is repeated in a column for queries and
    a check constraint."""

    __tablename__ = "courses_material"
    __table_args__ = (sa.CheckConstraint(_check("kind", MaterialKind), name="kind_valid"),)

    id: int | None = Field(default=None, primary_key=True)
    lesson_id: int = Field(foreign_key="courses_lesson.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=200)
    position: int = 0
    is_required: bool = True
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    removed_at: datetime | None = datetime_field(nullable=True)


class CourseVersion(SQLModel, table=True):
    """A published, frozen course. Never updated after insert."""

    __tablename__ = "courses_course_version"
    __table_args__ = (sa.UniqueConstraint("course_id", "number"), sa.CheckConstraint("number >= 1", name="number_positive"),
                      sa.CheckConstraint("hours >= 0", name="hours_not_negative"))

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="courses_course.id", ondelete="RESTRICT", index=True)
    number: int
    title: str = Field(max_length=200)
    hours: Decimal = Field(sa_type=sa.Numeric(5, 1))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_at: datetime = created_field()
    published_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")
    note: str = Field(default="", max_length=500)


class EnrolmentRule(SQLModel, table=True):
    """Enrol every active trainee of a tier (any tier when NULL) within an org-unit subtree (the whole
    city when NULL) into a course."""

    __tablename__ = "courses_enrolment_rule"
    __table_args__ = (sa.CheckConstraint(f"tier IS NULL OR {TIER_CHECK}", name="tier_valid"),
                      sa.CheckConstraint("due_days IS NULL OR due_days > 0", name="due_days_positive"))

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="courses_course.id", ondelete="CASCADE", index=True)
    tier: str | None = Field(default=None, max_length=20)
    org_unit_id: int | None = Field(default=None, foreign_key="accounts_org_unit.id", ondelete="RESTRICT", index=True)
    due_days: int | None = None  # due this many days after enrolment
    is_active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")
    created_at: datetime = created_field()


class Enrolment(SQLModel, table=True):
    __tablename__ = "courses_enrolment"
    __table_args__ = (
        sa.UniqueConstraint("course_id", "user_id"),
        sa.CheckConstraint(_check("source", EnrolmentSource), name="source_valid"),
        sa.CheckConstraint("due_on IS NULL OR start_on IS NULL OR due_on >= start_on", name="due_after_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="courses_course.id", ondelete="RESTRICT", index=True)
    user_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE", index=True)
    source: str = Field(default=EnrolmentSource.manual.value, max_length=10)
    rule_id: int | None = Field(default=None, foreign_key="courses_enrolment_rule.id", ondelete="SET NULL", index=True)
    enrolled_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")
    enrolled_at: datetime = created_field()
    start_on: date | None = None  # Asia/Shanghai calendar dates
    due_on: date | None = None
    # The published version the trainee learns from; NULL until they start (then: the newest).
    version_id: int | None = Field(default=None, foreign_key="courses_course_version.id", ondelete="RESTRICT", index=True)
    started_at: datetime | None = datetime_field(nullable=True)
    completed_at: datetime | None = datetime_field(nullable=True, index=True)


class MaterialProgress(SQLModel, table=True):
    """A trainee's record for one material, keyed by the stable material id (not by version)."""

    __tablename__ = "courses_material_progress"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "material_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="courses_enrolment.id", ondelete="CASCADE", index=True)
    material_id: int = Field(foreign_key="courses_material.id", ondelete="RESTRICT", index=True)
    # Form-specific state, e.g. {"pages_seen": [0, 1, 2]} for a picture book.
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    completed_at: datetime | None = datetime_field(nullable=True)
    updated_at: datetime = created_field()


class HoursEntry(SQLModel, table=True):
    """One line of a trainee's annual study-hours ledger (学时台账). `year` is the Asia/Shanghai
    calendar year of `awarded_at`. One entry per enrolment, whatever happens concurrently."""

    __tablename__ = "courses_hours_entry"
    __table_args__ = (sa.UniqueConstraint("enrolment_id"), sa.CheckConstraint("hours >= 0", name="hours_not_negative"),
                      sa.Index("ix_courses_hours_entry_user_year", "user_id", "year"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE")
    year: int
    hours: Decimal = Field(sa_type=sa.Numeric(5, 1))
    course_id: int | None = Field(default=None, foreign_key="courses_course.id", ondelete="SET NULL", index=True)
    enrolment_id: int | None = Field(default=None, foreign_key="courses_enrolment.id", ondelete="SET NULL")
    version_id: int | None = Field(default=None, foreign_key="courses_course_version.id", ondelete="SET NULL")
    awarded_at: datetime = datetime_field()
    note: str = Field(default="", max_length=300)


class HoursRequirement(SQLModel, table=True):
    """The study hours each tier must reach per calendar year; administrators edit these."""

    __tablename__ = "courses_hours_requirement"
    __table_args__ = (sa.CheckConstraint(TIER_CHECK, name="tier_valid"), sa.CheckConstraint("hours >= 0", name="hours_not_negative"))

    tier: str = Field(max_length=20, primary_key=True)
    hours: Decimal = Field(sa_type=sa.Numeric(5, 1))
    updated_at: datetime = created_field()
    updated_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")


# Seeded by the migration; also the fallback when a row is missing.
DEFAULT_REQUIREMENTS = {"decision": Decimal("12"), "management": Decimal("24"), "execution": Decimal("32")}
