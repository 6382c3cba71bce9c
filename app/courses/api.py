"""Courses: courses routes (being built)."""

from __future__ import annotations

from app.core.routing import make_router

router = make_router(prefix="/api/v1", tags=["courses"])
