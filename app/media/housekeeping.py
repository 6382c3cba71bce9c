"""Media housekeeping, run by the worker as periodic jobs (app/worker/housekeeping.py PERIODIC_JOBS).

`media.purge_expired_uploads` deletes resumable upload sessions past their expiry with their part files
(an abandoned upload would otherwise hold its bytes in tmp/ for ever).

`media.purge_orphans` deletes content nobody uses: an original or a derived folder whose sha256 no
asset row has (storage is content-addressed, so one file may serve several assets: it goes only when
the last one is gone), and leftovers in tmp/ (staged uploads, work folders of killed jobs, part files
whose session is gone). Nothing younger than GRACE is touched: an upload moves its original into
place a moment before its transaction commits the asset row, and a job publishes its derived folder
before it records the renditions, so a fresh file without a row may simply be in flight. Ages use
the change time (ctime), which the rename into place resets.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.core.jobs import JobContext, job_handler
from app.core.models import utcnow
from app.media.models import MediaAsset, MediaUpload
from app.media.service import expired_uploads
from app.media.storage import MediaStore

GRACE = timedelta(hours=24)  # far longer than any upload's last steps or a job's publish-then-record
TMP_GRACE = timedelta(days=2)  # work folders live as long as a transcode (its timeout) at most
BATCH = 500


def _age_s(path: Path, now_s: float) -> float:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0.0
    return now_s - max(stat.st_ctime, stat.st_mtime)


def _chunks(items: Sequence[str], size: int = BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def purge_expired_uploads(session: Session, *, store: MediaStore | None = None, now: datetime | None = None) -> dict[str, int]:
    """Delete the upload sessions that expired, with their part files. Rows first (flushed), then files:
    a session whose row is gone can no longer receive chunks or complete."""
    store = store or MediaStore.default()
    rows = expired_uploads(session, now or utcnow())
    ids = [row.id for row in rows]
    for row in rows:
        session.delete(row)
    session.flush()
    freed = sum(store.remove(store.part_path(upload_id)) for upload_id in ids)
    return {"uploads": len(ids), "bytes": freed}


def _referenced(session: Session, hashes: Sequence[str]) -> set[str]:
    used: set[str] = set()
    for chunk in _chunks(hashes):
        used.update(session.exec(select(MediaAsset.sha256).where(col(MediaAsset.sha256).in_(chunk)).distinct()).all())
    return used


def _open_uploads(session: Session, ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        found.update(session.exec(select(MediaUpload.id).where(col(MediaUpload.id).in_(chunk))).all())
    return found


def purge_orphans(session: Session, *, store: MediaStore | None = None, grace: timedelta = GRACE,
                  tmp_grace: timedelta = TMP_GRACE, now_s: float | None = None) -> dict[str, int]:
    store = store or MediaStore.default()
    now_s = time.time() if now_s is None else now_s
    on_disk = store.stored_hashes()
    old = {sha: paths for sha, paths in on_disk.items() if all(_age_s(p, now_s) > grace.total_seconds() for p in paths)}
    used = _referenced(session, sorted(old))
    counts = {"originals": 0, "derived": 0, "tmp": 0, "bytes": 0}
    for sha, paths in old.items():
        if sha in used:
            continue
        with store.lock():  # an upload of the same bytes touches the original under this lock
            if not all(_age_s(p, now_s) > grace.total_seconds() for p in paths):
                continue
            for path in paths:
                counts["bytes"] += store.remove(path)
                counts["derived" if path.is_relative_to(store.root / "derived") else "originals"] += 1
    counts_tmp, freed = _purge_tmp(session, store, now_s, tmp_grace)
    counts["tmp"], counts["bytes"] = counts_tmp, counts["bytes"] + freed
    return counts


def _purge_tmp(session: Session, store: MediaStore, now_s: float, grace: timedelta) -> tuple[int, int]:
    tmp = store.root / "tmp"
    if not tmp.is_dir():
        return 0, 0
    stale = [p for p in tmp.iterdir()
             if p.name != "uploads" and not p.name.startswith(".") and _age_s(p, now_s) > grace.total_seconds()]
    parts = {p.stem: p for p in (tmp / "uploads").glob("*.part")} if (tmp / "uploads").is_dir() else {}
    live = _open_uploads(session, parts)
    stale += [p for upload_id, p in parts.items() if upload_id not in live and _age_s(p, now_s) > grace.total_seconds()]
    return len(stale), sum(store.remove(p) for p in stale)


@job_handler("media.purge_expired_uploads", max_attempts=1)
def purge_expired_uploads_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    return purge_expired_uploads(session)


@job_handler("media.purge_orphans", max_attempts=1)
def purge_orphans_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    return purge_orphans(session)
