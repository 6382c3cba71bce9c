"""API and form models for accounts."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from app.accounts.models import Role, Tier
from app.core.types import Id, Int4, Line, Text


class OrgUnitRef(BaseModel):
    id: str
    name: str
    path: str


class MeOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    tier: str
    org_unit: OrgUnitRef


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    tier: str
    org_unit: OrgUnitRef
    is_active: bool


class OrgUnitOut(BaseModel):
    id: str
    code: str
    name: str
    kind: str
    parent_id: str | None
    path: str


class UserCreate(BaseModel):
    username: Line = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: Line = Field(min_length=1, max_length=100)
    org_unit_id: Id
    tier: Tier = Tier.execution
    roles: list[Role] = Field(default_factory=lambda: [Role.trainee])
    phone: Line | None = Field(default=None, max_length=32)
    email: Line | None = Field(default=None, max_length=200)
    employee_no: Line | None = Field(default=None, max_length=64)
    password: Text | None = Field(default=None, min_length=8, max_length=128)

    @field_validator("display_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class UserUpdate(BaseModel):
    display_name: Line | None = Field(default=None, min_length=1, max_length=100)
    org_unit_id: Id | None = None
    tier: Tier | None = None
    roles: list[Role] | None = None
    phone: Line | None = Field(default=None, max_length=32)
    email: Line | None = Field(default=None, max_length=200)
    employee_no: Line | None = Field(default=None, max_length=64)
    is_active: bool | None = None


class OrgUnitCreate(BaseModel):
    code: Line = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: Line = Field(min_length=1, max_length=200)
    kind: Line = Field(pattern="^(bureau|department|district|unit)$")
    parent_id: Id | None = None
    sort_order: Int4 = 0
