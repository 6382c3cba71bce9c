"""JSON API under /api/v1/media: uploads (single request, or resumable in chunks) and asset state.

Upload routes are `async` and read the body themselves (see receive.py). Before the first byte is read
they end the transaction the access check opened: on SQLite a write request holds the database's write
lock from BEGIN IMMEDIATE, and must not keep it for the minutes a large upload takes. Validation
(ffprobe, Pillow, PDFium) also runs before the asset is written, so the write transaction stays short.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Header, Query, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.access import CurrentUser, allow
from app.accounts.models import User
from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import Page
from app.core.routing import DbSession, body_limit, make_router
from app.core.types import Line, Offset
from app.media import permissions, service
from app.media.models import MediaAsset, MediaRendition, UploadStatus
from app.media.receive import MULTIPART_OVERHEAD, receive_chunk, receive_multipart
from app.media.schemas import AcceptedOut, AssetOut, RenditionOut, UploadCreate, UploadOut
from app.media.storage import MediaStore, StagedFile, TooLarge, hash_file
from app.media.validation import MediaRejected, inspect

router = make_router(prefix="/api/v1/media", tags=["media"])
MANAGERS = permissions.MANAGER_ROLES
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")

MULTIPART_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}, "title": {"type": "string", "maxLength": 200},
                   "kind": {"type": "string", "enum": ["picture_book"], "description": "a PDF meant as a picture book"}}}}}}}


def rendition_out(asset: MediaAsset, rendition: MediaRendition) -> RenditionOut:
    return RenditionOut(kind=rendition.kind, label=rendition.label, url=f"/media/{asset.id}/files/{rendition.path}",
                        mime_type=rendition.mime_type, width=rendition.width, height=rendition.height, bitrate=rendition.bitrate,
                        meta=rendition.meta or {})


def asset_out(db: Session, asset: MediaAsset) -> AssetOut:
    state = service.asset_state(db, asset)
    renditions = service.renditions_of(db, asset) if state.status == "ready" else []
    return AssetOut(id=asset.id, kind=asset.kind, title=asset.title, status=state.status, progress=state.progress,
                    error=state.error, duration_s=asset.duration_s, width=asset.width, height=asset.height,
                    page_count=asset.page_count, size_bytes=asset.size_bytes, sha256=asset.sha256, created_at=asset.created_at,
                    renditions=[rendition_out(asset, r) for r in renditions])


def intake(db: Session, user: User, staged: StagedFile, *, filename: str, title: str | None, kind: str | None,
           store: MediaStore) -> MediaAsset:
    """Validate a staged file by content and record it; on any refusal the staged file is deleted."""
    kept = False
    try:
        try:
            info = inspect(staged.path, ffprobe=get_settings().ffprobe_binary)
        except MediaRejected as exc:
            if exc.status == 415:
                raise service.UnsupportedMedia(exc.reason) from exc
            raise ValidationFailed(exc.reason, errors=[{"loc": ["body", "file"], "msg": exc.reason}]) from exc
        asset = service.create_asset(db, user, staged, info, title=title, filename=filename, requested_kind=kind, store=store)
        kept = True
        return asset
    finally:
        if not kept:
            staged.discard()


def upload_body_limit(settings: Any) -> int:
    """Media bodies are large: the file's own limit (enforced while it streams to disk) and the multipart around it."""
    return int(settings.media_max_upload_bytes) + MULTIPART_OVERHEAD


@router.post("", name="api:media_create", status_code=202, response_model=AcceptedOut,
             dependencies=[allow(*MANAGERS), body_limit(upload_body_limit)],
             openapi_extra=MULTIPART_DOC, responses={413: {"description": "too large"}, 415: {"description": "not a usable file"},
                                                     422: {"description": "damaged or incomplete file"}})
async def create(request: Request, db: DbSession, user: CurrentUser) -> AcceptedOut:
    """Upload a video, image (JPEG/PNG/WebP) or PDF as multipart `file` (+ `title`). Processing is queued."""
    await run_in_threadpool(db.commit)  # end the access check's transaction before the slow body
    settings, store = get_settings(), MediaStore.default()
    try:
        received = await receive_multipart(request, store, settings.media_max_upload_bytes)
    except TooLarge as exc:
        raise service.too_large(exc.limit) from exc
    asset = await run_in_threadpool(intake, db, user, received.staged, filename=received.filename,
                                    title=received.fields.get("title"), kind=received.fields.get("kind") or None, store=store)
    return AcceptedOut(id=asset.id, status="queued")


@router.get("", name="api:media_list", response_model=Page[AssetOut], dependencies=[allow(*MANAGERS)])
def list_media(db: DbSession, user: CurrentUser, mine: bool = True, limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[Offset, Query(ge=0)] = 0) -> Page[AssetOut]:
    rows, total = service.list_assets(db, user, mine_only=mine, limit=limit, offset=offset)
    return Page(items=[asset_out(db, a) for a in rows], total=total)


@router.get("/{media_id}", name="api:media", response_model=AssetOut, dependencies=[allow(*MANAGERS)])
def get_media(db: DbSession, user: CurrentUser, media_id: Line) -> AssetOut:
    return asset_out(db, service.get_visible(db, user, media_id))


@router.post("/{media_id}/retry", name="api:media_retry", response_model=AssetOut, dependencies=[allow(*MANAGERS)])
def retry(db: DbSession, user: CurrentUser, media_id: Line) -> AssetOut:
    asset = service.retry(db, user, service.get_visible(db, user, media_id))
    return asset_out(db, asset)


