"""Media housekeeping: expired resumable uploads go with their part files; originals, derived folders and
tmp leftovers nobody references go after the grace period, never before, and never while an asset has
the same bytes. A store in a temp folder: other tests' files are never in sight."""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from app.accounts.models import User
from app.core.jobs import get_handler
from app.core.models import utcnow
from app.media import housekeeping, service
from app.media.models import MediaAsset, MediaUpload
from app.media.storage import MediaStore, StagedFile
from app.worker.housekeeping import PERIODIC_JOBS

LATER = time.time() + housekeeping.GRACE.total_seconds() + housekeeping.TMP_GRACE.total_seconds() + 60


def put_original(store: MediaStore, sha: str, data: bytes = b"bytes") -> Path:
    path = store.original_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def put_derived(store: MediaStore, sha: str) -> Path:
    directory = store.derived_dir(sha)
    (directory / "pages").mkdir(parents=True)
    (directory / "manifest.json").write_text("{}")
    (directory / "pages" / "p0001.webp").write_bytes(b"webp")
    return directory.parent


def asset_with(session: Session, owner: User, sha: str) -> MediaAsset:
    asset = MediaAsset(id=service.new_id(), kind="image", owner_id=owner.id or 0, title="图", sha256=sha, size_bytes=5,
                       mime_type="image/png")
    session.add(asset)
    session.flush()
    return asset


def test_the_jobs_are_registered_and_periodic() -> None:
    kinds = {kind for kind, _every in PERIODIC_JOBS}
    for kind in ("media.purge_expired_uploads", "media.purge_orphans"):
        assert kind in kinds and get_handler(kind) is not None


def test_expired_uploads_go_with_their_part_files(session: Session, instructor: User, tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    now = utcnow()
    old = service.create_upload(session, instructor, filename="a.pdf", size=10, now=now - timedelta(days=3))
    fresh = service.create_upload(session, instructor, filename="b.pdf", size=10, now=now)
    for upload in (old, fresh):
        store.part_path(upload.id).write_bytes(b"12345")
    result = housekeeping.purge_expired_uploads(session, store=store, now=now)
    assert result == {"uploads": 1, "bytes": 5}
    assert session.get(MediaUpload, old.id) is None and not store.part_path(old.id).exists()
    assert session.get(MediaUpload, fresh.id) is not None and store.part_path(fresh.id).is_file()
    assert housekeeping.purge_expired_uploads(session, store=store, now=now) == {"uploads": 0, "bytes": 0}


def test_orphans_go_after_the_grace_period_only(session: Session, instructor: User, tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    used, shared, orphan = (secrets.token_hex(32) for _ in range(3))
    for sha in (used, shared, orphan):
        put_original(store, sha)
        put_derived(store, sha)
    asset_with(session, instructor, used)
    asset_with(session, instructor, shared)
    asset_with(session, instructor, shared)  # two assets, one file: deleting one asset keeps the file
    work = store.work_dir("deadbeef")
    (work / "half.ts").write_bytes(b"ts")
    live = service.create_upload(session, instructor, filename="a.pdf", size=10)
    store.part_path(live.id).write_bytes(b"1")
    stray = store.part_path("Strayupload123")
    stray.write_bytes(b"22")

    # Everything was written just now: an upload or a job may be in flight, nothing is touched.
    assert housekeeping.purge_orphans(session, store=store) == {"originals": 0, "derived": 0, "tmp": 0, "bytes": 0}
    assert store.original_path(orphan).is_file()

    result = housekeeping.purge_orphans(session, store=store, now_s=LATER)
    assert result["originals"] == 1 and result["derived"] == 1 and result["tmp"] == 2 and result["bytes"] > 0
    assert not store.original_path(orphan).exists() and not store.derived_dir(orphan).parent.exists()
    for sha in (used, shared):
        assert store.original_path(sha).is_file() and (store.derived_dir(sha) / "manifest.json").is_file()
    assert not work.exists() and not stray.exists() and store.part_path(live.id).is_file()
    assert (tmp_path / ".lock").is_file()  # the store lock is not an orphan
    assert housekeeping.purge_orphans(session, store=store, now_s=LATER)["bytes"] == 0


def test_keeping_the_same_bytes_again_renews_the_original(tmp_path: Path) -> None:
    """A second upload of a file whose assets are all gone must not lose its original to the sweep."""
    store = MediaStore(tmp_path)
    sha = secrets.token_hex(32)
    original = put_original(store, sha)
    os.utime(original, (1_000_000, 1_000_000))
    staged = tmp_path / "staged"
    staged.write_bytes(b"bytes")
    assert store.keep(StagedFile(staged, sha, 5)) == original
    assert original.stat().st_mtime > time.time() - 60 and not staged.exists()
