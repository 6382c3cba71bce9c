"""Receiving request bodies straight to disk: a multipart upload (`POST /api/v1/media`) and the raw
chunks of a resumable upload. Nothing is held in memory beyond one network chunk.

FastAPI's `UploadFile` would first spool the whole body to a temp file before the route (and its size
check) runs; here the route reads `request.stream()` itself, feeds python-multipart's push parser, and
writes the `file` part through a StagingWriter that hashes and enforces the limit as bytes arrive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.media.storage import MediaStore, StagedFile, StagingWriter, TooLarge

FIELD_LIMIT = 4096  # other form fields (title, kind) are short
MULTIPART_OVERHEAD = 64 * 1024


@dataclass
class ReceivedUpload:
    staged: StagedFile
    filename: str
    fields: dict[str, str] = field(default_factory=dict)


class _PartCollector:
    def __init__(self, store: MediaStore, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.writer: StagingWriter | None = None
        self.filename = ""
        self.fields: dict[str, str] = {}
        self.file_done = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()

    def on_part_begin(self) -> None:
        self._headers, self._name, self._is_file, self._value = {}, None, False, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._is_file = self._name == "file" and filename is not None
        if self._is_file:
            if self.writer is not None:
                raise ValidationFailed(_("Send one file per upload."))
            self.filename = os.path.basename((filename or b"").decode("utf-8", "replace"))[:255]
            self.writer = StagingWriter(self.store, self.limit)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            assert self.writer is not None
            self.writer.write(data[start:end])
        else:
            self._value += data[start:end]
            if len(self._value) > FIELD_LIMIT:
                raise ValidationFailed(_("A form field is too long."))

    def on_part_end(self) -> None:
        if self._is_file:
            self.file_done = True
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


def declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


async def receive_multipart(request: Request, store: MediaStore, limit: int) -> ReceivedUpload:
    """Stream a multipart body with a `file` part to tmp/. Raises TooLarge (nothing kept) past `limit`."""
    length = declared_length(request)
    if length is not None and length > limit + MULTIPART_OVERHEAD:
        raise TooLarge(limit)  # refuse before reading a byte
    form = getattr(request, "_form", None)
    if form is not None:
        # The CSRF check already parsed the form (a browser form without the X-CSRF-Token header).
        return await _from_parsed_form(form, store, limit)
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ValidationFailed(_("Send the file as multipart/form-data in a field named “file”."),
                               errors=[{"loc": ["body", "file"], "msg": "multipart/form-data expected"}])
    collector = _PartCollector(store, limit)
    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": collector.on_part_begin, "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end, "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value, "on_header_end": collector.on_header_end,
        "on_headers_finished": collector.on_headers_finished,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:  # a damaged or hand-made body: the client's mistake, not ours
        collector.abort()
        raise ValidationFailed(_("The upload is not a valid multipart/form-data body."),
                               errors=[{"loc": ["body"], "msg": str(exc)[:200]}]) from None
    except BaseException:
        collector.abort()
        raise
    if collector.writer is None or not collector.file_done:
        collector.abort()
        raise ValidationFailed(_("No file was sent (a form field named “file” is required)."),
                               errors=[{"loc": ["body", "file"], "msg": "field required"}])
    staged = await run_in_threadpool(collector.writer.finish)
    return ReceivedUpload(staged, collector.filename, collector.fields)


async def _from_parsed_form(form: object, store: MediaStore, limit: int) -> ReceivedUpload:
    upload = form.get("file") if hasattr(form, "get") else None
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(_("No file was sent (a form field named “file” is required)."),
                               errors=[{"loc": ["body", "file"], "msg": "field required"}])
    writer = StagingWriter(store, limit)
    try:
        while block := await upload.read(1024 * 1024):
            writer.write(block)
    except BaseException:
        writer.abort()
        raise
    fields = {k: v for k, v in form.items() if isinstance(v, str)}  # type: ignore[attr-defined]
    return ReceivedUpload(await run_in_threadpool(writer.finish), os.path.basename(upload.filename or "")[:255], fields)


async def receive_chunk(request: Request, part: Path, offset: int, limit: int) -> int:
    """Write a raw body at `offset` of a part file (under an exclusive lock); returns the bytes written.

    Writing at an offset (not appending) makes a retried chunk harmless: the same bytes land in the
    same place. Raises TooLarge when the chunk would run past `limit` (the upload's declared size).
    """
    written = 0
    fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        await run_in_threadpool(fcntl.flock, fd, fcntl.LOCK_EX)
        async for data in request.stream():
            if offset + written + len(data) > limit:
                raise TooLarge(limit)
            os.pwrite(fd, data, offset + written)
            written += len(data)
        await run_in_threadpool(os.fsync, fd)
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return written
