"""API and form models for the standards library."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from app.standards.models import Category, Level

CODE_PATTERN = r"^[^\s].{0,63}$"


class _Stripped(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class StandardCreate(_Stripped):
    code: str = Field(min_length=1, max_length=64, description="e.g. DB3204/T 1001—2021 or Q/CZJG 003—2024")
    title: str = Field(min_length=1, max_length=200)
    category: Category
    level: Level = Level.internal
    summary: str = Field(default="", max_length=5000)
    version_label: str = Field(default="", max_length=64, description="label of the first draft; the code's year by default")


class StandardUpdate(_Stripped):
    code: str | None = Field(default=None, min_length=1, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    category: Category | None = None
    level: Level | None = None
    summary: str | None = Field(default=None, max_length=5000)


class VersionCreate(_Stripped):
    label: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=64)
    copy_from_id: int | None = Field(default=None, description="copy the clauses of this version; none: start empty")


class ClauseIn(_Stripped):
    number: str = Field(min_length=1, max_length=32, pattern=r"^\d{1,3}(\.\d{1,3}){0,5}$")
    title: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=20000)


class ClauseUpdate(_Stripped):
    title: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=20000)


class ImportIn(BaseModel):
    text: str = Field(min_length=1, max_length=500_000)


class TransitionIn(_Stripped):
    action: str = Field(pattern="^(publish|revise|abolish)$")
    effective: date | None = Field(default=None, description="publish: in force from; abolish: no longer in force from")
    note: str = Field(default="", max_length=500)


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
