"""The demo's real media: a generated clip and a Pillow-drawn picture book (a two-page PDF and a PNG),
stored through the media service with their processing queued, used by 视频会议保障; seeding twice
makes nothing new; without ffmpeg the placeholders stay and the seed still succeeds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from sqlmodel import Session, func, select

from app.accounts import demo as accounts_demo
from app.accounts import service as accounts
from app.core.config import get_settings
from app.core.jobs import Job
from app.courses import demo, demo_media
from app.courses.models import Material
from app.media.models import MediaAsset
from app.media.storage import MediaStore
from app.standards import demo as standards_demo

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


@pytest.fixture
def clean_store() -> Iterator[None]:
    yield
    for sub in ("originals", "derived", "tmp"):
        shutil.rmtree(MediaStore.default().root / sub, ignore_errors=True)


def _material(session: Session, title: str) -> Material:
    return session.exec(select(Material).where(Material.title == title)).one()


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg/ffprobe not installed")
@pytest.mark.usefixtures("clean_store")
def test_demo_media_is_real_and_made_once(session: Session) -> None:
    accounts_demo.seed(session)
    standards_demo.seed(session)
    demo.seed(session, media=True)
    clip = _material(session, demo_media.VIDEO_TITLE).config
    video = session.get(MediaAsset, clip["asset_id"])
    assert video is not None and video.kind == "video" and video.width == 640 and clip["duration_s"] == 12
    book = _material(session, "图解：主备切换").config["pages"]
    pdf_id = book[0]["image"].split("#")[0]
    pdf = session.get(MediaAsset, pdf_id)
    assert pdf is not None and pdf.kind == "picture_book" and pdf.page_count == 2
    assert [p["image"] for p in book] == [f"{pdf_id}#p1", f"{pdf_id}#p2", book[2]["image"]]
    png = session.get(MediaAsset, book[2]["image"])
    assert png is not None and png.kind == "image" and all(p["caption"] for p in book)
    queued = session.exec(select(Job).where(Job.kind == "media.process")).all()
    assert {j.id for j in queued} == {video.job_id, pdf.job_id, png.job_id}
    assert MediaStore.default().original_path(video.sha256).is_file()

    assets, jobs = _count(session, MediaAsset), _count(session, Job)
    again = demo.seed(session, media=True)
    assert again["courses_created"] == 0 and _count(session, MediaAsset) == assets and _count(session, Job) == jobs
    # Made again from scratch (a course deleted meanwhile): the assets are found, not stored twice.
    owner = accounts.get_user_by_username(session, "instructor")
    assert owner is not None
    assert demo_media.ensure(session, owner).configs[demo_media.VIDEO_TITLE]["asset_id"] == video.id
    assert _count(session, MediaAsset) == assets


@pytest.mark.usefixtures("clean_store")
def test_without_ffmpeg_the_placeholders_stay(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "ffmpeg_binary", "/nonexistent/ffmpeg")
    accounts_demo.seed(session)
    standards_demo.seed(session)
    stats = demo.seed(session, media=True)
    assert stats["courses_created"] >= 12
    assert _material(session, demo_media.VIDEO_TITLE).config["asset_id"] == "demo-video-vc-test"
    # The picture book needs no ffmpeg: it is real either way.
    assert "#p1" in _material(session, "图解：主备切换").config["pages"][0]["image"]
    assert session.exec(select(MediaAsset).where(MediaAsset.kind == "video")).first() is None


def test_the_test_suite_seeds_without_media(session: Session) -> None:
    accounts_demo.seed(session)
    standards_demo.seed(session)
    demo.seed(session)
    assert _count(session, MediaAsset) == 0
    assert _material(session, "图解：主备切换").config["pages"][0]["image"] == "demo-meeting-3"


def test_the_clip_command_is_safe_without_a_font(tmp_path) -> None:  # type: ignore[no-untyped-def]
    argv = demo_media.video_argv("ffmpeg", tmp_path / "a.mp4", font=None)
    assert "-vf" not in argv and argv[0] == "ffmpeg" and argv[-1].endswith("a.mp4") and "12" in argv
