"""POST /api/v1/media: streamed uploads, validation by content, nothing left behind on refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.jobs import Job
from app.media.models import MediaAsset
from app.media.storage import MediaStore
from tests.media.conftest import needs_ffmpeg, post_file, stored_files

pytestmark = pytest.mark.usefixtures("clean_media")


def asset_count(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(MediaAsset)).one())


@needs_ffmpeg
def test_upload_a_video_is_accepted_and_queued(client: TestClient, session: Session, instructor_api: dict[str, str],
                                               media_files: dict[str, Path]) -> None:
    r = post_file(client, instructor_api, media_files["video"], title="桌签摆放示范")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and len(body["id"]) >= 20
    asset = session.get(MediaAsset, body["id"])
    assert asset is not None and asset.kind == "video" and asset.title == "桌签摆放示范"
    assert asset.width == 320 and asset.height == 240 and 1.9 < (asset.duration_s or 0) < 2.2
    assert "mp4" in asset.container and asset.probe["streams"]
    job = session.get(Job, asset.job_id)
    assert job is not None and job.kind == "media.process" and job.payload["sha256"] == asset.sha256
    assert MediaStore.default().original_path(asset.sha256).read_bytes() == media_files["video"].read_bytes()

    got = client.get(f"/api/v1/media/{body['id']}", headers=instructor_api)
    assert got.status_code == 200
    data = got.json()
    assert {k: data[k] for k in ("id", "kind", "status", "progress", "error", "renditions")} == {
        "id": body["id"], "kind": "video", "status": "queued", "progress": 0, "error": None, "renditions": []}
    assert data["duration_s"] == pytest.approx(2.0, abs=0.2)


@needs_ffmpeg
def test_same_bytes_are_stored_once(client: TestClient, session: Session, instructor_api: dict[str, str],
                                    media_files: dict[str, Path]) -> None:
    a = post_file(client, instructor_api, media_files["video"]).json()["id"]
    b = post_file(client, instructor_api, media_files["video"], name="again.mov").json()["id"]
    assert a != b
    sha = session.get(MediaAsset, a).sha256  # type: ignore[union-attr]
    assert session.get(MediaAsset, b).sha256 == sha  # type: ignore[union-attr]
    assert [p for p in stored_files() if p.startswith("originals/")] == [f"originals/{sha[:2]}/{sha[2:4]}/{sha}"]


BAD = [
    ("text", 415, "not a video"),
    ("playlist", 415, "not a video"),
    ("empty", 422, "empty"),
]


@pytest.mark.parametrize(("which", "status", "words"), BAD)
def test_bad_inputs_are_refused_and_leave_nothing(client: TestClient, session: Session, instructor_api: dict[str, str],
                                                  media_files: dict[str, Path], which: str, status: int, words: str) -> None:
    before = stored_files()
    r = post_file(client, {**instructor_api, "Accept-Language": "en"}, media_files[which], name="lesson.mp4")
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.json()["detail"]
    assert asset_count(session) == 0 and stored_files() == before


@needs_ffmpeg
def test_truncated_mp4_is_refused(client: TestClient, session: Session, instructor_api: dict[str, str],
                                  media_files: dict[str, Path]) -> None:
    before = stored_files()
    r = post_file(client, {**instructor_api, "Accept-Language": "zh-CN"}, media_files["truncated"])
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "file"]
    assert "损坏" in r.json()["detail"] or "不完整" in r.json()["detail"]
    assert asset_count(session) == 0 and stored_files() == before


def test_over_the_limit_is_413_and_leaves_nothing(client: TestClient, session: Session, instructor_api: dict[str, str],
                                                   media_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "media_max_upload_bytes", 1000)
    before = stored_files()
    big = media_files["jpeg"]
    assert big.stat().st_size > 1000
    r = post_file(client, {**instructor_api, "Accept-Language": "en"}, big)
    assert r.status_code == 413
    assert "larger than the limit" in r.json()["detail"]
    assert asset_count(session) == 0 and stored_files() == before


def test_413_while_streaming_without_content_length(client: TestClient, session: Session, instructor_api: dict[str, str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunked body has no Content-Length: the limit is enforced on the bytes as they arrive."""
    monkeypatch.setattr(get_settings(), "media_max_upload_bytes", 100_000)
    boundary = "XyZ"

    def body():  # type: ignore[no-untyped-def]
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n"
               "Content-Type: video/mp4\r\n\r\n").encode()
        for _ in range(50):
            yield b"\0" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    before = stored_files()
    r = client.post("/api/v1/media", headers={**instructor_api, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                    content=body())
    assert r.status_code == 413
    assert asset_count(session) == 0 and stored_files() == before


def test_images_and_pdfs_are_accepted(client: TestClient, session: Session, instructor_api: dict[str, str],
                                      media_files: dict[str, Path]) -> None:
    for which, kind in (("jpeg", "image"), ("png", "image"), ("pdf", "pdf")):
        r = post_file(client, instructor_api, media_files[which])
        assert r.status_code == 202, r.text
        assert session.get(MediaAsset, r.json()["id"]).kind == kind  # type: ignore[union-attr]
    r = post_file(client, instructor_api, media_files["pdf"], kind="picture_book")
    asset = session.get(MediaAsset, r.json()["id"])
    assert asset is not None and asset.kind == "picture_book" and asset.page_count == 2
    r = post_file(client, instructor_api, media_files["jpeg"], kind="video")
    assert r.status_code == 415


def test_missing_file_field(client: TestClient, instructor_api: dict[str, str]) -> None:
    r = client.post("/api/v1/media", headers=instructor_api, data={"title": "x"}, files={"other": ("a.txt", b"x")})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "file"]
    r = client.post("/api/v1/media", headers={**instructor_api, "Content-Type": "application/json"}, content=b"{}")
    assert r.status_code == 422
    # A damaged multipart body is the client's mistake: 422, not the parser's exception (500)
    r = client.post("/api/v1/media", headers={**instructor_api, "Content-Type": "multipart/form-data; boundary=x"},
                    content=b"-8676797603\r\n\r\n")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body"]


