"""Journey: an instructor uploads a generated test video in the material editor, watches its processing
reach 100 %, attaches it to a lesson and publishes; a trainee plays it (the video's time advances),
leaves at about 40 %, comes back in another browser session and resumes there; seeking to the end
does not complete the lesson; watching it (at 2x) does. A second trainee, whose wall clock starts
with this video, watches it once from the start at 2x (the fastest rate the completion rule allows):
the first heartbeat reporting enough watched completes it.

The video is ffmpeg's testsrc2 with a sine tone: 20 s at 480p by default, to keep CI fast on two
shared cores; SHIXUN_BROWSER_VIDEO_FULL=1 uses the issue's 60 s at 1080p. The live server runs
without a worker (tests/browser/conftest.py), so this test starts one (`shixun worker`) on the live
server's database while the progress is watched, and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app import PROJECT_ROOT
from tests.browser.conftest import LiveServer, Visit, accept_confirms, live_session, make_live_user, server_env, sign_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=10_000)

FULL = os.environ.get("SHIXUN_BROWSER_VIDEO_FULL", "") not in ("", "0", "false")
SECONDS, SIZE = (60, "1920x1080") if FULL else (20, "854x480")
PROCESSING_TIMEOUT_S = 600 if FULL else 240
SUBTITLES = "1\n00:00:00,500 --> 00:00:09,000\n桌签正面朝向参会人员，居中摆放。\n"


@pytest.fixture(scope="module")
def test_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    path = tmp_path_factory.mktemp("video") / "桌签摆放示范.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                    "-t", str(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    "-movflags", "+faststart", str(path)], check=True, timeout=300)
    return path


@contextmanager
def job_worker(server: LiveServer) -> Iterator[subprocess.Popen[bytes]]:
    """A `shixun worker` on the live server's database (its embedded worker is off in the browser tests)."""
    log = server.data_dir / "worker.stderr"
    with log.open("ab") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=PROJECT_ROOT,  # noqa: S603
                                   env=server_env(server.data_dir), stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Skeleton:
    course_id: int
    lesson_id: int
    trainee: str


def course_skeleton(server: LiveServer) -> Skeleton:
    """A draft course of `instructor` with one empty lesson, and a new trainee (enrolled after publishing)."""
    from sqlmodel import select

    from app.accounts import service as accounts
    from app.courses import service, structure
    from app.courses.models import Curriculum
    from app.courses.schemas import CourseIn, LessonIn, ModuleIn

    suffix = uuid.uuid4().hex[:6]
    with live_session(server) as session:
        instructor = accounts.get_user_by_username(session, "instructor")
        assert instructor is not None
        curriculum = session.exec(select(Curriculum).where(Curriculum.tier == "execution")).first()
        assert curriculum is not None
        course = service.create_course(session, instructor, curriculum, CourseIn(
            title=f"会议桌签摆放（视频{suffix}）", summary="浏览器测试：看一段示范视频。", hours=Decimal("0.5")))
        module = structure.add_module(session, instructor, course, ModuleIn(title="会前准备"))
        lesson = structure.add_lesson(session, instructor, module.id or 0, LessonIn(title="桌签摆放示范"))
        trainee = make_live_user(session, f"video_learner_{suffix}", f"视频学员{suffix}")
        return Skeleton(course.id or 0, lesson.id or 0, trainee.username)


def enrol(server: LiveServer, course_id: int, username: str) -> None:
    from app.accounts import service as accounts
    from app.courses import learning
    from app.courses.models import Course

    with live_session(server) as session:
        admin, trainee = accounts.get_user_by_username(session, "admin"), accounts.get_user_by_username(session, username)
        course = session.get(Course, course_id)
        assert admin is not None and trainee is not None and course is not None
        learning.enrol(session, admin, course, trainee)


def video_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('video').currentTime"))


def wait_until_time(page: Any, seconds: float, timeout_s: float = 60) -> None:
    """Poll from here: wait_for_function with an expression needs eval, which the CSP forbids."""
    deadline = time.monotonic() + timeout_s
    last, since = video_time(page), time.monotonic()
    while (now_at := video_time(page)) < seconds:
        assert time.monotonic() < deadline, f"the video did not reach {seconds} s (at {now_at} s)"
        if now_at != last:
            last, since = now_at, time.monotonic()
        elif time.monotonic() - since > 5:
            # Headless Chromium on a loaded CI machine sometimes stalls a media element while buffering and
            # never resumes by itself; a person would press play again. Do the same, and log it.
            print(f"video stalled at {now_at} s: pressing play again")
            page.evaluate("document.getElementById('video').play()")
            since = time.monotonic()
        page.wait_for_timeout(100)


