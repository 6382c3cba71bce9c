"""Media test fixtures: tiny media files generated once per session with ffmpeg and Pillow (tests that
need ffmpeg are skipped where it is missing), an instructor, and helpers to post uploads."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import OrgUnit, Role, User
from app.core.config import get_settings
from tests.factories import make_user

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg/ffprobe not installed")

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from PIL import Image

    d = tmp_path_factory.mktemp("media-src")
    files: dict[str, Path] = {}
    if HAVE_FFMPEG:
        files["video"] = d / "clip.mp4"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
                "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                "-movflags", "+faststart", str(files["video"]))
        files["video_silent_webm"] = d / "silent.webm"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1", "-c:v", "libvpx", "-b:v", "200k",
                str(files["video_silent_webm"]))
        data = files["video"].read_bytes()
        files["truncated"] = d / "truncated.mp4"
        files["truncated"].write_bytes(data[: len(data) // 2])
    jpeg = d / "photo.jpg"
    img = Image.new("RGB", (800, 600), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 46.0, 0.0), 3: "E", 4: (119.0, 57.0, 0.0)}  # GPS IFD
    img.save(jpeg, "JPEG", exif=exif.tobytes())
    files["jpeg"] = jpeg
    files["png"] = d / "pic.png"
    Image.new("RGBA", (300, 200), (0, 128, 255, 128)).save(files["png"])
    files["pdf"] = d / "book.pdf"
    pages = [Image.new("RGB", (595, 842), c) for c in ((255, 255, 255), (230, 240, 255))]
    pages[0].save(files["pdf"], "PDF", save_all=True, append_images=pages[1:])
    files["text"] = d / "notes.mp4"
    files["text"].write_text("这不是视频 just text\n", encoding="utf-8")
    files["playlist"] = d / "playlist.mp4"
    files["playlist"].write_bytes(PLAYLIST)
    files["empty"] = d / "empty.mp4"
    files["empty"].write_bytes(b"")
    return files


@pytest.fixture
def instructor(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.instructor, unit=org["dept"], username="media_instructor")
    session.commit()
    return user


@pytest.fixture
def instructor_api(client: TestClient, instructor: User) -> dict[str, str]:
    from tests.helpers import api_token

    return api_token(client, instructor.username)


def media_root() -> Path:
    return get_settings().media_dir


def stored_files() -> set[str]:
    """Every file under originals/ and tmp/ (what an upload may leave behind)."""
    root = media_root()
    return {str(p.relative_to(root)) for sub in ("originals", "tmp") for p in (root / sub).rglob("*") if p.is_file()}


@pytest.fixture
def clean_media() -> Iterator[None]:
    yield
    for sub in ("originals", "derived", "tmp"):
        shutil.rmtree(media_root() / sub, ignore_errors=True)


def post_file(client: TestClient, headers: dict[str, str], path: Path, *, name: str | None = None, title: str = "",
              **fields: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return client.post("/api/v1/media", headers=headers, files={"file": (name or path.name, fh, "video/mp4")},
                           data={"title": title, **fields})
