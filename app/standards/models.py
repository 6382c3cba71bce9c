"""Standards, their versions (立/改/废 lifecycle), numbered clauses, citations and review items.

One version of a standard is *current* at a time: in force, or in force while under revision. The
rule lives in the database as a partial unique index (`uq_standards_version_one_current`, SQLite and
PostgreSQL both support `CREATE UNIQUE INDEX … WHERE`), and the service serialises publishing by
locking the standard's row, so two administrators publishing at once cannot leave two in force.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from app.accounts.models import User
from app.core.i18n import lazy_gettext as _l
from app.core.models import TimestampMixin, created_field, datetime_field


def _check(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in values) + ")"


class Category(StrEnum):
    # management standards (管理标准)
    state_assets = "state_assets"
    office_buildings = "office_buildings"
    official_vehicles = "official_vehicles"
    energy_saving = "energy_saving"
    finance = "finance"
    procurement = "procurement"
    conservation = "conservation"
    # service standards (服务标准)
    security = "security"
    meeting_service = "meeting_service"
    cleaning = "cleaning"
    canteen = "canteen"
    landscaping = "landscaping"
    epidemic_prevention = "epidemic_prevention"

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])

    @property
    def group(self) -> str:
        return "service" if self in SERVICE_CATEGORIES else "management"


SERVICE_CATEGORIES = frozenset({Category.security, Category.meeting_service, Category.cleaning, Category.canteen,
                                Category.landscaping, Category.epidemic_prevention})

CATEGORY_LABELS = {
    Category.state_assets: _l("State-owned assets"),
    Category.office_buildings: _l("Office buildings"),
    Category.official_vehicles: _l("Official vehicles"),
    Category.energy_saving: _l("Public-institution energy saving"),
    Category.finance: _l("Finance"),
    Category.procurement: _l("Procurement"),
    Category.conservation: _l("Conservation-oriented offices"),
    Category.security: _l("Security"),
    Category.meeting_service: _l("Meeting service"),
    Category.cleaning: _l("Cleaning"),
    Category.canteen: _l("Canteen"),
    Category.landscaping: _l("Landscaping"),
    Category.epidemic_prevention: _l("Epidemic prevention"),
}
CATEGORY_GROUP_LABELS = {"management": _l("Management standards"), "service": _l("Service standards")}


class Level(StrEnum):
    """The ladder the base pushes its standards up: internal → local → industry → national."""

    internal = "internal"
    local = "local"
    industry = "industry"
    national = "national"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {Level.internal: _l("Internal"), Level.local: _l("Local"), Level.industry: _l("Industry"),
                Level.national: _l("National")}


class VersionStatus(StrEnum):
    draft = "draft"
    in_force = "in_force"
    under_revision = "under_revision"  # still in force while a new version is being drafted
    superseded = "superseded"
    abolished = "abolished"

    @property
    def label(self) -> str:
        return str(VERSION_STATUS_LABELS[self])


VERSION_STATUS_LABELS = {
    VersionStatus.draft: _l("Draft"),
    VersionStatus.in_force: _l("In force"),
    VersionStatus.under_revision: _l("Under revision"),
    VersionStatus.superseded: _l("Superseded"),
    VersionStatus.abolished: _l("Abolished"),
}
CURRENT_STATUSES = (VersionStatus.in_force.value, VersionStatus.under_revision.value)
CURRENT_WHERE = "status IN ('in_force','under_revision')"


class StandardStatus(StrEnum):
    """A standard's status follows its versions: the current one's, else draft or abolished."""

    draft = "draft"
    in_force = "in_force"
    under_revision = "under_revision"
    abolished = "abolished"

    @property
    def label(self) -> str:
        return str(VERSION_STATUS_LABELS[VersionStatus(self.value)])


class ReviewStatus(StrEnum):
    open = "open"
    reviewed = "reviewed"

    @property
    def label(self) -> str:
        return str(REVIEW_STATUS_LABELS[self])


REVIEW_STATUS_LABELS = {ReviewStatus.open: _l("Needs review"), ReviewStatus.reviewed: _l("Reviewed")}

# Transitions that make citations of a version's clauses need a look by their owners.
REVIEW_TRANSITIONS = (VersionStatus.under_revision.value, VersionStatus.superseded.value, VersionStatus.abolished.value)


class Standard(TimestampMixin, table=True):
    __tablename__ = "standards_standard"
    __table_args__ = (
        sa.CheckConstraint(_check("category", Category), name="category_valid"),
        sa.CheckConstraint(_check("level", Level), name="level_valid"),
        sa.CheckConstraint(_check("status", StandardStatus), name="status_valid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    category: str = Field(max_length=32, index=True)
    level: str = Field(max_length=16, index=True)
    status: str = Field(default=StandardStatus.draft.value, max_length=16, index=True)
    summary: str = Field(default="", sa_type=sa.Text)
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="RESTRICT", index=True)

    versions: list["StandardVersion"] = Relationship(
        back_populates="standard",
        sa_relationship_kwargs={"lazy": "select", "order_by": "StandardVersion.id", "cascade": "all, delete-orphan"},
    )


class StandardVersion(TimestampMixin, table=True):
    __tablename__ = "standards_version"
    __table_args__ = (
        sa.CheckConstraint(_check("status", VersionStatus), name="status_valid"),
        sa.UniqueConstraint("standard_id", "label"),
        sa.Index("uq_standards_version_one_current", "standard_id", unique=True,
                 sqlite_where=sa.text(CURRENT_WHERE), postgresql_where=sa.text(CURRENT_WHERE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    standard_id: int = Field(foreign_key="standards_standard.id", ondelete="CASCADE", index=True)
    label: str = Field(max_length=64)  # e.g. "2021 版"; the code printed on this edition
    code: str = Field(max_length=64)
    status: str = Field(default=VersionStatus.draft.value, max_length=16, index=True)
    based_on_id: int | None = Field(default=None, foreign_key="standards_version.id", ondelete="SET NULL")
    effective_from: date | None = None
    effective_to: date | None = None
    created_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")

    standard: "Standard" = Relationship(back_populates="versions")
    transitions: list["Transition"] = Relationship(
        sa_relationship_kwargs={"lazy": "select", "order_by": "Transition.id", "cascade": "all, delete-orphan"})


class Transition(SQLModel, table=True):
    """One lifecycle decision on a version: who, when, why (the timeline reads these)."""

    __tablename__ = "standards_transition"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="standards_version.id", ondelete="CASCADE", index=True)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")
    at: datetime = created_field()
    note: str = Field(default="", max_length=500)

    actor: Optional["User"] = Relationship(sa_relationship_kwargs={"lazy": "joined"})  # noqa: UP045


class Clause(SQLModel, table=True):
    """A numbered clause ("5.2.1"). `sort_key` holds the number zero-padded ("0005.0002.0001") so a
    version's clauses list in document order with one ORDER BY."""

    __tablename__ = "standards_clause"
    __table_args__ = (sa.UniqueConstraint("version_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="standards_version.id", ondelete="CASCADE", index=True)
    parent_id: int | None = Field(default=None, foreign_key="standards_clause.id", ondelete="CASCADE", index=True)
    number: str = Field(max_length=32)
    sort_key: str = Field(max_length=80)
    depth: int = 0
    title: str = Field(default="", max_length=300)
    body: str = Field(default="", sa_type=sa.Text)


class Citation(SQLModel, table=True):
    """Another domain's object (a lesson, a question, a scenario step) citing a clause."""

    __tablename__ = "standards_citation"
    __table_args__ = (sa.UniqueConstraint("clause_id", "target_type", "target_id"),
                      sa.Index("ix_standards_citation_target", "target_type", "target_id"))

    id: int | None = Field(default=None, primary_key=True)
    clause_id: int = Field(foreign_key="standards_clause.id", ondelete="RESTRICT", index=True)
    target_type: str = Field(max_length=64)
    target_id: str = Field(max_length=64)
    owner_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL", index=True)
    label: str = Field(default="", max_length=300)
    url: str = Field(default="", max_length=500)
    created_at: datetime = created_field()


class ReviewItem(SQLModel, table=True):
    """'This citation needs a look': made when a cited clause's version is revised or abolished."""

    __tablename__ = "standards_review_item"
    __table_args__ = (
        sa.CheckConstraint(_check("status", ReviewStatus), name="status_valid"),
        sa.CheckConstraint("transition IN ('under_revision','superseded','abolished')", name="transition_valid"),
        sa.UniqueConstraint("citation_id", "version_id", "transition"),
    )

    id: int | None = Field(default=None, primary_key=True)
    citation_id: int = Field(foreign_key="standards_citation.id", ondelete="CASCADE", index=True)
    version_id: int = Field(foreign_key="standards_version.id", ondelete="CASCADE", index=True)
    transition: str = Field(max_length=16)
    owner_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL", index=True)
    status: str = Field(default=ReviewStatus.open.value, max_length=16, index=True)
    created_at: datetime = created_field()
    reviewed_by_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL")
    reviewed_at: datetime | None = datetime_field(nullable=True)
    note: str = Field(default="", max_length=500)

    citation: "Citation" = Relationship(sa_relationship_kwargs={"lazy": "joined"})
    version: "StandardVersion" = Relationship(sa_relationship_kwargs={"lazy": "joined"})


class SearchEntry(SQLModel, table=True):
    """Normalised search text of a standard (clause_id NULL) or of a clause: CJK as overlapping
    bigrams, Latin and digits as lower-case words (see search.py). Indexed by the FTS5 table
    `standards_search_fts` on SQLite (kept in step by triggers made in the migration) and by a GIN
    expression index on PostgreSQL. Neither is in the metadata: migrations/env.py filters them out."""

    __tablename__ = "standards_search_entry"

    id: int | None = Field(default=None, primary_key=True)
    standard_id: int = Field(foreign_key="standards_standard.id", ondelete="CASCADE", index=True)
    version_id: int | None = Field(default=None, foreign_key="standards_version.id", ondelete="CASCADE", index=True)
    clause_id: int | None = Field(default=None, foreign_key="standards_clause.id", ondelete="CASCADE", unique=True)
    title_terms: str = Field(default="", sa_type=sa.Text)
    body_terms: str = Field(default="", sa_type=sa.Text)

