"""Content-addressed file storage under the data dir.

    media/
      originals/ab/cd/<sha256>        the uploaded bytes, once per content
      derived/<sha256>/v1/...          renditions made from those bytes (HLS, MP4, poster, WebP, pages)
      tmp/                             uploads being received, resumable part files, jobs' work dirs

Everything lands in tmp/ first and is renamed into place (same file system, so the rename is atomic):
a crash or a refused upload never leaves a half-written original or rendition behind, and a second
upload of the same bytes finds the original already there and drops its copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.core.config import get_settings

SHA256 = re.compile(r"^[0-9a-f]{64}$")
DERIVED_VERSION = "v1"  # bump when the renditions we make change, so old ones are not taken for new ones
WRITE_BLOCK = 1024 * 1024


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"upload exceeds {limit} bytes")
        self.limit = limit


@dataclass
class StagedFile:
    """A received file in tmp/, with its hash and size, not yet in the store."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class StagingWriter:
    """Writes a stream of chunks to a temp file, hashing on the way and stopping past `limit` bytes."""

    def __init__(self, store: MediaStore, limit: int) -> None:
        self.limit = limit
        self.path = store.tmp_path("upload")
        self._fh = self.path.open("xb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise TooLarge(self.limit)
        self._hash.update(data)
        self._fh.write(data)

    def finish(self) -> StagedFile:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return StagedFile(self.path, self._hash.hexdigest(), self.size)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(WRITE_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> MediaStore:
        return cls(get_settings().media_dir)

    def _dir(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def tmp_path(self, prefix: str) -> Path:
        return self._dir("tmp") / f"{prefix}-{secrets.token_hex(8)}"

    def part_path(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,32}", upload_id):
            raise ValueError("bad upload id")
        return self._dir("tmp", "uploads") / f"{upload_id}.part"

    def original_path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise ValueError("not a sha256")
        return self.root / "originals" / sha256[:2] / sha256[2:4] / sha256

    def has_original(self, sha256: str) -> bool:
        return self.original_path(sha256).is_file()

    def keep(self, staged: StagedFile) -> Path:
        """Move a staged file into the store under its hash; a copy already there wins (same bytes).

        Under the store lock, and a copy already there is touched: the orphan sweep (housekeeping.py)
        spares files changed within its grace period, so it never deletes one a new asset is about to use.
        """
        target = self.original_path(staged.sha256)
        with self.lock():
            if target.is_file():
                os.utime(target)
                staged.discard()
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged.path, 0o640)
            os.replace(staged.path, target)
        return target

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock on the store, between processes (keeping an original vs. sweeping orphans)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def derived_dir(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise ValueError("not a sha256")
        return self.root / "derived" / sha256 / DERIVED_VERSION

    def work_dir(self, label: str) -> Path:
        path = self.tmp_path(f"work-{label}")
        path.mkdir(parents=True)
        return path

    def publish_derived(self, sha256: str, work: Path) -> Path:
        """Atomically put a finished work dir in place; if another attempt got there first, keep theirs."""
        target = self.derived_dir(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(work, target)
        except OSError:
            if not (target / "manifest.json").is_file():
                raise
            shutil.rmtree(work, ignore_errors=True)
        return target

    def resolve_derived(self, sha256: str, relative: str) -> Path | None:
        """A file inside an asset's derived dir, or None (no `..`, no absolute paths, no symlinks out)."""
        base = self.derived_dir(sha256).resolve()
        candidate = (base / relative).resolve()
        if base not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    # -- housekeeping (app/media/housekeeping.py) -------------------------------------------------

    def stored_hashes(self) -> dict[str, list[Path]]:
        """Every content hash on disk with its places: the original file and the derived folder."""
        found: dict[str, list[Path]] = {}
        originals = self.root / "originals"
        if originals.is_dir():
            for path in originals.glob("??/??/*"):
                if SHA256.match(path.name) and path.is_file():
                    found.setdefault(path.name, []).append(path)
        derived = self.root / "derived"
        if derived.is_dir():
            for path in derived.iterdir():
                if SHA256.match(path.name) and path.is_dir():
                    found.setdefault(path.name, []).append(path)
        return found

    def remove(self, path: Path) -> int:
        """Delete a file or folder under the store; the bytes freed (0 when it was gone already)."""
        if self.root.resolve() not in path.resolve().parents:
            raise ValueError(f"{path} is outside the media store")
        if path.is_dir() and not path.is_symlink():
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
            shutil.rmtree(path, ignore_errors=True)
            return size
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size
