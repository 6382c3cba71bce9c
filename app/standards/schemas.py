"""API and form models for the standards library."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from app.core.types import Id, Line, Text
from app.standards.models import Category, Level

CODE_PATTERN = r"^[^\s].{0,63}$"


class _Stripped(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class StandardCreate(_Stripped):
    code: Line = Field(min_length=1, max_length=64, description="e.g. DB3204/T 1001—2021 or Q/CZJG 003—2024")
    title: Line = Field(min_length=1, max_length=200)
    category: Category
    level: Level = Level.internal
    summary: Text = Field(default="", max_length=5000)
    version_label: Line = Field(default="", max_length=64, description="label of the first draft; the code's year by default")


class StandardUpdate(_Stripped):
    code: Line | None = Field(default=None, min_length=1, max_length=64)
    title: Line | None = Field(default=None, min_length=1, max_length=200)
    category: Category | None = None
    level: Level | None = None
    summary: Text | None = Field(default=None, max_length=5000)


class VersionCreate(_Stripped):
    label: Line = Field(min_length=1, max_length=64)
    code: Line = Field(min_length=1, max_length=64)
    copy_from_id: Id | None = Field(default=None, description="copy the clauses of this version; none: start empty")


class ClauseIn(_Stripped):
    number: Line = Field(min_length=1, max_length=32, pattern=r"^\d{1,3}(\.\d{1,3}){0,5}$")
    title: Line = Field(default="", max_length=300)
    body: Text = Field(default="", max_length=20000)


class ClauseUpdate(_Stripped):
    title: Line = Field(default="", max_length=300)
    body: Text = Field(default="", max_length=20000)


# A text import (up to 500,000 characters) sent as JSON or as a form: what its request may weigh (core/routing.body_limit).
IMPORT_BODY_LIMIT = 6 * 1024 * 1024


class ImportIn(BaseModel):
    text: Text = Field(min_length=1, max_length=500_000)


class TransitionIn(_Stripped):
    action: Line = Field(pattern="^(publish|revise|abolish)$")
    effective: date | None = Field(default=None, description="publish: in force from; abolish: no longer in force from")
    note: Text = Field(default="", max_length=500)


# --- output -------------------------------------------------------------------------------------


class UserRef(BaseModel):
    id: str
    display_name: str


class TransitionOut(BaseModel):
    from_status: str
    to_status: str
    at: datetime
    actor: UserRef | None
    note: str


class VersionOut(BaseModel):
    id: str
    label: str
    code: str
    status: str
    effective_from: date | None
    effective_to: date | None
    based_on_id: str | None
    transitions: list[TransitionOut]


class StandardOut(BaseModel):
    id: str
    code: str
    title: str
    category: str
    level: str
    status: str
    summary: str
    owner: UserRef


class StandardDetailOut(StandardOut):
    versions: list[VersionOut]


class ClauseOut(BaseModel):
    id: str
    number: str
    parent_id: str | None
    depth: int
    title: str
    body: str


class SearchHitOut(BaseModel):
    standard: StandardOut
    clause: ClauseOut | None
    version_id: str | None
    snippet: str = Field(description="HTML with the query's words in <mark>")


class ReviewItemOut(BaseModel):
    id: str
    status: str
    transition: str
    created_at: datetime
    citation_label: str
    citation_url: str
    target_type: str
    target_id: str
    clause_number: str
    standard_code: str
    version_id: str
