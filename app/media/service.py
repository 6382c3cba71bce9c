"""Media rules and queries: creating assets from received files, their live state, retry and cancel,
resumable upload sessions, and who may view an asset.

Visibility: the owner, instructors and administrators always; anyone else only when a registered
viewer check says yes. Higher domains (courses: a trainee enrolled in a lesson that uses the asset)
register theirs with `register_viewer_check`, so media never imports them.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.scope import CHANGE, READ, related
from app.core import jobs
from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.jobs import Job, JobStatus
from app.core.models import utcnow
from app.media import permissions
from app.media.models import AssetKind, AssetStatus, MediaAsset, MediaRendition, MediaUpload, UploadStatus
from app.media.storage import MediaStore, StagedFile, StagingWriter
from app.media.validation import MediaInfo, MediaRejected, inspect

PROCESS_JOB = "media.process"
TITLE_MAX = 200


class UploadTooLarge(DomainError):
    status_code = 413
    code = "upload-too-large"
    title = N_("The upload is too large")


class UnsupportedMedia(DomainError):
    status_code = 415
    code = "unsupported-media"
    title = N_("This kind of file is not supported")


def too_large(limit: int) -> UploadTooLarge:
    gib = limit / 1024**3
    size = f"{gib:.1f} GB" if gib >= 1 else f"{limit / 1024**2:.0f} MB"
    return UploadTooLarge(_("The file is larger than the limit of %(size)s. Please compress it or split it.", size=size))


# -- visibility ----------------------------------------------------------------------------------

ViewerCheck = Callable[[Session, User, MediaAsset], bool]
_VIEWER_CHECKS: list[ViewerCheck] = []


def register_viewer_check(check: ViewerCheck) -> ViewerCheck:
    """Let a higher domain grant viewing (e.g. courses: the asset is in a lesson the user may open)."""
    if check not in _VIEWER_CHECKS:
        _VIEWER_CHECKS.append(check)
    return check


def unregister_viewer_check(check: ViewerCheck) -> None:
    with contextlib.suppress(ValueError):
        _VIEWER_CHECKS.remove(check)


def can_view(db: Session, user: User | None, asset: MediaAsset) -> bool:
    if user is None:
        return False
    return permissions.ASSET.allows(db, user, asset, READ) or any(check(db, user, asset) for check in _VIEWER_CHECKS)


def get_asset(db: Session, asset_id: str) -> MediaAsset | None:
    """The system's own load (the worker, an embedding already authorized): no caller's rule applies."""
    if not asset_id or len(asset_id) > 32:
        return None
    return related(db, MediaAsset, asset_id)  # type: ignore[arg-type]


def existing_asset_ids(db: Session, ids: set[str]) -> set[str]:
    """Which of these ids name an asset (whoever owns it)."""
    if not ids:
        return set()
    return set(db.exec(select(col(MediaAsset.id)).where(col(MediaAsset.id).in_(ids))).all())


def get_visible(db: Session, user: User | None, asset_id: str) -> MediaAsset:
    """The asset, or NotFound: a person who may not see it learns nothing, not even that it exists. Staff
    through ASSET's READ rule; anybody else only through a viewer hook (the asset is in something they
    may open)."""
    if not asset_id or len(asset_id) > 32:
        raise NotFound()
    asset = permissions.ASSET.find(db, user, asset_id, READ)  # type: ignore[arg-type]
    if asset is None and user is not None and _VIEWER_CHECKS:
        candidate = get_asset(db, asset_id)
        asset = candidate if candidate is not None and any(check(db, user, candidate) for check in _VIEWER_CHECKS) else None
    if asset is None:
        raise NotFound()
    return asset


def can_change(db: Session, user: User, asset: MediaAsset) -> bool:
    return permissions.ASSET.allows(db, user, asset, CHANGE)


def get_changeable(db: Session, user: User, asset_id: str) -> MediaAsset:
    """An asset the user may change (ASSET's CHANGE rule): the owner or an administrator; 403 for other
    staff, who see it."""
    asset = get_visible(db, user, asset_id)
    if not permissions.ASSET.allows(db, user, asset, CHANGE):
        raise PermissionDenied()
    return asset


# -- creating ------------------------------------------------------------------------------------

def new_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits, 22 characters


def clean_title(title: str | None, filename: str) -> str:
    text = (title or "").strip() or filename.rsplit(".", 1)[0].strip() or _("Untitled")
    return text[:TITLE_MAX]


def resolve_kind(info: MediaInfo, requested: str | None) -> AssetKind:
    if not requested:
        return info.kind
    try:
        wanted = AssetKind(requested)
    except ValueError as exc:
        raise ValidationFailed(_("Unknown media kind."), errors=[{"loc": ["body", "kind"], "msg": "unknown kind"}]) from exc
    if wanted == info.kind or (wanted == AssetKind.picture_book and info.kind == AssetKind.pdf):
        return wanted
    raise UnsupportedMedia(_("The file is a %(found)s, not a %(wanted)s.", found=info.kind.value, wanted=wanted.value))


def create_asset(db: Session, user: User, staged: StagedFile, info: MediaInfo, *, title: str | None, filename: str,
                 requested_kind: str | None = None, store: MediaStore | None = None, now: datetime | None = None) -> MediaAsset:
    """Record an asset for a validated staged file, queue its processing, and move the file into the store."""
    if not permissions.can_upload(user):
        raise PermissionDenied()
    kind = resolve_kind(info, requested_kind)
    now = now or utcnow()
    asset = MediaAsset(id=new_id(), kind=kind.value, owner_id=user.id or 0, title=clean_title(title, filename),
                       original_name=filename[:255], sha256=staged.sha256, size_bytes=staged.size, mime_type=info.mime_type,
                       container=info.container[:100], probe=info.probe, duration_s=info.duration_s, width=info.width,
                       height=info.height, page_count=info.page_count, created_at=now, updated_at=now)
    db.add(asset)
    db.flush()
    job = jobs.enqueue(db, PROCESS_JOB, job_payload(asset, has_audio=info.has_audio), created_by_id=user.id, now=now)
    asset.job_id = job.id
    db.add(asset)
    db.flush()
    (store or MediaStore.default()).keep(staged)
    return asset


def add_local_file(db: Session, user: User, path: Path, *, title: str | None = None, kind: str | None = None,
                   store: MediaStore | None = None, now: datetime | None = None) -> MediaAsset:
    """Record a file from the server's disk (demo data, imports) as an upload would be: a copy is staged,
    validated by content, and queued for processing. UnsupportedMedia/ValidationFailed when refused."""
    store = store or MediaStore.default()
    settings = get_settings()
    writer = StagingWriter(store, settings.media_max_upload_bytes)
    try:
        with path.open("rb") as fh:
            while block := fh.read(1024 * 1024):
                writer.write(block)
    except BaseException:
        writer.abort()
        raise
    staged = writer.finish()
    kept = False
    try:
        try:
            info = inspect(staged.path, ffprobe=settings.ffprobe_binary)
        except MediaRejected as exc:
            raise (UnsupportedMedia(exc.reason) if exc.status == 415 else ValidationFailed(exc.reason)) from exc
        asset = create_asset(db, user, staged, info, title=title, filename=path.name, requested_kind=kind, store=store, now=now)
        kept = True
        return asset
    finally:
        if not kept:
            staged.discard()


def job_payload(asset: MediaAsset, *, has_audio: bool) -> dict[str, object]:
    """Everything the worker needs before it touches the database (see jobs.py: slow work comes first)."""
    return {"asset_id": asset.id, "sha256": asset.sha256, "kind": asset.kind, "duration_s": asset.duration_s,
            "width": asset.width, "height": asset.height, "has_audio": has_audio, "page_count": asset.page_count}


# -- state ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssetState:
    status: str
    progress: int
    error: str | None
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (AssetStatus.ready, AssetStatus.failed)


def job_error_text(job: Job) -> str:
    if job.status == JobStatus.cancelled:
        return _("Processing was cancelled.")
    first = (job.error or "").strip().splitlines()[0] if job.error else ""
    _type, sep, reason = first.partition(": ")
    return (reason if sep else first) or _("Processing failed.")


def asset_state(db: Session, asset: MediaAsset) -> AssetState:
    """The asset's state for people: its own once ready, else its job's (progress lives on the job row,
    written by the worker in short transactions while ffmpeg runs)."""
    if asset.status == AssetStatus.ready:
        return AssetState(AssetStatus.ready, 100, None)
    job = related(db, Job, asset.job_id) if asset.job_id else None
    if job is None:
        return AssetState(asset.status, asset.progress, asset.error)
    db.refresh(job)
    if job.status == JobStatus.queued:
        retrying = job.attempts > 0 and job.error
        return AssetState(AssetStatus.queued, 0, None, _("Waiting to retry after an error.") if retrying else None)
    if job.status == JobStatus.running:
        return AssetState(AssetStatus.processing, job.progress, None, job.progress_message)
    if job.status in (JobStatus.failed, JobStatus.cancelled):
        return AssetState(AssetStatus.failed, job.progress, job_error_text(job))
    return AssetState(AssetStatus.ready if job.status == JobStatus.succeeded else asset.status, 100, None)


def renditions_of(db: Session, asset: MediaAsset) -> list[MediaRendition]:
    return list(db.exec(select(MediaRendition).where(col(MediaRendition.asset_id) == asset.id)
                        .order_by(col(MediaRendition.kind), col(MediaRendition.position), col(MediaRendition.label))).all())


def list_assets(db: Session, user: User, *, mine_only: bool = True, limit: int = 50, offset: int = 0) -> tuple[list[MediaAsset], int]:
    stmt = permissions.ASSET.select(user, READ)
    if mine_only:
        stmt = stmt.where(col(MediaAsset.owner_id) == user.id)
    total = db.exec(select(sa.func.count()).select_from(stmt.subquery())).one()
    rows = db.exec(stmt.order_by(col(MediaAsset.created_at).desc(), col(MediaAsset.id)).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def retry(db: Session, user: User, asset: MediaAsset, *, now: datetime | None = None) -> MediaAsset:
    if not permissions.ASSET.allows(db, user, asset, CHANGE):
        raise PermissionDenied()
    job = related(db, Job, asset.job_id) if asset.job_id else None
    if asset.status == AssetStatus.ready or job is None or job.status not in (JobStatus.failed, JobStatus.cancelled):
        raise Conflict(_("Only a failed or cancelled processing can be retried."))
    jobs.retry(db, job, now=now)
    asset.status, asset.error, asset.progress = AssetStatus.queued.value, None, 0
    db.add(asset)
    db.flush()
    return asset


def cancel(db: Session, user: User, asset: MediaAsset, *, now: datetime | None = None) -> MediaAsset:
    if not permissions.ASSET.allows(db, user, asset, CHANGE):
        raise PermissionDenied()
    job = related(db, Job, asset.job_id) if asset.job_id else None
    if job is None or job.is_finished:
        raise Conflict(_("This file is not being processed."))
    jobs.request_cancel(db, job, now=now)
    return asset


def mark_ready(db: Session, asset_id: str, renditions: list[MediaRendition], *, extra: dict[str, object] | None = None,
               now: datetime | None = None) -> MediaAsset | None:
    """Called by the worker at the end of processing: replace the renditions, mark the asset ready."""
    asset = related(db, MediaAsset, asset_id)  # type: ignore[arg-type]
    if asset is None:
        return None  # deleted meanwhile; the job has nothing to record
    db.execute(sa.delete(MediaRendition).where(col(MediaRendition.asset_id) == asset_id))
    for rendition in renditions:
        rendition.asset_id = asset_id
        db.add(rendition)
    for key, value in (extra or {}).items():
        setattr(asset, key, value)
    asset.status, asset.progress, asset.error = AssetStatus.ready.value, 100, None
    asset.ready_at = now or utcnow()
    db.add(asset)
    db.flush()
    return asset


# -- resumable uploads ---------------------------------------------------------------------------

def create_upload(db: Session, user: User, *, filename: str, size: int, title: str = "", kind: str | None = None,
                  now: datetime | None = None) -> MediaUpload:
    if not permissions.can_upload(user):
        raise PermissionDenied()
    settings = get_settings()
    if size > settings.media_max_upload_bytes:
        raise too_large(settings.media_max_upload_bytes)
    if size <= 0:
        raise ValidationFailed(_("The file is empty (0 bytes)."), errors=[{"loc": ["body", "size"], "msg": "must be > 0"}])
    if kind:
        try:
            AssetKind(kind)
        except ValueError as exc:
            raise ValidationFailed(_("Unknown media kind."), errors=[{"loc": ["body", "kind"], "msg": "unknown kind"}]) from exc
    now = now or utcnow()
    upload = MediaUpload(id=new_id(), owner_id=user.id or 0, filename=filename[:255], title=(title or "")[:TITLE_MAX],
                         requested_kind=kind or None, size_bytes=size, created_at=now,
                         expires_at=now + timedelta(hours=settings.media_upload_expire_hours))
    db.add(upload)
    db.flush()
    return upload


def get_upload(db: Session, user: User, upload_id: str) -> MediaUpload:
    if not upload_id or len(upload_id) > 32:
        raise NotFound()
    return permissions.UPLOAD.get(db, user, upload_id, CHANGE)  # type: ignore[arg-type]


def record_received(db: Session, upload: MediaUpload, received: int) -> MediaUpload:
    """Move `received` forward only (two retries of one chunk may finish in either order)."""
    db.execute(sa.update(MediaUpload).where(col(MediaUpload.id) == upload.id, col(MediaUpload.received) < received)
               .values(received=received).execution_options(synchronize_session=False))
    db.refresh(upload)
    return upload


def finish_upload(db: Session, upload: MediaUpload, asset: MediaAsset) -> MediaUpload:
    upload.status, upload.asset_id = UploadStatus.completed.value, asset.id
    db.add(upload)
    db.flush()
    return upload


def expired_uploads(db: Session, now: datetime) -> list[MediaUpload]:
    return list(db.exec(select(MediaUpload).where(col(MediaUpload.expires_at) < now)).all())