def test_who_may_upload_and_read(client: TestClient, session: Session, instructor_api: dict[str, str], trainee: User,
                                 media_files: dict[str, Path]) -> None:
    from tests.helpers import api_token

    trainee_api = api_token(client, trainee.username)
    assert post_file(client, trainee_api, media_files["png"]).status_code == 403
    assert client.post("/api/v1/media").status_code == 401
    asset_id = post_file(client, instructor_api, media_files["png"]).json()["id"]
    assert client.get(f"/api/v1/media/{asset_id}", headers=trainee_api).status_code == 403
    assert client.get("/api/v1/media/not-a-real-id", headers=instructor_api).status_code == 404
    listed = client.get("/api/v1/media", headers=instructor_api).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == asset_id


def test_browser_session_upload_needs_csrf(client: TestClient, instructor: User, media_files: dict[str, Path],
                                           session: Session) -> None:
    from tests.helpers import csrf_from, login

    login(client, instructor.username)
    with media_files["png"].open("rb") as fh:
        r = client.post("/api/v1/media", files={"file": ("p.png", fh, "image/png")})
    assert r.status_code == 403  # no token
    token = csrf_from(client, "/media")
    with media_files["png"].open("rb") as fh:
        r = client.post("/api/v1/media", files={"file": ("p.png", fh, "image/png")}, headers={"X-CSRF-Token": token})
    assert r.status_code == 202
    with media_files["png"].open("rb") as fh:  # token in the form: the CSRF check parsed the form first
        r = client.post("/api/v1/media", files={"file": ("p.png", fh, "image/png")}, data={"csrf_token": token, "title": "表单"})
    assert r.status_code == 202, r.text
    assert session.get(MediaAsset, r.json()["id"]).title == "表单"  # type: ignore[union-attr]
