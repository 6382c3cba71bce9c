"""Resumable uploads: create, PUT chunks (retries harmless, gaps refused), resume offset, complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.core.config import get_settings
from app.media.models import MediaAsset, MediaUpload
from tests.media.conftest import stored_files

pytestmark = pytest.mark.usefixtures("clean_media")


def start(client: TestClient, headers: dict[str, str], size: int, **extra: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/media/uploads", headers=headers, json={"filename": "book.pdf", "size": size, "title": "分片", **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def put(client: TestClient, headers: dict[str, str], upload_id: str, data: bytes, start_at: int, total: int):  # type: ignore[no-untyped-def]
    end = start_at + len(data) - 1
    return client.put(f"/api/v1/media/uploads/{upload_id}", headers={**headers, "Content-Range": f"bytes {start_at}-{end}/{total}"},
                      content=data)


def test_chunked_upload_with_retries_and_resume(client: TestClient, session: Session, instructor_api: dict[str, str],
                                                media_files: dict[str, Path]) -> None:
    data = media_files["pdf"].read_bytes()
    size, half = len(data), len(data) // 2
    up = start(client, instructor_api, size)
    assert up["offset"] == 0 and up["chunk_size"] == get_settings().media_upload_chunk_bytes
    assert put(client, instructor_api, up["id"], data[:half], 0, size).json()["offset"] == half
    assert put(client, instructor_api, up["id"], data[:half], 0, size).json()["offset"] == half  # a retried chunk
    gap = put(client, instructor_api, up["id"], data[half + 10:], half + 10, size)
    assert gap.status_code == 409
    assert client.get(f"/api/v1/media/uploads/{up['id']}", headers=instructor_api).json()["offset"] == half
    early = client.post(f"/api/v1/media/uploads/{up['id']}/complete", headers=instructor_api)
    assert early.status_code == 409
    assert put(client, instructor_api, up["id"], data[half:], half, size).json()["offset"] == size
    done = client.post(f"/api/v1/media/uploads/{up['id']}/complete", headers=instructor_api)
    assert done.status_code == 202 and done.json()["status"] == "queued"
    asset = session.get(MediaAsset, done.json()["id"])
    assert asset is not None and asset.kind == "pdf" and asset.title == "分片" and asset.size_bytes == size
    again = client.post(f"/api/v1/media/uploads/{up['id']}/complete", headers=instructor_api)
    assert again.status_code == 202 and again.json()["id"] == asset.id  # repeating is safe
    assert put(client, instructor_api, up["id"], data[:10], 0, size).status_code == 409


def test_refused_file_leaves_nothing(client: TestClient, session: Session, instructor_api: dict[str, str],
                                     media_files: dict[str, Path]) -> None:
    data = media_files["playlist"].read_bytes()
    before = stored_files()
    up = start(client, instructor_api, len(data))
    put(client, instructor_api, up["id"], data, 0, len(data))
    r = client.post(f"/api/v1/media/uploads/{up['id']}/complete", headers=instructor_api)
    assert r.status_code == 415
    session.expire_all()
    assert session.get(MediaUpload, up["id"]) is None
    assert session.exec(select(func.count()).select_from(MediaAsset)).one() == 0
    assert stored_files() == before


def test_limits_and_bad_ranges(client: TestClient, instructor_api: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "media_max_upload_bytes", 1000)
    r = client.post("/api/v1/media/uploads", headers=instructor_api, json={"filename": "big.mp4", "size": 1001})
    assert r.status_code == 413
    up = start(client, instructor_api, 100)
    assert put(client, instructor_api, up["id"], b"x" * 10, 95, 100).status_code == 422  # runs past the end
    r = client.put(f"/api/v1/media/uploads/{up['id']}", headers=instructor_api, content=b"x")
    assert r.status_code == 422  # no Content-Range
    assert client.get("/api/v1/media/uploads/nope-nope-nope", headers=instructor_api).status_code == 404
