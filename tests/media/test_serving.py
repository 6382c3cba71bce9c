"""Authorized media URLs: Range, caching headers, hardening headers, the viewer hook, X-Accel-Redirect."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.core.config import get_settings
from app.media import service
from app.media.models import MediaAsset
from tests.helpers import login
from tests.media.conftest import needs_ffmpeg, post_file
from tests.media.test_jobs import run_job

pytestmark = pytest.mark.usefixtures("clean_media")


@pytest.fixture
def pdf_asset(client: TestClient, session: Session, instructor_api: dict[str, str], media_files: dict[str, Path]) -> MediaAsset:
    r = post_file(client, instructor_api, media_files["pdf"])
    asset = session.get(MediaAsset, r.json()["id"])
    assert asset is not None
    run_job(session, asset)
    session.commit()
    return asset


def test_range_requests_on_the_original(client: TestClient, pdf_asset: MediaAsset, instructor_api: dict[str, str],
                                        media_files: dict[str, Path]) -> None:
    data = media_files["pdf"].read_bytes()
    url = f"/media/{pdf_asset.id}/original"
    full = client.get(url, headers=instructor_api)
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["content-security-policy"] == "sandbox"
    assert full.headers["etag"] == f'"{pdf_asset.sha256}"' and full.headers["last-modified"]
    assert full.headers["content-disposition"].startswith("attachment;")
    part = client.get(url, headers={**instructor_api, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = client.get(url, headers={**instructor_api, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    bad = client.get(url, headers={**instructor_api, "Range": f"bytes={len(data) + 10}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(data)}"
    cached = client.get(url, headers={**instructor_api, "If-None-Match": full.headers["etag"]})
    assert cached.status_code == 304 and not cached.content


def test_renditions_are_served_and_paths_are_confined(client: TestClient, pdf_asset: MediaAsset, instructor_api: dict[str, str]) -> None:
    page = client.get(f"/media/{pdf_asset.id}/files/pages/p0001.webp", headers=instructor_api)
    assert page.status_code == 200 and page.headers["content-type"] == "image/webp" and page.content[8:12] == b"WEBP"
    assert page.headers["cache-control"].startswith("private")  # the middleware's no-store is for pages, not media files
    assert client.get("/", headers=instructor_api).headers["cache-control"] == "no-store"
    assert client.get(f"/media/{pdf_asset.id}/files/pages/p0001.webp", headers=instructor_api).status_code == 200
    for bad in ("manifest.json", "../../../originals", "pages/../manifest.json", "pages/%2e%2e/manifest.json", "nope.webp",
                ".hidden", "pages/.p0001.webp"):
        assert client.get(f"/media/{pdf_asset.id}/files/{bad}", headers=instructor_api).status_code == 404, bad


def test_who_may_fetch_media(client: TestClient, session: Session, pdf_asset: MediaAsset, trainee: User) -> None:
    url = f"/media/{pdf_asset.id}/files/pages/p0001.webp"
    assert client.get(url).status_code in (303, 401)  # anonymous: sign in first
    login(client, trainee.username)
    assert client.get(url).status_code == 404  # not theirs and no course grants it: not even its existence

    def enrolled(db: Session, user: User, asset: MediaAsset) -> bool:
        return user.id == trainee.id and asset.id == pdf_asset.id

    service.register_viewer_check(enrolled)
    try:
        assert client.get(url).status_code == 200
        assert client.get(f"/api/v1/media/{pdf_asset.id}").status_code == 403  # the management API stays closed
    finally:
        service.unregister_viewer_check(enrolled)
    assert client.get(url).status_code == 404


def test_images_originals_are_not_served(client: TestClient, session: Session, instructor_api: dict[str, str],
                                         media_files: dict[str, Path]) -> None:
    asset_id = post_file(client, instructor_api, media_files["jpeg"]).json()["id"]
    assert client.get(f"/media/{asset_id}/original", headers=instructor_api).status_code == 404  # EXIF/GPS stay private


def test_x_accel_redirect_mode(client: TestClient, pdf_asset: MediaAsset, instructor_api: dict[str, str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "media_accel_redirect_prefix", "/_protected_media/")
    r = client.get(f"/media/{pdf_asset.id}/files/pages/p0002.webp", headers=instructor_api)
    sha = pdf_asset.sha256
    assert r.status_code == 200 and r.content == b""
    assert r.headers["x-accel-redirect"] == f"/_protected_media/derived/{sha}/v1/pages/p0002.webp"
    assert r.headers["content-type"] == "image/webp" and r.headers["x-content-type-options"] == "nosniff"
    o = client.get(f"/media/{pdf_asset.id}/original", headers=instructor_api)
    assert o.headers["x-accel-redirect"] == f"/_protected_media/originals/{sha[:2]}/{sha[2:4]}/{sha}"
    conf = (Path(__file__).parents[2] / "deploy" / "nginx" / "shixun.conf").read_text()
    assert "location /_protected_media/" in conf and "internal;" in conf


@needs_ffmpeg
def test_hls_through_the_same_authorization(client: TestClient, session: Session, instructor_api: dict[str, str],
                                            media_files: dict[str, Path]) -> None:
    asset = session.get(MediaAsset, post_file(client, instructor_api, media_files["video_silent_webm"]).json()["id"])
    assert asset is not None
    run_job(session, asset)
    session.commit()
    base = f"/media/{asset.id}/files/hls/"
    master = client.get(base + "master.m3u8", headers=instructor_api)
    assert master.status_code == 200 and master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variant_uri = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    variant = client.get(base + variant_uri, headers=instructor_api)
    segment_uri = next(line for line in variant.text.splitlines() if line.endswith(".ts"))
    seg_url = base + variant_uri.rsplit("/", 1)[0] + "/" + segment_uri
    seg = client.get(seg_url, headers={**instructor_api, "Range": "bytes=0-187"})
    assert seg.status_code == 206 and seg.content[:1] == b"\x47" and seg.headers["content-type"] == "video/mp2t"
    assert client.get(seg_url).status_code in (303, 401)
