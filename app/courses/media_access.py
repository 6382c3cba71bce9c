"""The courses side of media authorization: a trainee may fetch an asset's files (HLS playlists and
segments, MP4, poster, picture-book pages) only when the asset is used by a video or picture-book
material of a published version they have started learning.

app.media cannot import courses (it is lower in the layering), so it asks the checks that higher
domains register with `register_viewer_check`. This module registers ours when it is imported; the
lesson player's views import it, so it is registered wherever media is served by the web app.
Owners, instructors and administrators are allowed by media itself and never get here.

Cost: one query per request (the versions of the user's started enrolments, snapshot column
deferred); the asset ids of a version are computed once per process from its immutable snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.cache import ImmutableCache
from app.courses import learning, materials
from app.courses.models import CourseVersion, Enrolment
from app.media import service as media
from app.media.models import MediaAsset

_WITHOUT_SNAPSHOT = defer(CourseVersion.snapshot)  # type: ignore[arg-type]
_ASSETS: ImmutableCache[frozenset[str]] = ImmutableCache("course version media assets", maxsize=1024)


def assets_of_snapshot(snapshot: dict[str, Any]) -> frozenset[str]:
    """The media asset ids a published version shows to its trainees (videos, picture-book pages)."""
    ids: set[str] = set()
    for module in snapshot.get("modules", []):
        for lesson in module.get("lessons", []):
            for material in lesson.get("materials", []):
                # "<asset id>#p3" is page 3 of a PDF: the whole asset's files are granted
                ids.update(materials.asset_ids(str(material.get("kind")), material.get("config") or {}))
    return frozenset(ids)


def _assets_of(session: Session, version: CourseVersion) -> frozenset[str]:
    key = (version.id, version.course_id, version.number, version.published_at)
    return _ASSETS.get(session, key, lambda: assets_of_snapshot(learning.snapshot_of(session, version)))


def enrolled_viewer(session: Session, user: User, asset: MediaAsset) -> bool:
    """Media viewer check: `asset` is in a version `user` has started (their enrolment is pinned to it)."""
    versions = session.exec(select(CourseVersion).options(_WITHOUT_SNAPSHOT)
                            .join(Enrolment, col(Enrolment.version_id) == CourseVersion.id)
                            .where(Enrolment.user_id == user.id, col(Enrolment.started_at).is_not(None))).all()
    return any(asset.id in _assets_of(session, version) for version in versions)


media.register_viewer_check(enrolled_viewer)