def is_heartbeat(response: Any) -> bool:
    return response.request.method == "POST" and response.url.endswith("/heartbeats")


def test_upload_process_attach_play_resume_and_complete(live_server: LiveServer, new_visit: Callable[..., Visit],
                                                        shot: Callable[..., Any], test_video: Path) -> None:
    sk = course_skeleton(live_server)

    # -- the instructor uploads the video in the material editor and watches it being processed ----------
    author = new_visit("desktop").new_page()
    sign_in(author, "instructor")
    author.goto(f"/author/lessons/{sk.lesson_id}/materials/new?kind=video")
    author.fill("#f-title", "示范：桌签摆放")
    author.fill("#f-vtt", SUBTITLES)  # SubRip, converted to WebVTT when saved
    author.set_input_files("#media-file", str(test_video))
    author.fill("#media-title", "桌签摆放示范视频")
    shot(author, "1-editor")
    author.click("[data-media-start]")
    expect(author.locator("[data-media-message]")).to_have_text("已上传，已排队等待处理。", timeout=60_000)
    asset_id = author.locator("#f-asset").input_value()
    assert asset_id, "the uploaded video was not chosen for the material"
    status = author.locator("#video-asset-status [data-status]")
    expect(status).to_have_attribute("data-status", "queued")  # no worker yet: waiting
    seen: list[int] = []
    with job_worker(live_server):
        deadline = time.monotonic() + PROCESSING_TIMEOUT_S
        shot_taken = False
        while (state := status.get_attribute("data-status")) != "ready":
            assert state != "failed", author.locator("#video-asset-status #media-error").inner_text()
            assert time.monotonic() < deadline, f"processing did not finish in {PROCESSING_TIMEOUT_S} s (seen {seen})"
            if state == "processing":
                text = author.locator("#video-asset-status #media-progress-text").text_content(timeout=2000) or ""
                if text.rstrip("%").isdigit():
                    seen.append(int(text.rstrip("%")))
                if not shot_taken and seen and seen[-1] > 0:
                    shot(author, "2-processing")
                    shot_taken = True
            time.sleep(0.25)
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    expect(author.locator("#video-asset-status .badge-ok")).to_have_text("已就绪")  # 100 %: the preview replaces the bar
    expect(author.locator("#video-asset-status video")).to_be_visible()
    shot(author, "3-ready")
    author.click("#material-save")
    expect(author.locator("#flash")).to_contain_text("已添加")
    accept_confirms(author)
    author.click("#publish-submit")
    expect(author.locator("#flash")).to_contain_text("已发布第 1 版")
    shot(author, "4-published")
    enrol(live_server, sk.course_id, sk.trainee)

    # -- a trainee plays it and leaves at about 40 % ------------------------------------------------
    first = new_visit("desktop")
    page = first.new_page()
    sign_in(page, sk.trainee)
    page.goto(f"/learn/courses/{sk.course_id}")
    page.click("#start-course")
    expect(page.locator("#video-player")).to_be_visible()
    player = page.locator("#video-player")
    heartbeat_url = player.get_attribute("data-heartbeat-url")
    assert heartbeat_url and player.get_attribute("data-resume") == "0.0"
    for control in ("[data-vp-play]", "[data-vp-back]", "[data-vp-rate]", "[data-vp-full]"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["width"] >= 48 and box["height"] >= 48, control
    page.click("[data-vp-big-play]")
    wait_until_time(page, 1.0, timeout_s=30)
    t1 = video_time(page)
    page.wait_for_timeout(1500)
    assert video_time(page) > t1, "the video's time does not advance"
    cues = page.evaluate("(() => { const t = document.getElementById('video').textTracks[0];"
                         " return [t.mode, t.activeCues ? Array.from(t.activeCues, c => c.text) : []]; })()")
    assert cues == ["showing", ["桌签正面朝向参会人员，居中摆放。"]], cues
    shot(page, "5-playing")
    wait_until_time(page, 0.4 * SECONDS)
    with page.expect_response(is_heartbeat) as paused:
        page.click("[data-vp-play]")  # pause
    left_at = paused.value.json()["position"]
    assert 0.35 * SECONDS <= left_at <= 0.6 * SECONDS, left_at
    expect(page.locator("#video-watched-text")).to_contain_text("已观看")
    first.context.close()

    # -- another session (a phone) resumes there ------------------------------------------------------
    second = new_visit("phone")
    page = second.new_page()
    sign_in(page, sk.trainee)
    page.goto(f"/learn/courses/{sk.course_id}")
    page.locator("a[href*='/learn/lessons/']").first.click()
    expect(page.locator("#video-player")).to_be_visible()
    resume = float(page.locator("#video-player").get_attribute("data-resume") or 0)
    assert abs(resume - left_at) < 1.0, (resume, left_at)
    expect(page.locator("#video-resume")).to_be_visible()
    page.click("[data-vp-big-play]")
    wait_until_time(page, resume + 0.5, timeout_s=30)
    assert resume - 0.5 <= video_time(page) <= resume + 5, (video_time(page), resume)  # resumed, not from the start
    shot(page, "6-resumed-on-phone")

    # -- seeking to the end does not complete it -----------------------------------------------------
    with page.expect_response(lambda r: is_heartbeat(r) and r.request.post_data_json["event"] == "ended", timeout=30_000) as ended:
        page.locator("[data-vp-seek]").fill(str(SECONDS - 1.5))
    assert ended.value.json()["completed"] is False
    page.wait_for_timeout(500)
    expect(page.locator("#material-done")).to_have_count(0)
    expect(page.locator("#lesson-complete")).to_have_count(0)
    shot(page, "7-seeked-to-end-not-complete")

    # -- watching it (from the start, at 2x) completes it ----------------------------------------------
    for _ in range(3):  # 1× → 1.25× → 1.5× → 2×
        page.click("[data-vp-rate]")
    expect(page.locator("[data-vp-rate]")).to_have_text("2×")
    page.locator("[data-vp-seek]").fill("0")
    page.click("[data-vp-play]")
    expect(page.locator("#material-done")).to_be_visible(timeout=(SECONDS + 30) * 1000)  # the player is reloaded at the end
    expect(page.locator("#lesson-complete")).to_be_visible()
    expect(page.locator("#video-watched-text")).to_contain_text("已看完")
    shot(page, "8-complete")

    # -- a trainee new to the video watches it once at 2x: complete at its last heartbeat -----------------
    # The server's clock starts at the first heartbeat carrying a played stretch and forgives 2 s whatever
    # the length (app/courses/video.py); the player sends that heartbeat a second after playback starts.
    with live_session(live_server) as session:
        fresh = make_live_user(session, f"video_fast_{uuid.uuid4().hex[:6]}", "倍速学员").username
    enrol(live_server, sk.course_id, fresh)
    third = new_visit("desktop")
    page = third.new_page()
    sign_in(page, fresh)
    page.goto(f"/learn/courses/{sk.course_id}")
    page.click("#start-course")
    expect(page.locator("[data-video-player][data-vp-ready]")).to_be_visible()
    for _ in range(3):
        page.click("[data-vp-rate]")
    expect(page.locator("[data-vp-rate]")).to_have_text("2×")
    page.wait_for_timeout(1500)  # the source attaches meanwhile: the chosen speed must survive it
    expect(page.locator("[data-vp-rate]")).to_have_text("2×")
    beats: list[dict[str, Any]] = []
    page.on("response", lambda r: beats.append(r.json()) if is_heartbeat(r) and r.ok else None)
    with page.expect_response(lambda r: is_heartbeat(r) and r.request.post_data_json["event"] == "ended",
                              timeout=(SECONDS + 30) * 1000):
        page.click("[data-vp-big-play]")
    expect(page.locator("#material-done")).to_be_visible()
    # The first heartbeat that reports enough watched completes it: the time rule never held it back.
    enough = next(b for b in beats if b["watched_s"] + 0.5 >= b["duration_s"] * b["needed_percent"] / 100)
    assert enough["completed"] is True and enough["just_completed"] is True, beats
    shot(page, "9-fresh-trainee-complete-at-2x")
