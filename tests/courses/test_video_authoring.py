"""The video part of the material editor: choosing one of the author's videos (with its processing state),
the upload widget, completion settings and subtitles (SRT converted, bad files refused)."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role, User
from app.core import jobs
from app.core.jobs import Job, JobStatus
from app.courses import structure, video
from tests.courses.test_video_views import make_asset
from tests.factories import make_user
from tests.helpers import csrf_from, login

SRT = "1\n00:00:01,000 --> 00:00:03,500\n欢迎参加会议服务培训。\n"


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={"csrf_token": csrf_from(client, "/author/courses"), **data})


def test_video_choices(session: Session, instructor: User, org: Any) -> None:
    ready = make_asset(session, instructor)
    waiting = make_asset(session, instructor, status="queued")
    waiting.job_id = jobs.enqueue(session, "media.process", {"asset_id": waiting.id}).id
    running = make_asset(session, instructor, status="queued")
    job = jobs.enqueue(session, "media.process", {"asset_id": running.id})
    job.status, job.progress = JobStatus.running.value, 42
    running.job_id = job.id
    broken = make_asset(session, instructor, status="queued")
    failed_job = jobs.enqueue(session, "media.process", {"asset_id": broken.id})
    failed_job.status = JobStatus.failed.value
    broken.job_id = failed_job.id
    make_asset(session, instructor, kind="image")
    colleague = make_user(session, Role.instructor, unit=org["dept"])
    theirs = make_asset(session, colleague)
    session.flush()
    by_id = {c.id: c for c in video.authoring_choices(session, instructor)}
    assert set(by_id) == {ready.id, waiting.id, running.id}  # no failed ones, no pictures, nobody else's
    assert (by_id[ready.id].status, by_id[running.id].status, by_id[running.id].progress) == ("ready", "processing", 42)
    assert by_id[waiting.id].status == "queued"
    # The one a material uses already stays on the list, whoever uploaded it (instructors see all media).
    assert theirs.id in {c.id for c in video.authoring_choices(session, instructor, theirs.id)}
    assert broken.id in {c.id for c in video.authoring_choices(session, instructor, broken.id)}
    assert session.get(Job, failed_job.id) is not None


def test_add_a_video_material_with_settings_and_subtitles(client: TestClient, session: Session, instructor: User,
                                                           build_course: Any) -> None:
    built = build_course(publish=False)
    asset = make_asset(session, instructor, duration=63.4)
    session.commit()
    lesson_id = built.materials[2].lesson_id
    login(client, "instructor1")
    page = soup(client.get(f"/author/lessons/{lesson_id}/materials/new?kind=video"))
    select = page.find("select", id="f-asset")
    assert select is not None and select.find("option", value=asset.id) is not None
    assert select.find("option", value=asset.id)["data-duration"] == "63.4"
    uploader = page.find(attrs={"data-media-uploader": True})
    assert uploader is not None and uploader["data-kind"] == "video" and uploader.find_parent("form") is None
    assert page.find("form", id="material-form").find(id="media-title") is None  # its inputs are outside the material form
    assert page.find("script", src="/static/js/video-authoring.js") is not None

    saved = post(client, f"/author/lessons/{lesson_id}/materials", {
        "course_id": built.id, "kind": "video", "title": "示范：续水", "is_required": "1", "asset_id": asset.id, "duration_s": "63",
        "completion_percent": "80", "no_seek": "1", "subtitles_vtt": SRT, "subtitles_label": "中文"})
    assert saved.status_code == 303
    material = structure.materials_of(session, lesson_id)[-1]
    assert material.config == {"kind": "video", "v": 1, "asset_id": asset.id, "duration_s": 63, "completion_percent": 80,
                               "no_seek": True, "subtitles": [{"lang": "zh-CN", "label": "中文", "vtt":
                                                               "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\n欢迎参加会议服务培训。\n"}]}

    edit = soup(client.get(f"/author/materials/{material.id}"))
    assert edit.find("option", value=asset.id).has_attr("selected")
    assert edit.find(id="f-percent")["value"] == "80" and edit.find(id="f-no-seek").has_attr("checked")
    assert edit.find(id="f-vtt").get_text().startswith("WEBVTT")
    status = edit.find(id="video-asset-status").find(attrs={"hx-get": True})
    assert status["hx-get"] == f"/media/{asset.id}/status"  # the self-replacing processing fragment
    fragment = client.get(status["hx-get"])
    assert fragment.status_code == 200 and soup(fragment).find(attrs={"data-status": "ready"}) is not None


def test_bad_video_fields_are_refused(client: TestClient, session: Session, instructor: User, build_course: Any) -> None:
    built = build_course(publish=False)
    asset = make_asset(session, instructor)
    session.commit()
    lesson_id = built.materials[2].lesson_id
    login(client, "instructor1")
    before = len(structure.materials_of(session, lesson_id))
    for fields in ({"subtitles_vtt": "这不是字幕"}, {"completion_percent": "30"}, {"completion_percent": "九十"}, {"asset_id": ""}):
        response = post(client, f"/author/lessons/{lesson_id}/materials", {
            "course_id": built.id, "kind": "video", "title": "示范", "is_required": "1", "asset_id": asset.id, **fields})
        assert response.status_code == 303
        home = soup(client.get(response.headers["location"]))
        assert home.find(class_="flash-error") is not None, fields
    assert len(structure.materials_of(session, lesson_id)) == before


def test_form_values_round_trip() -> None:
    config = {"asset_id": "a1", "duration_s": 60, "completion_percent": 95, "no_seek": True,
              "subtitles": [{"lang": "zh-CN", "label": "中文", "vtt": "WEBVTT\n"}]}
    values = video.form_values(config)
    assert values == {"asset_id": "a1", "duration_s": 60, "completion_percent": 95, "no_seek": "1", "subtitles_vtt": "WEBVTT\n",
                      "subtitles_label": "中文"}
    track = {**config["subtitles"][0], "vtt": "WEBVTT"}
    assert video.form_config({**values, "duration_s": "60"}) == {"asset_id": "a1", "duration_s": "60", "completion_percent": "95",
                                                                 "no_seek": True, "subtitles": [track]}
    assert "subtitles" not in video.form_config({"asset_id": "a1"})
