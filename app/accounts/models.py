"""Org units, users, roles, sessions, API tokens, sign-in failures and the audit log."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, Relationship, SQLModel

from app.core.i18n import lazy_gettext as _l
from app.core.models import TimestampMixin, created_field, datetime_field


class Tier(StrEnum):
    decision = "decision"
    management = "management"
    execution = "execution"

    @property
    def label(self) -> str:
        return str(TIER_LABELS[self])


TIER_LABELS = {Tier.decision: _l("Decision tier"), Tier.management: _l("Management tier"), Tier.execution: _l("Execution tier")}


class Role(StrEnum):
    trainee = "trainee"
    instructor = "instructor"
    examiner = "examiner"
    coordinator = "coordinator"
    district_admin = "district_admin"
    admin = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.trainee: _l("Trainee"),
    Role.instructor: _l("Instructor"),
    Role.examiner: _l("Examiner"),
    Role.coordinator: _l("Delegation coordinator"),
    Role.district_admin: _l("District administrator"),
    Role.admin: _l("Administrator"),
}


class OrgUnitKind(StrEnum):
    bureau = "bureau"  # 市机关事务管理局
    department = "department"  # 局机关处室
    district = "district"  # 辖市区
    unit = "unit"  # 单位

    @property
    def label(self) -> str:
        return str(ORG_KIND_LABELS[self])


ORG_KIND_LABELS = {
    OrgUnitKind.bureau: _l("Bureau"),
    OrgUnitKind.department: _l("Department"),
    OrgUnitKind.district: _l("District"),
    OrgUnitKind.unit: _l("Unit"),
}


class OrgUnit(TimestampMixin, table=True):
    """A node of the organisation tree. `path` is the materialised chain of zero-padded ids
    ("/00000001/00000004/") so that a subtree is one indexed prefix query on both databases."""

    __tablename__ = "accounts_org_unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="accounts_org_unit.id", ondelete="RESTRICT", index=True)
    path: str = Field(default="/", max_length=500, index=True)
    sort_order: int = 0
    is_active: bool = True

    parent: Optional["OrgUnit"] = Relationship(  # noqa: UP045 (SQLAlchemy resolves the string)
        sa_relationship_kwargs={"remote_side": "OrgUnit.id", "lazy": "select"}
    )

    @property
    def depth(self) -> int:
        return max(0, self.path.count("/") - 2)

    @property
    def chain_ids(self) -> list[int]:
        """The ids of the units from the root down to this one, read off `path`."""
        return [int(p) for p in self.path.strip("/").split("/") if p]


class User(TimestampMixin, table=True):
    __tablename__ = "accounts_user"
    __table_args__ = (sa.CheckConstraint("tier IN ('decision','management','execution')", name="tier_valid"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str | None = Field(default=None, max_length=255)
    org_unit_id: int = Field(foreign_key="accounts_org_unit.id", ondelete="RESTRICT", index=True)
    tier: str = Field(default=Tier.execution.value, max_length=20, index=True)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    employee_no: str | None = Field(default=None, max_length=64)
    is_active: bool = Field(default=True, index=True)
    must_change_password: bool = False
    # Demo accounts share a published password; it is accepted only while demo mode is on.
    is_demo: bool = False
    locale: str | None = Field(default=None, max_length=10)
    last_login_at: datetime | None = datetime_field(nullable=True)

    org_unit: "OrgUnit" = Relationship(sa_relationship_kwargs={"lazy": "joined"})
    role_links: list["UserRole"] = Relationship(
        back_populates="user", sa_relationship_kwargs={"lazy": "selectin", "cascade": "all, delete-orphan"}
    )

    @property
    def roles(self) -> set[str]:
        return {link.role for link in self.role_links}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class UserRole(SQLModel, table=True):
    __tablename__ = "accounts_user_role"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('trainee','instructor','examiner','coordinator','district_admin','admin')", name="role_valid"
        ),
    )

    user_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="CASCADE", primary_key=True)
    role: str = Field(max_length=20, primary_key=True)

    user: "User" = Relationship(back_populates="role_links")


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random id; the row stores only its digest."""

    __tablename__ = "accounts_session"

    id: int | None = Field(default=None, primary_key=True)
    token_digest: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_field()
    last_seen_at: datetime = datetime_field()
    expires_at: datetime = datetime_field()
    idle_timeout_s: int
    kiosk: bool = False
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    revoked_at: datetime | None = datetime_field(nullable=True)
    revoked_reason: str | None = Field(default=None, max_length=100)


class ApiToken(SQLModel, table=True):
    __tablename__ = "accounts_api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_digest: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_field()
    expires_at: datetime = datetime_field()
    last_used_at: datetime | None = datetime_field(nullable=True)
    revoked_at: datetime | None = datetime_field(nullable=True)


class LoginFailureKind(StrEnum):
    signin = "signin"  # a sign-in (page or API token)
    password_check = "password_check"  # noqa: S105 (a kind of record: the current password on the password page)


class LoginFailure(SQLModel, table=True):
    """A wrong password, counted per account, per device and per address for throttling (app/accounts/
    throttle.py). In the database so that the limits hold across web processes."""

    __tablename__ = "accounts_login_failure"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('signin','password_check')", name="kind_valid"),
        sa.Index("ix_accounts_login_failure_username_at", "username", "at"),
        sa.Index("ix_accounts_login_failure_ip_at", "ip", "at"),
        sa.Index("ix_accounts_login_failure_device_at", "device", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=LoginFailureKind.signin.value, max_length=20)
    username: str = Field(max_length=64)  # as typed, lower case: also names that do not exist
    ip: str = Field(max_length=64)
    device: str | None = Field(default=None, max_length=32)  # the id in the signed device cookie, if any
    # The attempt came from a device the account has signed in on before: it counts toward that device
    # only, never toward locking the account against everybody else.
    known_device: bool = False
    # It came from a kiosk an administrator registered: that device answers for its own failures, which
    # do not count toward slowing down its address.
    kiosk: bool = False
    at: datetime = datetime_field(index=True)


class AuditLog(SQLModel, table=True):
    __tablename__ = "accounts_audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_field()
    actor_id: int | None = Field(default=None, foreign_key="accounts_user.id", ondelete="SET NULL", index=True)
    actor_name: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    target_type: str | None = Field(default=None, max_length=64)
    target_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# Audit actions and how they read on the audit page. A new action without a label shows its code.
AUDIT_ACTION_LABELS = {
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Failed sign-in"),
    "auth.token_issued": _l("API token issued"),
    "auth.password_check_failed": _l("Wrong current password when changing password"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.roles_changed": _l("Roles changed"),
    "user.deactivate": _l("User deactivated"),
    "user.activate": _l("User reactivated"),
    "user.password_reset": _l("Password reset by administrator"),
    "user.password_changed": _l("Password changed"),
    "user.import": _l("Users imported"),
    "org_unit.create": _l("Unit created"),
    "org_unit.update": _l("Unit changed"),
    "device.kiosk_enabled": _l("Device marked as kiosk"),
    "device.kiosk_disabled": _l("Kiosk marking removed"),
}
