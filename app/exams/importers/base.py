"""What every importer shares: results with per-line/per-item errors, text decoding, safe XML and zips.

An import is all or nothing: `ImportResult.ok` is false as soon as one item has an error, and the
preview shows every error at once. Messages are translated when they are made (English msgids).

Text decoding (`decode_text`): a BOM decides (UTF-8, UTF-16); otherwise strict UTF-8, then GB18030.
A fixed try-order rather than a statistical detector (charset-normalizer, chardet) because the set of
encodings that reach us is closed (files saved by Windows Notepad/WPS/Excel in China are UTF-8 or GBK),
and a detector guessing over short Chinese texts sometimes picks Big5, Shift-JIS or a Latin code page,
silently garbling every question. Valid GBK text almost never decodes as strict UTF-8 (UTF-8 needs exact
lead/continuation byte patterns), and GB18030 is a superset of GBK and GB2312, so the order is safe.

XML (`parse_xml`) goes through defusedxml: DTDs, entity declarations and external references are
refused (no billion laughs, no XXE, no network). Zips (`SafeZip`) are checked before anything is read:
no absolute or parent-relative names (ZipSlip), bounded entry count, declared and actual sizes and
compression ratio (zip bombs).
"""

from __future__ import annotations

import codecs
import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from app.core.i18n import gettext as _
from app.exams.drafts import QuestionDraft, SourceRef, build_draft

MAX_FILE_BYTES = 20 * 1024 * 1024
# What an import request may send (core/routing.body_limit): the file and the multipart around it.
IMPORT_BODY_LIMIT = MAX_FILE_BYTES + 64 * 1024
MAX_QUESTIONS = 5000
MAX_ZIP_ENTRIES = 2000
MAX_ZIP_ENTRY_BYTES = 20 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 200


class ImportRefused(Exception):
    """The whole file cannot be read (wrong encoding, not well-formed, unsafe zip). `msg` is translated."""

    def __init__(self, msg: str, loc: int | str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.loc = loc


@dataclass(frozen=True)
class ImportIssue:
    loc: int | str  # line/row number, or item name/number; "" for the whole file
    msg: str

    def as_error(self) -> dict[str, Any]:
        """The API's shape: {"loc": ["file", <line or item>], "msg"}."""
        return {"loc": ["file", self.loc] if self.loc != "" else ["file"], "msg": self.msg}


@dataclass
class ImportResult:
    format: str
    drafts: list[QuestionDraft] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    encoding: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.drafts)

    def error(self, loc: int | str, msg: str) -> None:
        self.errors.append(ImportIssue(loc, msg))

    def warn(self, loc: int | str, msg: str) -> None:
        self.warnings.append(ImportIssue(loc, msg))

    def add(self, source: SourceRef, **fields: Any) -> QuestionDraft | None:
        """Validate one question; record it or its errors (each with the question's line/item)."""
        if len(self.drafts) >= MAX_QUESTIONS:
            if len(self.drafts) == MAX_QUESTIONS and not any(e.loc == "" for e in self.errors):
                self.error("", _("A file may hold at most %(n)s questions.", n=MAX_QUESTIONS))
            return None
        draft, problems = build_draft(source=source, **fields)
        for problem in problems:
            self.error(source.loc, problem)
        if draft is not None:
            self.drafts.append(draft)
        return draft

    def finish(self) -> ImportResult:
        if not self.drafts and not self.errors:
            self.error("", _("The file contains no questions."))
        return self


def check_size(data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(_("The file is larger than %(mb)s MB.", mb=MAX_FILE_BYTES // (1024 * 1024)))


def decode_text(data: bytes) -> tuple[str, str]:
    """(text with Unix newlines, encoding name). See the module docstring for the order and why."""
    check_size(data)
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _newlines(data.decode(name)), name
            except UnicodeDecodeError as exc:
                raise ImportRefused(_("The file starts like %(enc)s but is not valid %(enc)s.", enc=name)) from exc
    for name in ("utf-8", "gb18030"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return _newlines(text), name
    raise ImportRefused(_("The file is neither UTF-8 nor GBK/GB18030 text. Save it as UTF-8 and try again."))


def _newlines(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_xml(data: bytes | str, name: str = "") -> Element:
    """Parse untrusted XML with DTDs, entities and external references refused."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ImportRefused(_("%(name)s declares a DTD or entities, which are not accepted.", name=name or "XML"),
                            name) from exc
    except SafeET.ParseError as exc:
        line = getattr(exc, "position", (0, 0))[0]
        raise ImportRefused(_("%(name)s is not well-formed XML (line %(line)s).", name=name or "XML", line=line),
                            name) from exc


def local(tag: str) -> str:
    """'{namespace}choiceInteraction' → 'choiceInteraction'."""
    return tag.rsplit("}", 1)[-1]


class SafeZip:
    """A zip whose names and sizes were checked on opening; `read` enforces the sizes again while inflating."""

    def __init__(self, data: bytes) -> None:
        check_size(data)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise ImportRefused(_("The file is not a valid zip archive.")) from exc
        infos = self.zip.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ImportRefused(_("The zip holds more than %(n)s files.", n=MAX_ZIP_ENTRIES))
        total = 0
        self.names: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            clean = posixpath.normpath(name.replace("\\", "/"))
            if (name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or clean == ".."
                    or clean.startswith("../") or "\x00" in name):
                raise ImportRefused(_("The zip contains an unsafe path %(name)s; it is refused.", name=name), name)
            if info.flag_bits & 0x1:
                raise ImportRefused(_("Encrypted zips are not accepted."), name)
            total += info.file_size
            if (info.file_size > MAX_ZIP_ENTRY_BYTES or total > MAX_ZIP_TOTAL_BYTES
                    or (info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO
                        and info.file_size > 1024 * 1024)):
                raise ImportRefused(_("The zip unpacks to too much data (%(name)s); it is refused.", name=name), name)
            if not info.is_dir():
                self.names[clean] = info
        self.read_total = 0

    def has(self, name: str) -> bool:
        return self.resolve(name) in self.names

    def resolve(self, name: str, base: str = "") -> str:
        return posixpath.normpath(posixpath.join(posixpath.dirname(base), name.replace("\\", "/"))).lstrip("/")

    def read(self, name: str) -> bytes:
        info = self.names[name]
        limit = min(info.file_size, MAX_ZIP_ENTRY_BYTES)
        chunks: list[bytes] = []
        size = 0
        try:
            with self.zip.open(info) as handle:
                while chunk := handle.read(65536):
                    size += len(chunk)
                    self.read_total += len(chunk)
                    if size > limit or self.read_total > MAX_ZIP_TOTAL_BYTES:
                        raise ImportRefused(_("The zip unpacks to more data than it declares (%(name)s); it is refused.",
                                              name=name), name)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC mismatch, truncated data
            raise ImportRefused(_("%(name)s in the zip is damaged.", name=name), name) from exc
        return b"".join(chunks)
