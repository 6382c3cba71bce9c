"""The media.process job: real ffmpeg/Pillow/PDFium runs on tiny files, progress, idempotency, cancel."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.jobs import Job, JobCancelled, get_handler
from app.media import service
from app.media.jobs import build_renditions
from app.media.models import MediaAsset, RenditionKind
from app.media.storage import MediaStore
from tests.media.conftest import needs_ffmpeg, post_file

pytestmark = pytest.mark.usefixtures("clean_media")


class FakeContext:
    job_id = 1
    attempt = 1

    def __init__(self, cancel_at: int | None = None) -> None:
        self.reports: list[int] = []
        self.cancel_at = cancel_at

    def progress(self, percent: int, message: str | None = None) -> None:
        self.reports.append(percent)
        if self.cancel_at is not None and percent >= self.cancel_at:
            raise JobCancelled("cancelled")


def run_job(session: Session, asset: MediaAsset, ctx: FakeContext | None = None) -> dict[str, object]:
    job = session.get(Job, asset.job_id)
    assert job is not None
    spec = get_handler(job.kind)
    assert spec is not None
    result = spec.func(session, dict(job.payload), ctx or FakeContext())
    assert result is not None
    return result


def upload(client: TestClient, headers: dict[str, str], path: Path, session: Session, **fields: str) -> MediaAsset:
    r = post_file(client, headers, path, **fields)
    assert r.status_code == 202, r.text
    asset = session.get(MediaAsset, r.json()["id"])
    assert asset is not None
    return asset


@needs_ffmpeg
def test_video_end_to_end(client: TestClient, session: Session, instructor_api: dict[str, str], media_files: dict[str, Path]) -> None:
    asset = upload(client, instructor_api, media_files["video"], session)
    ctx = FakeContext()
    run_job(session, asset, ctx)
    session.commit()
    assert ctx.reports[0] == 0 and ctx.reports[-1] >= 90 and ctx.reports == sorted(ctx.reports)
    data = client.get(f"/api/v1/media/{asset.id}", headers=instructor_api).json()
    assert data["status"] == "ready" and data["progress"] == 100 and data["error"] is None
    kinds = {(r["kind"], r["label"]) for r in data["renditions"]}
    assert {("hls", "master"), ("hls_variant", "240p"), ("mp4", "240p"), ("poster", "poster"), ("thumbnails", "strip")} <= kinds
    derived = MediaStore.default().derived_dir(asset.sha256)
    master = (derived / "hls" / "master.m3u8").read_text()
    assert "240p/index.m3u8" in master
    variant = (derived / "hls" / "240p" / "index.m3u8").read_text()
    assert "#EXT-X-ENDLIST" in variant and "seg_00000.ts" in variant
    strip = next(r for r in data["renditions"] if r["kind"] == "thumbnails")
    assert strip["meta"]["count"] == 2 and strip["url"].startswith(f"/media/{asset.id}/files/")
    for r in data["renditions"]:  # every rendition URL the API hands out is served (poster, MP4, strip, playlists)
        assert client.get(r["url"], headers=instructor_api).status_code == 200, r["url"]


@needs_ffmpeg
def test_rerun_and_duplicate_reuse_published_renditions(client: TestClient, session: Session, instructor_api: dict[str, str],
                                                        media_files: dict[str, Path]) -> None:
    """A retry, a takeover after a killed worker, or the same bytes uploaded again: no second transcode."""
    first = upload(client, instructor_api, media_files["video_silent_webm"], session)
    run_job(session, first, FakeContext())
    again = FakeContext()
    run_job(session, first, again)
    assert again.reports == []  # found the manifest, did no work
    second = upload(client, instructor_api, media_files["video_silent_webm"], session, title="copy")
    run_job(session, second, FakeContext())
    session.commit()
    assert len(service.renditions_of(session, first)) == len(service.renditions_of(session, second)) >= 5
    assert not [p for p in (MediaStore.default().root / "tmp").rglob("work-*")]


@needs_ffmpeg
def test_cancel_kills_ffmpeg_and_publishes_nothing(client: TestClient, session: Session, instructor_api: dict[str, str],
                                                   media_files: dict[str, Path]) -> None:
    asset = upload(client, instructor_api, media_files["video"], session)
    job = session.get(Job, asset.job_id)
    assert job is not None
    with pytest.raises(JobCancelled):
        build_renditions(dict(job.payload), FakeContext(cancel_at=0), MediaStore.default())
    assert not MediaStore.default().derived_dir(asset.sha256).exists()
    assert not [p for p in (MediaStore.default().root / "tmp").rglob("work-*")]


def test_image_renditions_are_stripped_webp(client: TestClient, session: Session, instructor_api: dict[str, str],
                                            media_files: dict[str, Path]) -> None:
    from PIL import Image

    asset = upload(client, instructor_api, media_files["jpeg"], session)
    run_job(session, asset)
    renditions = service.renditions_of(session, asset)
    assert [(r.kind, r.label, r.width) for r in renditions] == [("image", "w320", 320), ("image", "w640", 640), ("image", "w800", 800)]
    derived = MediaStore.default().derived_dir(asset.sha256)
    for r in renditions:
        with Image.open(derived / r.path) as img:
            assert img.format == "WEBP"
            assert not img.getexif() and "exif" not in img.info and "xmp" not in img.info
    with Image.open(media_files["jpeg"]) as original:
        assert original.getexif().get(0x8825)  # the fixture did carry GPS
    served = client.get(f"/media/{asset.id}/files/{renditions[1].path}", headers=instructor_api)  # a top-level file
    assert served.status_code == 200 and served.content[8:12] == b"WEBP"


def test_pdf_pages_with_progress(client: TestClient, session: Session, instructor_api: dict[str, str],
                                 media_files: dict[str, Path]) -> None:
    asset = upload(client, instructor_api, media_files["pdf"], session, kind="picture_book")
    ctx = FakeContext()
    run_job(session, asset, ctx)
    pages = [r for r in service.renditions_of(session, asset) if r.kind == RenditionKind.page]
    assert [p.label for p in pages] == ["p0001", "p0002"] and abs((pages[0].width or 0) - 1600) <= 1
    assert ctx.reports == [50, 100]


def test_failed_job_shows_its_reason(client: TestClient, session: Session, instructor_api: dict[str, str],
                                     media_files: dict[str, Path]) -> None:
    asset = upload(client, instructor_api, media_files["png"], session)
    job = session.get(Job, asset.job_id)
    assert job is not None
    job.status, job.error, job.attempts = "failed", "PermanentJobError: ffmpeg exited with 1: broken\n\nTraceback…", 1
    session.add(job)
    session.commit()
    data = client.get(f"/api/v1/media/{asset.id}", headers=instructor_api).json()
    assert data["status"] == "failed" and data["error"] == "ffmpeg exited with 1: broken"
    r = client.post(f"/api/v1/media/{asset.id}/retry", headers=instructor_api)
    assert r.status_code == 200 and r.json()["status"] == "queued"
    r = client.post(f"/api/v1/media/{asset.id}/cancel", headers=instructor_api)
    assert r.status_code == 200
    data = client.get(f"/api/v1/media/{asset.id}", headers=instructor_api).json()
    assert data["status"] == "failed" and "cancelled" in data["error"].lower() or "取消" in data["error"]
    assert client.post(f"/api/v1/media/{asset.id}/cancel", headers=instructor_api).status_code == 409


def test_running_job_progress_is_shown(client: TestClient, session: Session, instructor_api: dict[str, str],
                                       media_files: dict[str, Path]) -> None:
    asset = upload(client, instructor_api, media_files["png"], session)
    job = session.get(Job, asset.job_id)
    assert job is not None
    job.status, job.progress = "running", 42
    session.add(job)
    session.commit()
    data = client.get(f"/api/v1/media/{asset.id}", headers=instructor_api).json()
    assert (data["status"], data["progress"]) == ("processing", 42)
