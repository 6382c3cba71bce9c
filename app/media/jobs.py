"""The `media.process` job: renditions for one asset, made by the worker.

The slow part (ffmpeg, Pillow, PDFium) runs before the handler touches its session: on SQLite the
handler's session opens with BEGIN IMMEDIATE, and holding the write lock through a transcode would stop
every other writer (see app/worker/context.py). Everything the work needs is in the payload; progress
goes through `ctx.progress`, which writes the job row in short transactions of its own and raises when
the job was cancelled or taken over.

Idempotent and at-least-once safe: work happens in a fresh temp dir, published by one atomic rename
under the content hash (derived/<sha256>/v1); a retry, a takeover after a killed worker, or a second
asset with the same bytes finds the published manifest and only records the renditions.
"""

from __future__ import annotations

import shutil
from typing import Any

from sqlmodel import Session

from app.core.config import get_settings
from app.core.jobs import JobContext, PermanentJobError, job_handler
from app.media import service
from app.media.models import AssetKind, MediaRendition
from app.media.processing import ProcessingFailed, make_image, make_pdf_pages, make_video, read_manifest, write_manifest
from app.media.storage import MediaStore


def build_renditions(payload: dict[str, Any], ctx: JobContext, store: MediaStore) -> dict[str, Any]:
    """Make (or find) the renditions of the payload's original; returns the manifest. No database."""
    sha256 = str(payload["sha256"])
    published = read_manifest(store.derived_dir(sha256))
    if published is not None:
        return published
    source = store.original_path(sha256)
    if not source.is_file():
        raise PermanentJobError(f"the original file is missing from storage ({sha256})")
    settings = get_settings()
    work = store.work_dir(sha256[:12])

    def report(percent: int, message: str | None) -> None:
        ctx.progress(percent, message)

    try:
        kind = payload.get("kind")
        extra: dict[str, Any] = {}
        if kind == AssetKind.video:
            renditions = make_video(source, work, payload, report, ffmpeg_bin=settings.ffmpeg_binary,
                                    threads=settings.media_ffmpeg_threads, timeout_s=settings.media_transcode_timeout_seconds)
        elif kind == AssetKind.image:
            renditions, extra = make_image(source, work, report)
        elif kind in (AssetKind.pdf, AssetKind.picture_book):
            renditions, extra = make_pdf_pages(source, work, report)
        else:
            raise PermanentJobError(f"unknown media kind {kind!r}")
        write_manifest(work, renditions, extra)
        store.publish_derived(sha256, work)
    except ProcessingFailed as exc:
        raise PermanentJobError(str(exc)) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone already when published (renamed)
    manifest = read_manifest(store.derived_dir(sha256))
    assert manifest is not None
    return manifest


@job_handler(service.PROCESS_JOB, max_attempts=3, timeout_s=get_settings().media_transcode_timeout_seconds + 600)
def process_asset(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    manifest = build_renditions(payload, ctx, MediaStore.default())
    # Only now the database: one short write transaction (committed by the worker when we return).
    renditions = [MediaRendition(asset_id=str(payload["asset_id"]), **item) for item in manifest["renditions"]]
    asset = service.mark_ready(session, str(payload["asset_id"]), renditions, extra=manifest.get("extra") or {})
    return {"asset_id": payload["asset_id"], "renditions": len(renditions), "recorded": asset is not None}
