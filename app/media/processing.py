"""Making renditions from an original, in a work directory, without the database.

Each `make_*` function writes into `work` and returns the manifest (the renditions it made, paths
relative to `work`). The job handler (jobs.py) runs them outside any transaction, publishes the work
directory atomically under the content hash, and only then records the renditions.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.media import ffmpeg
from app.media.models import RenditionKind

log = logging.getLogger("shixun.media")

Report = Callable[[int, str | None], None]  # percent 0..100, message
IMAGE_WIDTHS = (320, 640, 1280, 1920)
PAGE_WIDTH = 1600
WEBP_QUALITY = 80
MANIFEST = "manifest.json"
REPORT_EVERY_S = 1.0


class ProcessingFailed(Exception):
    """ffmpeg or a decoder refused the file: retrying will not help."""


def rendition(kind: RenditionKind, label: str, path: str, mime: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind.value, "label": label, "path": path, "mime_type": mime, **extra}


def write_manifest(work: Path, renditions: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    for item in renditions:
        file = work / item["path"]
        if file.is_file():
            item.setdefault("size_bytes", file.stat().st_size)
    (work / MANIFEST).write_text(json.dumps({"renditions": renditions, "extra": extra or {}}, ensure_ascii=False))


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# -- video ---------------------------------------------------------------------------------------

def run_ffmpeg(argv: list[str], *, duration: float, report: Report, lo: int, hi: int, timeout_s: float | None = None) -> None:
    """Run ffmpeg (no shell), mapping its `-progress pipe:1` output onto lo..hi percent.

    `report` may raise (cancelled, lease lost, timed out): the process is killed before it propagates.
    stderr goes to a temp file so a chatty ffmpeg can never block on a full pipe.
    """
    parser = ffmpeg.ProgressParser(duration)
    started = last = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True)  # noqa: S603
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                percent = parser.feed(line)
                now = time.monotonic()
                if timeout_s is not None and now - started > timeout_s:
                    raise TimeoutError(f"ffmpeg ran longer than {timeout_s:.0f} s")
                if percent is not None and now - last >= REPORT_EVERY_S:
                    last = now
                    report(lo + (hi - lo) * percent // 100, None)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            errors.seek(0)
            tail = errors.read()[-2000:].decode("utf-8", "replace").strip()
            raise ProcessingFailed(f"ffmpeg exited with {code}: {tail or 'no message'}")


def run_quick(argv: list[str], *, timeout_s: float = 300) -> None:
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ProcessingFailed(f"ffmpeg exited with {result.returncode}: {result.stderr[-2000:].decode('utf-8', 'replace')}")


def make_video(source: Path, work: Path, payload: dict[str, Any], report: Report, *, ffmpeg_bin: str = "ffmpeg",
               threads: int = 0, timeout_s: float | None = None) -> list[dict[str, Any]]:
    duration = float(payload.get("duration_s") or 0) or 1.0
    height = int(payload.get("height") or 0)
    plan = ffmpeg.plan_transcode(str(source), str(work), source_height=height, has_audio=bool(payload.get("has_audio")),
                                 threads=threads)
    report(0, "transcoding")
    run_ffmpeg(ffmpeg.transcode_argv(ffmpeg_bin, plan), duration=duration, report=report, lo=0, hi=90, timeout_s=timeout_s)
    report(90, "poster")
    run_quick(ffmpeg.poster_argv(ffmpeg_bin, str(source), str(work / "poster.jpg"), duration=duration, height=height))
    grid = ffmpeg.thumbnail_grid(duration)
    report(95, "thumbnails")
    run_quick(ffmpeg.thumbnails_argv(ffmpeg_bin, str(source), str(work / "thumbnails.jpg"), grid))
    width = int(payload.get("width") or 0)
    out = [rendition(RenditionKind.hls, "master", "hls/master.m3u8", "application/vnd.apple.mpegurl",
                     meta={"variants": plan.variant_names, "segment_s": ffmpeg.SEGMENT_SECONDS})]
    for pos, rung in enumerate(plan.rungs):
        out.append(rendition(RenditionKind.hls_variant, rung.name, f"hls/{rung.name}/index.m3u8", "application/vnd.apple.mpegurl",
                             height=rung.height, width=ffmpeg.even(width * rung.height / height) if height else None,
                             bitrate=rung.video_kbps * 1000, position=pos))
    out.append(rendition(RenditionKind.mp4, f"{plan.mp4_height}p", "fallback.mp4", "video/mp4", height=plan.mp4_height,
                         width=ffmpeg.even(width * plan.mp4_height / height) if height else None))
    out.append(rendition(RenditionKind.poster, "poster", "poster.jpg", "image/jpeg"))
    out.append(rendition(RenditionKind.thumbnails, "strip", "thumbnails.jpg", "image/jpeg", meta=grid.meta()))
    return out


# -- images --------------------------------------------------------------------------------------

def _clean_image(img: Any) -> Any:
    """Upright (EXIF orientation applied) and stripped: a fresh image carries no EXIF, GPS, XMP or ICC text."""
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(img) or img
    mode = "RGBA" if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info) else "RGB"
    converted = img.convert(mode)
    clean = Image.new(mode, converted.size)
    clean.paste(converted)
    return clean


def make_image(source: Path, work: Path, report: Report) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from PIL import Image

    report(5, "image")
    with Image.open(source) as img:
        clean = _clean_image(img)
    width, height = clean.size
    widths = [w for w in IMAGE_WIDTHS if w < width] + [width]
    out = []
    for pos, w in enumerate(widths):
        h = max(1, round(height * w / width))
        name = f"w{w}.webp"
        (clean if w == width else clean.resize((w, h), Image.Resampling.LANCZOS)).save(work / name, "WEBP", quality=WEBP_QUALITY,
                                                                                        method=4)
        out.append(rendition(RenditionKind.image, f"w{w}", name, "image/webp", width=w, height=h, position=pos))
        report(10 + 85 * (pos + 1) // len(widths), "image")
    return out, {"width": width, "height": height}


# -- PDF -----------------------------------------------------------------------------------------

def make_pdf_pages(source: Path, work: Path, report: Report) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(source))
    except pdfium.PdfiumError as exc:
        raise ProcessingFailed(f"the PDF cannot be opened: {exc}") from exc
    out = []
    try:
        count = len(pdf)
        (work / "pages").mkdir()
        for index in range(count):
            page = pdf[index]
            page_w, _page_h = page.get_size()
            bitmap = page.render(scale=PAGE_WIDTH / max(page_w, 1), may_draw_forms=True)
            image = bitmap.to_pil()
            name = f"pages/p{index + 1:04d}.webp"
            image.save(work / name, "WEBP", quality=WEBP_QUALITY, method=4)
            out.append(rendition(RenditionKind.page, f"p{index + 1:04d}", name, "image/webp", width=image.width,
                                 height=image.height, position=index + 1))
            page.close()
            report(100 * (index + 1) // count, f"page {index + 1}/{count}")
    finally:
        pdf.close()
    return out, {"page_count": len(out)}
