"""Media assets, their renditions and resumable upload sessions.

An asset is one uploaded file as somebody's material: its id is a random token (URLs must not be
guessable), its original lives once in content-addressed storage (`sha256`; two assets with the same
bytes share the file and its derived renditions), and the worker fills in renditions. The live state of
processing (progress, failure) is the job's (`core_job`, see service.asset_state); the asset keeps the
outcome once the job succeeded, so a page never needs the job after that.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from app.core.models import TimestampMixin, created_field, datetime_field


def _check(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN (" + ",".join(f"'{v.value}'" for v in values) + ")"


class AssetKind(StrEnum):
    video = "video"
    image = "image"
    pdf = "pdf"
    picture_book = "picture_book"  # a PDF whose pages become a picture book (图册)


class AssetStatus(StrEnum):
    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class RenditionKind(StrEnum):
    hls = "hls"  # the master playlist; variants are listed in meta
    hls_variant = "hls_variant"
    mp4 = "mp4"
    poster = "poster"
    thumbnails = "thumbnails"  # a sprite of frames for the seek bar; meta has the grid and interval
    image = "image"  # a WebP at one width
    page = "page"  # one page of a PDF as a WebP


class UploadStatus(StrEnum):
    open = "open"
    completed = "completed"


class MediaAsset(TimestampMixin, table=True):
    __tablename__ = "media_asset"
    __table_args__ = (
        sa.CheckConstraint(_check("kind", AssetKind), name="kind_valid"),
        sa.CheckConstraint(_check("status", AssetStatus), name="status_valid"),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
    )

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=20)
    status: str = Field(default=AssetStatus.queued.value, max_length=20, index=True)
    progress: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    owner_id: int = Field(foreign_key="accounts_user.id", index=True)
    title: str = Field(max_length=200)
    original_name: str = Field(default="", max_length=255)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int = Field(sa_type=sa.BigInteger)
    mime_type: str = Field(max_length=100)
    container: str = Field(default="", max_length=100)  # the probed format name
    probe: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    page_count: int | None = None
    job_id: int | None = Field(default=None, foreign_key="core_job.id", ondelete="SET NULL")
    ready_at: datetime | None = datetime_field(nullable=True)


class MediaRendition(SQLModel, table=True):
    __tablename__ = "media_rendition"
    __table_args__ = (
        sa.UniqueConstraint("asset_id", "kind", "label"),
        sa.CheckConstraint(_check("kind", RenditionKind), name="kind_valid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    asset_id: str = Field(foreign_key="media_asset.id", ondelete="CASCADE", index=True, max_length=32)
    kind: str = Field(max_length=20)
    label: str = Field(max_length=40)  # "720p", "w640", "p0003"
    path: str = Field(max_length=300)  # relative to the derived directory of the asset's sha256
    mime_type: str = Field(max_length=100)
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None
    size_bytes: int | None = Field(default=None, sa_type=sa.BigInteger)
    position: int = 0
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MediaUpload(SQLModel, table=True):
    """A resumable upload: chunks land in a part file; `received` is how many bytes are safely on disk."""

    __tablename__ = "media_upload"
    __table_args__ = (
        sa.CheckConstraint(_check("status", UploadStatus), name="status_valid"),
        sa.CheckConstraint("received >= 0 AND received <= size_bytes", name="received_range"),
    )

    id: str = Field(primary_key=True, max_length=32)
    owner_id: int = Field(foreign_key="accounts_user.id", ondelete="CASCADE", index=True)
    filename: str = Field(default="", max_length=255)
    title: str = Field(default="", max_length=200)
    requested_kind: str | None = Field(default=None, max_length=20)
    size_bytes: int = Field(sa_type=sa.BigInteger)
    received: int = Field(default=0, sa_type=sa.BigInteger)
    status: str = Field(default=UploadStatus.open.value, max_length=20)
    asset_id: str | None = Field(default=None, foreign_key="media_asset.id", ondelete="SET NULL", max_length=32)
    created_at: datetime = created_field()
    expires_at: datetime = datetime_field(index=True)