@router.post("/{media_id}/cancel", name="api:media_cancel", response_model=AssetOut, dependencies=[allow(*MANAGERS)])
def cancel(db: DbSession, user: CurrentUser, media_id: Line) -> AssetOut:
    asset = service.cancel(db, user, service.get_visible(db, user, media_id))
    return asset_out(db, asset)


# -- resumable uploads ---------------------------------------------------------------------------

def upload_out(upload: Any) -> UploadOut:
    return UploadOut(id=upload.id, offset=upload.received, size=upload.size_bytes, status=upload.status,
                     chunk_size=get_settings().media_upload_chunk_bytes, asset_id=upload.asset_id)


@router.post("/uploads", name="api:media_upload_create", status_code=201, response_model=UploadOut, dependencies=[allow(*MANAGERS)])
def create_upload(db: DbSession, user: CurrentUser, body: UploadCreate) -> UploadOut:
    """Start a resumable upload: then PUT chunks with `Content-Range: bytes start-end/size`, then complete."""
    return upload_out(service.create_upload(db, user, filename=body.filename, size=body.size, title=body.title, kind=body.kind))


@router.get("/uploads/{upload_id}", name="api:media_upload", response_model=UploadOut, dependencies=[allow(*MANAGERS)])
def get_upload(db: DbSession, user: CurrentUser, upload_id: Line) -> UploadOut:
    """Where to resume: `offset` is how many bytes are safely stored."""
    return upload_out(service.get_upload(db, user, upload_id))


def parse_content_range(value: str | None, size: int) -> tuple[int, int]:
    match = CONTENT_RANGE.match((value or "").strip())
    if not match:
        raise ValidationFailed(_("Send each chunk with a Content-Range header: bytes start-end/size."),
                               errors=[{"loc": ["header", "content-range"], "msg": "bytes start-end/size expected"}])
    start, end, total = (int(g) for g in match.groups())
    if total != size or end < start or end >= size:
        raise ValidationFailed(_("The Content-Range does not fit this upload."),
                               errors=[{"loc": ["header", "content-range"], "msg": f"must lie within 0-{size - 1}/{size}"}])
    return start, end


@router.put("/uploads/{upload_id}", name="api:media_upload_chunk", response_model=UploadOut,
            dependencies=[allow(*MANAGERS), body_limit(upload_body_limit)])
async def put_chunk(request: Request, db: DbSession, user: CurrentUser, upload_id: Line,
                    content_range: Annotated[Line | None, Header()] = None) -> UploadOut:
    """One chunk, raw bytes. Resending a chunk is harmless; a chunk past the stored offset gets 409."""
    upload = await run_in_threadpool(service.get_upload, db, user, upload_id)
    if upload.status != UploadStatus.open:
        raise Conflict(_("This upload is already complete."))
    start, end = parse_content_range(content_range, upload.size_bytes)
    if start > upload.received:
        raise Conflict(_("Chunks must be sent in order: resume from byte %(offset)s.", offset=upload.received))
    await run_in_threadpool(db.commit)  # no transaction while the chunk streams in
    part = MediaStore.default().part_path(upload.id)
    try:
        written = await receive_chunk(request, part, start, end + 1)
    except TooLarge as exc:
        raise ValidationFailed(_("The chunk is longer than its Content-Range says.")) from exc
    upload = await run_in_threadpool(service.record_received, db, upload, start + written)
    return upload_out(upload)


def _complete(db: Session, user: User, upload_id: str) -> AcceptedOut:
    upload = service.get_upload(db, user, upload_id)
    if upload.status == UploadStatus.completed and upload.asset_id:
        return AcceptedOut(id=upload.asset_id, status=service.asset_state(db, service.get_asset(db, upload.asset_id)).status)  # type: ignore[arg-type]
    if upload.received < upload.size_bytes:
        raise Conflict(_("The upload is not complete: %(received)s of %(size)s bytes received.", received=upload.received,
                         size=upload.size_bytes))
    db.commit()  # hashing and probing a large file take a while: no transaction meanwhile
    store = MediaStore.default()
    part = store.part_path(upload.id)
    if not part.is_file():
        raise Conflict(_("The upload is being completed by another request."))
    staged_path = store.tmp_path("upload")
    part.rename(staged_path)  # atomic: a concurrent complete finds no part file
    with staged_path.open("r+b") as fh:
        fh.truncate(upload.size_bytes)
    staged = StagedFile(staged_path, hash_file(staged_path), upload.size_bytes)
    try:
        asset = intake(db, user, staged, filename=upload.filename, title=upload.title, kind=upload.requested_kind, store=store)
    except DomainError as exc:
        # Refused: nothing stays behind, not even the upload session (its bytes are gone already). The
        # route commits this delete although it answers with an error (TransactionalRoute's keep_writes).
        db.rollback()
        db.delete(db.merge(upload))
        exc.keep_writes = True  # type: ignore[attr-defined]
        raise
    service.finish_upload(db, upload, asset)
    return AcceptedOut(id=asset.id, status="queued")


@router.post("/uploads/{upload_id}/complete", name="api:media_upload_complete", status_code=202, response_model=AcceptedOut,
             dependencies=[allow(*MANAGERS)])
def complete_upload(db: DbSession, user: CurrentUser, upload_id: Line) -> AcceptedOut:
    """Validate the assembled file and queue its processing (202 as `POST /api/v1/media`). Repeating it is safe."""
    return _complete(db, user, upload_id)
