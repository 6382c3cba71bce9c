"""The video player page, heartbeats, resume, completion through heartbeats, subtitles and the trainees'
media authorization, against the database (both backends). Assets are rows made here: no ffmpeg."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.models import utcnow
from app.courses import learning, publishing, service, structure, video
from app.courses.models import Course, Curriculum, HoursEntry, Material, MaterialProgress
from app.courses.schemas import CourseIn, LessonIn, MaterialIn, ModuleIn
from app.media import service as media
from app.media.models import AssetStatus, MediaAsset, MediaRendition
from app.media.storage import MediaStore
from tests.helpers import csrf_from, login

VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n请将桌签摆放整齐。\n"
DURATION = 100.0


def make_asset(session: Session, owner: User, *, status: str = AssetStatus.ready.value, kind: str = "video",
               duration: float = DURATION) -> MediaAsset:
    asset = MediaAsset(id=media.new_id(), kind=kind, status=status, owner_id=owner.id or 0, title="桌签摆放示范",
                       sha256=secrets.token_hex(32), size_bytes=1000, mime_type="video/mp4", duration_s=duration,
                       width=854, height=480, progress=100 if status == "ready" else 0)
    session.add(asset)
    session.flush()
    if status == AssetStatus.ready:
        for kind_, label, path, mime in (("hls", "master", "hls/master.m3u8", "application/vnd.apple.mpegurl"),
                                         ("mp4", "480p", "fallback.mp4", "video/mp4"), ("poster", "poster", "poster.jpg", "image/jpeg")):
            session.add(MediaRendition(asset_id=asset.id, kind=kind_, label=label, path=path, mime_type=mime))
        session.flush()
    return asset


@dataclass
class VideoCourse:
    course: Course
    lesson_id: int
    text: Material
    video: Material
    asset: MediaAsset


@pytest.fixture
def video_course(session: Session, curriculum: Curriculum, instructor: User, admin: User, trainee: User) -> VideoCourse:
    asset = make_asset(session, instructor)
    course = service.create_course(session, instructor, curriculum, CourseIn(title="会议服务视频课", hours=Decimal("1.5")))
    module = structure.add_module(session, instructor, course, ModuleIn(title="会前准备"))
    lesson = structure.add_lesson(session, instructor, module.id or 0, LessonIn(title="桌签摆放"))
    text = structure.add_material(session, instructor, lesson.id or 0, MaterialIn(kind="text", title="要点", config={"html": "<p>要点</p>"},
                                                                                is_required=False))
    clip = structure.add_material(session, instructor, lesson.id or 0, MaterialIn(kind="video", title="示范", config={
        "asset_id": asset.id, "subtitles": [{"lang": "zh-CN", "label": "中文", "vtt": VTT}]}))
    publishing.publish_course(session, instructor, course)
    learning.enrol(session, admin, course, trainee)
    learning.start(session, trainee, course.id or 0)
    session.commit()
    return VideoCourse(course, lesson.id or 0, text, clip, asset)


@pytest.fixture
def vc(video_course: VideoCourse) -> VideoCourse:
    return video_course


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def beat_url(vc: VideoCourse, material: Material | None = None) -> str:
    return f"/api/v1/lessons/{vc.lesson_id}/materials/{(material or vc.video).id}/heartbeats"


@pytest.fixture
def trainee_client(client: TestClient, trainee: User) -> TestClient:
    login(client, trainee.username)
    client.headers["X-CSRF-Token"] = csrf_from(client, "/")
    return client


def post_beat(client: TestClient, vc: VideoCourse, intervals: list[list[float]], position: float, *, seq: int,
              session_id: str = "browser-1", event: str = "tick") -> Any:
    return client.post(beat_url(vc), json={"session": session_id, "seq": seq, "position": position, "intervals": intervals,
                                           "rate": 1.0, "event": event})


def backdate_first_beat(session: Session, vc: VideoCourse, seconds: float, *, key: str = "first_beat_at") -> None:
    """Pretend the first heartbeat (or with key="first_play_at", the first played second) came `seconds` ago
    (wall clock cannot be waited for in a test)."""
    row = session.exec(select(MaterialProgress).where(MaterialProgress.material_id == vc.video.id)).one()
    session.refresh(row)
    row.state = {**row.state, key: (utcnow() - timedelta(seconds=seconds)).isoformat()}
    session.add(row)
    session.commit()


def test_the_player_page(trainee_client: TestClient, vc: VideoCourse) -> None:
    page = soup(trainee_client.get(f"/learn/lessons/{vc.lesson_id}?item=1"))
    player = page.find(id="video-player")
    assert player is not None and player["data-heartbeat-url"] == beat_url(vc)
    assert player["data-resume"] == "0.0" and player["data-no-seek"] == "false" and player["data-needed"] == "90"
    assert player["data-hls-script"].endswith("/static/vendor/hls.min.js") and player["data-hls-worker"].endswith("hls.worker.js")
    clip = page.find("video", id="video")
    files = f"/media/{vc.asset.id}/files/"
    assert clip["data-hls-src"] == files + "hls/master.m3u8" and clip["data-mp4-src"] == files + "fallback.mp4"
    assert clip["poster"] == files + "poster.jpg" and clip.find("source")["src"] == files + "fallback.mp4"
    track = clip.find("track")
    assert track["srclang"] == "zh-CN" and track["label"] == "中文" and track.has_attr("default")
    vtt = trainee_client.get(track["src"])
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt") and vtt.text == VTT
    assert vtt.headers["x-content-type-options"] == "nosniff"
    assert trainee_client.get(track["src"].replace("/0.vtt", "/1.vtt")).status_code == 404
    assert page.find("script", src="/static/js/player.js") is not None and page.find(id="video-processing") is None


def test_heartbeats_merge_and_resume_anywhere(trainee_client: TestClient, vc: VideoCourse, session: Session) -> None:
    first = post_beat(trainee_client, vc, [], 0, seq=1, event="play")
    assert first.status_code == 200 and first.json()["watched_s"] == 0
    body = post_beat(trainee_client, vc, [[0, 10], [10, 20.5]], 20.5, seq=2).json()
    assert body == {**body, "completed": False, "watched_s": 20.5, "watched_percent": 20, "position": 20.5, "furthest": 20.5,
                    "duration_s": 100.0, "needed_percent": 90}
    again = post_beat(trainee_client, vc, [[0, 10], [10, 20.5]], 20.5, seq=2).json()  # a replay
    assert again == body
    late = post_beat(trainee_client, vc, [[5, 8]], 8, seq=1).json()  # an older beat arriving late: position stays
    assert late["position"] == 20.5 and late["watched_s"] == 20.5
    post_beat(trainee_client, vc, [[20.5, 40]], 40, seq=3, event="pause")
    row = session.exec(select(MaterialProgress).where(MaterialProgress.material_id == vc.video.id)).one()
    session.refresh(row)
    assert row.state["watched"] == [[0, 40]] and row.state["position"] == 40 and row.completed_at is None

    # Another device: the page resumes where the first one stopped.
    other = TestClient(trainee_client.app, follow_redirects=False)
    login(other, "trainee1")
    player = soup(other.get(f"/learn/lessons/{vc.lesson_id}?item=1")).find(id="video-player")
    assert player["data-resume"] == "40.0" and player["data-furthest"] == "40.0"
    assert soup(other.get(f"/learn/lessons/{vc.lesson_id}?item=1")).find(id="video-resume") is not None


def test_seeking_to_the_end_does_not_complete(trainee_client: TestClient, vc: VideoCourse, session: Session) -> None:
    post_beat(trainee_client, vc, [], 0, seq=1, event="play")
    backdate_first_beat(session, vc, 3600)
    post_beat(trainee_client, vc, [[0, 5]], 5, seq=2)
    end = post_beat(trainee_client, vc, [[95, 100]], 100, seq=3, event="ended").json()
    assert end["completed"] is False and end["watched_s"] == 10
    assert soup(trainee_client.get(f"/learn/lessons/{vc.lesson_id}?item=1")).find(id="material-done") is None


def test_watching_completes_once_and_awards_hours_once(trainee_client: TestClient, vc: VideoCourse, session: Session,
                                                       trainee: User) -> None:
    post_beat(trainee_client, vc, [], 0, seq=1, event="play")
    too_fast = post_beat(trainee_client, vc, [[0, 95]], 95, seq=2).json()
    assert too_fast["completed"] is False and too_fast["watched_s"] == 95  # 95 s of video within a second of wall clock
    backdate_first_beat(session, vc, 60, key="first_play_at")  # 60 s >= 100 / 2.0 - 2
    done = post_beat(trainee_client, vc, [[95, 100]], 100, seq=3, event="ended").json()
    assert done["completed"] is True and done["just_completed"] is True and done["course_completed"] is True
    replay = post_beat(trainee_client, vc, [[95, 100]], 100, seq=3, event="ended").json()
    assert replay["completed"] is True and replay["just_completed"] is False
    assert len(session.exec(select(HoursEntry).where(HoursEntry.user_id == trainee.id)).all()) == 1
    page = soup(trainee_client.get(f"/learn/lessons/{vc.lesson_id}?item=1"))
    assert page.find(id="material-done") is not None and page.find(id="lesson-complete") is not None
    assert page.find(id="video-player")["data-resume"] == "0.0"  # finished at the end: starts again from the beginning


def test_prime_then_claim_does_not_complete(trainee_client: TestClient, vc: VideoCourse, session: Session, trainee: User) -> None:
    # The forgery: an empty heartbeat, and later one claiming the whole video. The clock starts at
    # the first played second, so the hour since the empty beat buys nothing.
    post_beat(trainee_client, vc, [], 0, seq=1, event="play")
    backdate_first_beat(session, vc, 3600)
    claim = post_beat(trainee_client, vc, [[0, 100]], 100, seq=2, event="ended").json()
    assert claim["completed"] is False and claim["watched_s"] == 100
    assert claim["wait_s"] == pytest.approx(100 / video.MAX_RATE - video.CLOCK_TOLERANCE_S, abs=1)  # the player asks again then
    assert session.exec(select(HoursEntry).where(HoursEntry.user_id == trainee.id)).first() is None
    # After as long as watching at 2x takes, a heartbeat (even an empty one) completes it.
    backdate_first_beat(session, vc, 100 / video.MAX_RATE - video.CLOCK_TOLERANCE_S, key="first_play_at")
    done = post_beat(trainee_client, vc, [], 100, seq=3).json()
    assert done["completed"] is True and done["just_completed"] is True and done["wait_s"] == 0


def test_one_beat_does_not_complete_a_short_clip(trainee_client: TestClient, vc: VideoCourse, session: Session) -> None:
    asset = session.get(MediaAsset, vc.asset.id)
    assert asset is not None
    asset.duration_s = 12.0  # the demo clip's length
    session.add(asset)
    session.commit()
    forged = post_beat(trainee_client, vc, [[0, 12]], 12, seq=1, event="ended").json()
    assert forged["completed"] is False and forged["watched_percent"] == 100 and forged["wait_s"] > 0
    assert soup(trainee_client.get(f"/learn/lessons/{vc.lesson_id}?item=1")).find(id="video-player")["data-first-tick"] == "1"


def test_no_seek_ignores_stretches_beyond_the_furthest_point(trainee_client: TestClient, vc: VideoCourse, session: Session,
                                                             instructor: User) -> None:
    material = session.get(Material, vc.video.id)
    assert material is not None
    # Published versions are frozen: the flag comes with a new version that the trainee moves to.
    structure.update_material(session, instructor, vc.video.id or 0, service_update(material, no_seek=True))
    publishing.publish_course(session, instructor, vc.course)
    session.commit()
    trainee = session.exec(select(User).where(User.username == "trainee1")).one()
    learning.move_to_latest(session, trainee, vc.course.id or 0)
    session.commit()
    post_beat(trainee_client, vc, [[0, 20]], 20, seq=1)
    skipped = post_beat(trainee_client, vc, [[60, 100]], 100, seq=2).json()
    assert skipped["watched_s"] == 20 and skipped["furthest"] == 20 and skipped["position"] == 20 + video.TOLERANCE_S
    assert soup(trainee_client.get(f"/learn/lessons/{vc.lesson_id}?item=1")).find(id="video-no-seek") is not None


def service_update(material: Material, **config: Any) -> Any:
    from app.courses.schemas import MaterialUpdate

    return MaterialUpdate(title=material.title, is_required=material.is_required, config={**material.config, **config})


@pytest.mark.parametrize(("payload", "loc"), [
    ({"position": -1}, ["body", "position"]),
    ({"intervals": [[-5, 3]]}, ["body", "intervals", 0, 0]),
    ({"intervals": [[0, 500]]}, ["body", "intervals", 0]),
    ({"position": 101.5}, ["body", "position"]),
    ({"intervals": [[5, 1]]}, ["body", "intervals", 0]),
    ({"intervals": [[0, 1]] * 101}, ["body", "intervals"]),
    ({"completed": True}, ["body", "completed"]),
])
def test_bad_heartbeats_are_422_problems(trainee_client: TestClient, vc: VideoCourse, session: Session, payload: dict[str, Any],
                                         loc: list[Any]) -> None:
    body = {"session": "browser-1", "seq": 1, "position": 0, "intervals": [], **payload}
    r = trainee_client.post(beat_url(vc), json=body)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert any(e["loc"][:len(loc)] == loc for e in r.json()["errors"]), r.json()
    assert session.exec(select(MaterialProgress).where(MaterialProgress.material_id == vc.video.id)).first() is None


def test_heartbeats_only_for_videos_of_the_trainee(client: TestClient, vc: VideoCourse, session: Session, user_factory: Any) -> None:
    body = {"session": "browser-1", "seq": 1, "position": 0, "intervals": []}
    login(client, "trainee1")
    token = csrf_from(client, "/")
    assert client.post(beat_url(vc), json=body).status_code == 403  # the session cookie needs the CSRF header
    assert client.post(beat_url(vc, vc.text), json=body, headers={"X-CSRF-Token": token}).status_code == 404
    stranger = user_factory(username="stranger")
    other = TestClient(client.app, follow_redirects=False)
    login(other, stranger.username)
    assert other.post(beat_url(vc), json=body, headers={"X-CSRF-Token": csrf_from(other, "/")}).status_code == 404


def test_a_video_not_ready_yet(trainee_client: TestClient, vc: VideoCourse, session: Session) -> None:
    asset = session.get(MediaAsset, vc.asset.id)
    assert asset is not None
    asset.status = AssetStatus.processing.value
    session.add(asset)
    session.commit()
    page = soup(trainee_client.get(f"/learn/lessons/{vc.lesson_id}?item=1"))
    waiting = page.find(id="video-processing")
    assert waiting is not None and waiting["data-status"] == "processing" and waiting.has_attr("hx-get")
    assert page.find(id="video-player") is None
    r = post_beat(trainee_client, vc, [[0, 5]], 5, seq=1)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


# -- who may fetch the files ------------------------------------------------------------------------

@pytest.fixture
def playlist_on_disk(vc: VideoCourse) -> Iterator[str]:
    directory = MediaStore.default().derived_dir(vc.asset.sha256)
    (directory / "hls").mkdir(parents=True, exist_ok=True)
    (directory / "hls" / "master.m3u8").write_text("#EXTM3U\n")
    yield f"/media/{vc.asset.id}/files/hls/master.m3u8"
    shutil.rmtree(directory.parent, ignore_errors=True)


def test_trainees_see_the_files_of_courses_they_have_started(client: TestClient, vc: VideoCourse, session: Session, admin: User,
                                                           user_factory: Any, instructor: User, playlist_on_disk: str) -> None:
    login(client, "trainee1")
    assert client.get(playlist_on_disk).status_code == 200
    assert client.get(f"/api/v1/media/{vc.asset.id}").status_code == 403  # the management API stays closed

    waiting = user_factory(username="waiting")  # enrolled, not started yet
    learning.enrol(session, admin, vc.course, waiting)
    stranger = user_factory(username="stranger2")
    session.commit()
    for username in ("waiting", "stranger2"):
        other = TestClient(client.app, follow_redirects=False)
        login(other, username)
        assert other.get(playlist_on_disk).status_code == 404
    other_asset = make_asset(session, instructor)
    session.commit()
    assert not media.can_view(session, stranger, vc.asset)
    trainee = session.exec(select(User).where(User.username == "trainee1")).one()
    assert media.can_view(session, trainee, vc.asset) and not media.can_view(session, trainee, other_asset)


def test_picture_book_pages_are_granted_too(session: Session, curriculum: Curriculum, instructor: User, admin: User,
                                            trainee: User) -> None:
    page_asset = make_asset(session, instructor, kind="image")
    course = service.create_course(session, instructor, curriculum, CourseIn(title="图册课", hours=Decimal("1")))
    module = structure.add_module(session, instructor, course, ModuleIn(title="一"))
    lesson = structure.add_lesson(session, instructor, module.id or 0, LessonIn(title="二"))
    structure.add_material(session, instructor, lesson.id or 0, MaterialIn(kind="picture_book", title="图解", config={
        "pages": [{"image": page_asset.id, "caption": "第一步"}]}))
    publishing.publish_course(session, instructor, course)
    learning.enrol(session, admin, course, trainee)
    assert not media.can_view(session, trainee, page_asset)
    learning.start(session, trainee, course.id or 0)
    assert media.can_view(session, trainee, page_asset)


def test_the_video_item_costs_two_queries_more(trainee_client: TestClient, vc: VideoCourse, engine: Any) -> None:
    """The asset and its renditions, on top of the lesson player's budget (tests/courses/test_queries.py)."""
    from tests.courses.test_queries import LESSON_BUDGET, counting

    url = f"/learn/lessons/{vc.lesson_id}?item=1"
    assert trainee_client.get(url).status_code == 200
    with counting(engine) as statements:
        assert trainee_client.get(url).status_code == 200
    assert len(statements) <= LESSON_BUDGET + 2, "\n".join(statements)
