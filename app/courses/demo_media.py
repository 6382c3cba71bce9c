"""Real media for the demo courses, made on the spot at seed time (nothing binary in the repository):

- a 12 s 640×360 clip (ffmpeg's testsrc2 with a sine tone and a Chinese title drawn with the Noto CJK
  font of scripts/system-deps.sh; without the font, or without drawtext, the clip has no title);
- a picture book drawn with Pillow: two pages as a PDF (the way standards arrive) and one as a PNG.

They are stored through the media service like uploads (validated, content-addressed) and their
processing is queued; the worker embedded in `make run` makes the renditions. Idempotent: assets are
found again by their owner and file name, so a second seed generates and stores nothing. Without
ffmpeg the demo keeps its placeholder video, and a failure here never fails the seed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.errors import DomainError
from app.media import service as media
from app.media.models import MediaAsset

log = logging.getLogger("shixun.demo")

VIDEO_FILE = "shixun-demo-vc-test.mp4"
BOOK_PDF = "shixun-demo-switchover.pdf"
BOOK_PNG = "shixun-demo-switchover-3.png"
VIDEO_TITLE = "演示：视频终端联调"
VIDEO_SECONDS = 12
BOOK_PAGES = (  # (drawn heading, caption); the first two go in the PDF, the last is the PNG
    ("主线路中断", "第一步：主线路图像或声音中断时，保持镇静，先确认备用终端已开机待命。"),
    ("切换备用终端", "第二步：在 30 秒内切换到备用终端和备用线路，检查图像、声音是否恢复。"),
    ("报告主会场", "第三步：切换完成后立即报告主会场，并在保障记录中写明中断时间和原因。"),
)
COLOURS = ((164, 22, 26), (25, 94, 160), (32, 128, 72))


@dataclass
class DemoMedia:
    """What the demo courses use instead of placeholders (by material title)."""

    configs: dict[str, dict[str, Any]] = field(default_factory=dict)


def cjk_font() -> Path | None:
    """A Noto Sans CJK font file (installed by scripts/system-deps.sh), or None."""
    candidates = [Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
                  Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc")]
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True,  # noqa: S607
                                 timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and "CJK" in out:
            candidates.insert(0, Path(out))
    return next((p for p in candidates if p.is_file()), None)


def video_argv(ffmpeg: str, target: Path, *, font: Path | None, title: str = VIDEO_TITLE, seconds: int = VIDEO_SECONDS) -> list[str]:
    """A short test clip: colour bars that move, a 440 Hz tone, and the title when a font is there."""
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(seconds)]
    if font is not None:
        argv += ["-vf", f"drawtext=fontfile={font}:text={title}:fontsize=34:fontcolor=white:box=1:boxcolor=black@0.55"
                        ":boxborderw=12:x=(w-text_w)/2:y=h-text_h-36"]
    return argv + ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
                   "-shortest", "-movflags", "+faststart", str(target)]


def make_video(directory: Path) -> Path | None:
    settings = get_settings()
    if shutil.which(settings.ffmpeg_binary) is None or shutil.which(settings.ffprobe_binary) is None:
        log.info("demo video skipped: ffmpeg/ffprobe not found")
        return None
    target = directory / VIDEO_FILE
    font = cjk_font()
    for attempt_font in ((font, None) if font else (None,)):  # a build without drawtext: try without the title
        try:
            subprocess.run(video_argv(settings.ffmpeg_binary, target, font=attempt_font), capture_output=True, timeout=120,  # noqa: S603
                           check=True)
            return target
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("demo video: ffmpeg failed (%s)", exc)
    return None


def draw_page(number: int, heading: str, font: Path | None) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    width, height = 1200, 800
    colour = COLOURS[(number - 1) % len(COLOURS)]
    img = Image.new("RGB", (width, height), (250, 248, 244))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width, 120), fill=colour)
    draw.rounded_rectangle((140, 220, 1060, 640), radius=36, outline=colour, width=10)
    draw.ellipse((520, 330, 680, 490), fill=colour)  # the "terminal" of the drawing
    draw.rectangle((560, 490, 640, 560), fill=colour)
    if font is not None:
        big, small = ImageFont.truetype(str(font), 64, index=2), ImageFont.truetype(str(font), 40, index=2)  # index 2: SC
        draw.text((60, 24), f"第 {number} 步", font=big, fill="white")
        draw.text((width // 2, 700), heading, font=small, fill=(40, 40, 40), anchor="mm")
    else:
        draw.text((60, 50), f"{number}", fill="white")
    return img


def make_book(directory: Path) -> tuple[Path, Path]:
    font = cjk_font()
    pages = [draw_page(n, heading, font) for n, (heading, _caption) in enumerate(BOOK_PAGES, start=1)]
    pdf, png = directory / BOOK_PDF, directory / BOOK_PNG
    pages[0].save(pdf, "PDF", save_all=True, append_images=pages[1:2], resolution=150)
    pages[2].save(png, "PNG")
    return pdf, png


def _existing(session: Session, owner: User, filename: str) -> MediaAsset | None:
    return session.exec(select(MediaAsset).where(MediaAsset.owner_id == owner.id, MediaAsset.original_name == filename)
                        .order_by(col(MediaAsset.created_at))).first()


def _stored(session: Session, owner: User, path: Path | None, filename: str, *, title: str, kind: str | None = None) -> MediaAsset | None:
    found = _existing(session, owner, filename)
    if found is not None or path is None:
        return found
    try:
        with session.begin_nested():
            return media.add_local_file(session, owner, path, title=title, kind=kind)
    except (DomainError, OSError, RuntimeError) as exc:
        log.warning("demo media %s not stored: %s", filename, exc)
        return None


def ensure(session: Session, owner: User) -> DemoMedia:
    """The demo's real video and picture book, made and stored once; their configs by material title."""
    out = DemoMedia()
    needed = [name for name in (VIDEO_FILE, BOOK_PDF, BOOK_PNG) if _existing(session, owner, name) is None]
    with tempfile.TemporaryDirectory(prefix="shixun-demo-") as tmp:
        directory = Path(tmp)
        video_path = make_video(directory) if VIDEO_FILE in needed else None
        pdf_path, png_path = make_book(directory) if {BOOK_PDF, BOOK_PNG} & set(needed) else (None, None)
        video = _stored(session, owner, video_path, VIDEO_FILE, title=VIDEO_TITLE)
        pdf = _stored(session, owner, pdf_path, BOOK_PDF, title="图解：主备切换（PDF）", kind="picture_book")
        png = _stored(session, owner, png_path, BOOK_PNG, title="图解：报告主会场")
    if video is not None:
        out.configs[VIDEO_TITLE] = {"asset_id": video.id, "duration_s": max(1, round(video.duration_s or VIDEO_SECONDS))}
    if pdf is not None and png is not None:
        refs = [f"{pdf.id}#p1", f"{pdf.id}#p2", png.id]
        captions = [caption for _heading, caption in BOOK_PAGES]
        out.configs["图解：主备切换"] = {"pages": [{"image": r, "caption": c} for r, c in zip(refs, captions, strict=True)]}
    return out
