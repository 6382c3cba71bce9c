"""Deciding what an uploaded file is, by its content: magic bytes first, then a probe.

The name and the browser's Content-Type are ignored. Magic bytes pick the family (video container,
JPEG/PNG/WebP, PDF) and refuse text at once (an HLS playlist or an ffconcat list is text); ffprobe then
reads the container and streams, and only an allow-list of demuxers is accepted, so a file that
ffprobe would open as `hls`, `concat`, `tty` or anything else we do not transcode is refused.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.i18n import gettext as _
from app.media.ffmpeg import IMAGE_CONTAINERS, VIDEO_CONTAINERS, probe_argv
from app.media.models import AssetKind

PROBE_TIMEOUT_S = 60
MAX_IMAGE_PIXELS = 80_000_000  # Pillow's decompression-bomb guard, explicit
MAX_VIDEO_SIDE = 8192


class MediaRejected(Exception):
    """The file is not something we accept. `status` is 415 (not a supported type) or 422 (broken)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class MediaInfo:
    kind: AssetKind
    mime_type: str
    container: str
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    page_count: int | None = None
    has_audio: bool = False
    probe: dict[str, Any] = field(default_factory=dict)


def sniff(head: bytes) -> str | None:
    """The family a file's first bytes announce: video, jpeg, png, webp, pdf or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "video"  # ISO BMFF / QuickTime
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video"  # Matroska / WebM (EBML)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head.startswith(b"FLV"):
        return "video"
    if head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47"):
        return "video"  # MPEG-TS: a sync byte every 188 bytes
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video"  # MPEG-PS
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video"  # ASF / WMV
    return None


def _read_head(path: Path, n: int = 512) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def inspect(path: Path, *, ffprobe: str = "ffprobe") -> MediaInfo:
    """Classify and measure the file at `path`, or raise MediaRejected with a reason people can act on."""
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected(422, _("The file is empty (0 bytes)."))
    family = sniff(_read_head(path))
    if family is None:
        raise MediaRejected(415, _("This is not a video, image or PDF file we can use (its content is not a known "
                                   "video container, JPEG, PNG, WebP or PDF, whatever its name says)."))
    if family == "pdf":
        return inspect_pdf(path)
    if family in ("jpeg", "png", "webp"):
        return inspect_image(path, family)
    return inspect_video(path, ffprobe=ffprobe)


def run_probe(path: Path, *, ffprobe: str) -> dict[str, Any]:
    try:
        result = subprocess.run(probe_argv(ffprobe, str(path)), capture_output=True, timeout=PROBE_TIMEOUT_S,  # noqa: S603
                                check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise MediaRejected(422, _("The video could not be read in time; it may be damaged.")) from exc
    except FileNotFoundError as exc:
        raise RuntimeError(f"ffprobe not found ({ffprobe}); install ffmpeg (scripts/system-deps.sh)") from exc
    if result.returncode != 0:
        raise MediaRejected(422, _("The video is damaged or incomplete and cannot be read."))
    try:
        data: dict[str, Any] = json.loads(result.stdout or b"{}")
    except ValueError as exc:
        raise MediaRejected(422, _("The video is damaged or incomplete and cannot be read.")) from exc
    return data


def _fraction(value: Any) -> float | None:
    try:
        num, _sep, den = str(value).partition("/")
        return float(num) / float(den) if den else float(num)
    except (ValueError, ZeroDivisionError):
        return None


def inspect_video(path: Path, *, ffprobe: str) -> MediaInfo:
    data = run_probe(path, ffprobe=ffprobe)
    fmt = data.get("format") or {}
    names = set(str(fmt.get("format_name", "")).split(","))
    if not names & set(VIDEO_CONTAINERS):
        raise MediaRejected(415, _("Video files must be MP4, MOV, MKV, WebM, AVI, MPEG-TS or FLV; this file reads as "
                                   "“%(format)s”, which is not accepted (playlists and file lists are refused).",
                                   format=fmt.get("format_name") or "?"))
    streams = data.get("streams") or []
    video = [s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not video:
        raise MediaRejected(422, _("The file has no video picture."))
    main = video[0]
    width, height = int(main.get("width") or 0), int(main.get("height") or 0)
    if width <= 0 or height <= 0 or max(width, height) > MAX_VIDEO_SIDE:
        raise MediaRejected(422, _("The video's picture size cannot be read or is too large."))
    duration = _fraction(fmt.get("duration")) or _fraction(main.get("duration"))
    if not duration or duration <= 0:
        raise MediaRejected(422, _("The video's length cannot be read; the file may be incomplete."))
    _check_complete(path, fmt, streams)
    summary = {
        "format_name": fmt.get("format_name"),
        "format_long_name": fmt.get("format_long_name"),
        "bit_rate": fmt.get("bit_rate"),
        "streams": [{k: s.get(k) for k in ("index", "codec_type", "codec_name", "profile", "width", "height", "pix_fmt",
                                            "avg_frame_rate", "sample_rate", "channels", "duration", "bit_rate")}
                    for s in streams],
    }
    return MediaInfo(AssetKind.video, "video/mp4" if names & {"mov", "mp4"} else "video/x-matroska" if "matroska" in names
                     else "application/octet-stream", str(fmt.get("format_name")), duration_s=round(duration, 3),
                     width=width, height=height, has_audio=bool(audio), probe=summary)


def _check_complete(path: Path, fmt: dict[str, Any], streams: list[dict[str, Any]]) -> None:
    """A truncated MP4 whose index (moov) is at the front still probes; its media data then ends early.
    The streams' bit rates come from that index (sample sizes), so their sum × duration is the size the
    data should have: a file clearly smaller than that is incomplete."""
    if "mov" not in str(fmt.get("format_name")):
        return
    expected = 0.0
    for stream in streams:
        rate, duration = _fraction(stream.get("bit_rate")), _fraction(stream.get("duration"))
        if rate and duration:
            expected += rate * duration / 8
    if expected and path.stat().st_size < expected * 0.95:
        raise MediaRejected(422, _("The video is damaged or incomplete and cannot be read."))


def inspect_image(path: Path, family: str) -> MediaInfo:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as img:
            width, height = img.size
            img.verify()  # checks the structure without decoding
        with Image.open(path) as img:
            img.load()  # decodes: a truncated image fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaRejected(422, _("The image is damaged or incomplete and cannot be read.")) from exc
    mime = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[family]
    container = {"jpeg": "jpeg_pipe", "png": "png_pipe", "webp": "webp_pipe"}[family]
    assert container in IMAGE_CONTAINERS
    return MediaInfo(AssetKind.image, mime, container, width=width, height=height, probe={"format": family})


def inspect_pdf(path: Path) -> MediaInfo:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise MediaRejected(422, _("The PDF is damaged, incomplete or password-protected.")) from exc
    try:
        pages = len(pdf)
        if pages == 0:
            raise MediaRejected(422, _("The PDF has no pages."))
        width, height = (int(v) for v in pdf[0].get_size())
    finally:
        pdf.close()
    return MediaInfo(AssetKind.pdf, "application/pdf", "pdf", width=width, height=height, page_count=pages,
                     probe={"format": "pdf", "pages": pages})
