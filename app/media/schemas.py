"""API models for media assets and resumable uploads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.core.types import ByteSize, Line


class AcceptedOut(BaseModel):
    id: str
    status: str


class RenditionOut(BaseModel):
    kind: str
    label: str
    url: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class AssetOut(BaseModel):
    id: str
    kind: str
    title: str
    status: str
    progress: int
    error: str | None
    duration_s: float | None
    width: int | None = None
    height: int | None = None
    page_count: int | None = None
    size_bytes: int
    sha256: str
    created_at: datetime
    renditions: list[RenditionOut]


class UploadCreate(BaseModel):
    filename: Line = Field(default="", max_length=255)
    size: ByteSize = Field(gt=0, description="the file's total size in bytes")
    title: Line = Field(default="", max_length=200)
    kind: Line | None = Field(default=None, description="optional: picture_book for a PDF meant as a picture book")


class UploadOut(BaseModel):
    id: str
    offset: int = Field(description="bytes received so far: send the next chunk from here")
    size: int
    chunk_size: int
    status: str
    asset_id: str | None = None
