"""Shared model pieces: constraint naming convention, aware UTC datetimes, timestamp mixin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Stable, predictable constraint names so that migrations can drop and alter them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    return datetime.now(UTC)


class AwareDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores no offset) and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an aware column; use app.core.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def datetime_field(*, nullable: bool = False, index: bool = False, **kwargs: Any) -> Any:
    return Field(sa_type=AwareDateTime, nullable=nullable, index=index, **kwargs)


def created_field() -> Any:
    return Field(default_factory=utcnow, sa_type=AwareDateTime, nullable=False)


class TimestampMixin(SQLModel):
    created_at: datetime = created_field()
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=AwareDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )
