"""Input models for the courses services (forms and the API build these)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from app.accounts.models import Tier
from app.core.types import Count, Id, Int4, JsonObject, Line, Text
from app.courses.models import MaterialKind


class _Stripped(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class CurriculumIn(_Stripped):
    title: Line = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=5000)
    tier: Tier
    org_unit_id: Id | None = None
    sort_order: Int4 = 0


class CurriculumPatch(_Stripped):
    """A partial change: only the fields given are changed (`org_unit_id: null` makes it city-wide)."""

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)
    tier: Tier | None = None
    org_unit_id: Id | None = None
    sort_order: Int4 | None = None


class CourseIn(_Stripped):
    title: Line = Field(min_length=1, max_length=200)
    summary: Text = Field(default="", max_length=5000)
    hours: Decimal = Field(default=Decimal("1"), ge=0, le=999, max_digits=4, decimal_places=1)
    is_required: bool = True
    sort_order: Int4 = 0


class ModuleIn(_Stripped):
    title: Line = Field(min_length=1, max_length=200)


class LessonIn(_Stripped):
    title: Line = Field(min_length=1, max_length=200)
    summary: Text = Field(default="", max_length=5000)


class MaterialIn(_Stripped):
    kind: MaterialKind
    title: Line = Field(min_length=1, max_length=200)
    is_required: bool = True
    config: JsonObject = Field(default_factory=dict)


class MaterialUpdate(_Stripped):
    title: Line = Field(min_length=1, max_length=200)
    is_required: bool = True
    config: JsonObject = Field(default_factory=dict)


class EnrolmentIn(BaseModel):
    start_on: date | None = None
    due_on: date | None = None


class RuleIn(BaseModel):
    tier: Tier | None = None
    org_unit_id: Id | None = None
    due_days: Count | None = Field(default=None, gt=0, le=3650)
