"""ffprobe/ffmpeg command lines as pure functions (argv lists, run without a shell), and the parsing
of their output. Unit-tested without ffmpeg (tests/media/test_ffmpeg.py).

Every command that reads an uploaded file opens it with `-protocol_whitelist file` and a
`-format_whitelist` of the containers we accept, so no input (an HLS playlist, a concat list, an
ffconcat or a `file:`/`http:` reference inside a container) can make ffmpeg read other files or the
network. `-nostdin` keeps ffmpeg from ever waiting on a terminal.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Demuxer names ffprobe reports for the containers we accept (a demuxer's name may list several,
# e.g. "mov,mp4,m4a,3gp,3g2,mj2"; a probe is accepted when any of its names is here).
VIDEO_CONTAINERS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "mpegts", "flv", "mpeg", "asf")
IMAGE_CONTAINERS = ("image2", "jpeg_pipe", "png_pipe", "webp_pipe")
FORMAT_WHITELIST = ",".join(VIDEO_CONTAINERS)
PROTOCOL_WHITELIST = "file"

SEGMENT_SECONDS = 6
AUDIO_BITRATE = "128k"
LOUDNORM = "loudnorm=I=-16:TP=-1.5:LRA=11"
POSTER_HEIGHT = 720
THUMB_WIDTH = 160
THUMB_HEIGHT = 90
THUMB_COLUMNS = 10
THUMB_MAX = 100


@dataclass(frozen=True)
class Rung:
    """One HLS variant: its height and video bitrate (kbit/s)."""

    height: int
    video_kbps: int

    @property
    def name(self) -> str:
        return f"{self.height}p"


LADDER = (Rung(1080, 5000), Rung(720, 2800), Rung(480, 1400), Rung(360, 800))


def even(value: float) -> int:
    """libx264 with 4:2:0 needs even dimensions."""
    return max(2, int(value) // 2 * 2)


def choose_ladder(source_height: int, ladder: Sequence[Rung] = LADDER) -> list[Rung]:
    """The rungs at or below the source (never upscale); a source smaller than the lowest rung gets one
    rung at its own size."""
    if source_height <= 0:
        raise ValueError("the source has no height")
    rungs = [r for r in ladder if r.height <= source_height]
    if rungs:
        return rungs
    lowest = ladder[-1]
    return [Rung(even(source_height), max(200, lowest.video_kbps * source_height // lowest.height))]


def _input(path: str, *, seek: float | None = None) -> list[str]:
    args = ["-protocol_whitelist", PROTOCOL_WHITELIST, "-format_whitelist", FORMAT_WHITELIST]
    if seek:
        args += ["-ss", f"{seek:.3f}"]
    return [*args, "-i", path]


def probe_argv(ffprobe: str, path: str) -> list[str]:
    """ffprobe as JSON. No format whitelist here: we want to *see* an hls/concat/tty probe and refuse it."""
    return [ffprobe, "-v", "error", "-protocol_whitelist", PROTOCOL_WHITELIST, "-print_format", "json",
            "-show_format", "-show_streams", path]


@dataclass(frozen=True)
class TranscodePlan:
    source: str
    out_dir: str
    rungs: list[Rung]
    has_audio: bool
    mp4_height: int
    threads: int = 0
    preset: str = "veryfast"
    variant_names: list[str] = field(default_factory=list)


def plan_transcode(source: str, out_dir: str, *, source_height: int, has_audio: bool, threads: int = 0) -> TranscodePlan:
    rungs = choose_ladder(source_height)
    mp4_height = min(720, rungs[0].height)
    return TranscodePlan(source, out_dir, rungs, has_audio, mp4_height, threads, variant_names=[r.name for r in rungs])


def transcode_argv(ffmpeg: str, plan: TranscodePlan) -> list[str]:
    """One decode of the source → an HLS ladder (6 s segments, keyframes on segment boundaries) plus an
    MP4 fallback, audio loudness-normalised once and shared by every output."""
    n = len(plan.rungs)
    outputs = n + 1  # every HLS variant and the MP4
    graph = [f"[0:v:0]split={outputs}" + "".join(f"[vs{i}]" for i in range(outputs))]
    for i, rung in enumerate(plan.rungs):
        graph.append(f"[vs{i}]scale=-2:{rung.height},setsar=1,format=yuv420p[v{i}]")
    graph.append(f"[vs{n}]scale=-2:{plan.mp4_height},setsar=1,format=yuv420p[vmp4]")
    if plan.has_audio:
        graph.append(f"[0:a:0]{LOUDNORM},aresample=48000,asplit={outputs}" + "".join(f"[a{i}]" for i in range(outputs)))
    keyframes = f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *_input(plan.source),
            "-filter_complex", ";".join(graph)]
    if plan.threads:
        argv += ["-threads", str(plan.threads)]
    stream_map = []
    for i, rung in enumerate(plan.rungs):
        argv += ["-map", f"[v{i}]"]
        if plan.has_audio:
            argv += ["-map", f"[a{i}]"]
        argv += [f"-b:v:{i}", f"{rung.video_kbps}k", f"-maxrate:v:{i}", f"{rung.video_kbps * 107 // 100}k",
                 f"-bufsize:v:{i}", f"{rung.video_kbps * 3 // 2}k"]
        stream_map.append(f"v:{i},a:{i},name:{rung.name}" if plan.has_audio else f"v:{i},name:{rung.name}")
    argv += ["-c:v", "libx264", "-preset", plan.preset, "-profile:v", "main", "-force_key_frames", keyframes,
             "-sc_threshold", "0"]
    if plan.has_audio:
        argv += ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ac", "2"]
    argv += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
             "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
             "-hls_segment_filename", f"{plan.out_dir}/hls/%v/seg_%05d.ts", "-master_pl_name", "master.m3u8",
             "-var_stream_map", " ".join(stream_map), f"{plan.out_dir}/hls/%v/index.m3u8"]
    argv += ["-map", "[vmp4]"]
    if plan.has_audio:
        argv += ["-map", f"[a{n}]", "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ac", "2"]
    argv += ["-c:v", "libx264", "-preset", plan.preset, "-crf", "23", "-profile:v", "main",
             "-movflags", "+faststart", f"{plan.out_dir}/fallback.mp4"]
    return [*argv, "-progress", "pipe:1", "-nostats"]


def poster_time(duration: float) -> float:
    """A frame from early in the video, past a black first frame or fade-in."""
    return round(min(max(duration * 0.1, 0.0), 5.0), 3)


def poster_argv(ffmpeg: str, source: str, out: str, *, duration: float, height: int) -> list[str]:
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *_input(source, seek=poster_time(duration)),
            "-frames:v", "1", "-vf", f"scale=-2:{min(height, POSTER_HEIGHT)}", "-q:v", "3", out]


@dataclass(frozen=True)
class ThumbnailGrid:
    count: int
    interval_s: float
    columns: int
    rows: int
    width: int = THUMB_WIDTH
    height: int = THUMB_HEIGHT

    def meta(self) -> dict[str, Any]:
        return {"count": self.count, "interval_s": self.interval_s, "columns": self.columns, "rows": self.rows,
                "width": self.width, "height": self.height}


def thumbnail_grid(duration: float) -> ThumbnailGrid:
    """One frame every 10 s (more often in short videos), at most THUMB_MAX, laid out 10 to a row."""
    count = max(1, min(THUMB_MAX, math.ceil(duration / 10) if duration >= 20 else max(1, math.ceil(duration))))
    interval = max(duration / count, 0.04)
    columns = min(THUMB_COLUMNS, count)
    return ThumbnailGrid(count, round(interval, 3), columns, math.ceil(count / columns))


def thumbnails_argv(ffmpeg: str, source: str, out: str, grid: ThumbnailGrid) -> list[str]:
    vf = (f"fps=1/{grid.interval_s},scale={grid.width}:{grid.height}:force_original_aspect_ratio=decrease,"
          f"pad={grid.width}:{grid.height}:(ow-iw)/2:(oh-ih)/2,tile={grid.columns}x{grid.rows}")
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *_input(source),
            "-an", "-vf", vf, "-frames:v", "1", "-q:v", "5", out]


class ProgressParser:
    """Reads ffmpeg's `-progress pipe:1` key=value lines; yields a percentage at each block's end."""

    def __init__(self, duration_s: float) -> None:
        self.duration_us = max(duration_s, 0.001) * 1_000_000
        self.out_time_us = 0
        self.ended = False

    def feed(self, line: str) -> int | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        if key in ("out_time_us", "out_time_ms"):  # both are microseconds (out_time_ms is misnamed)
            with contextlib.suppress(ValueError):  # "N/A" before the first frame
                self.out_time_us = max(self.out_time_us, int(value))
            return None
        if key == "progress":
            self.ended = value == "end"
            return 100 if self.ended else self.percent
        return None

    @property
    def percent(self) -> int:
        return max(0, min(99, int(self.out_time_us * 100 / self.duration_us)))


def parse_progress(lines: Iterable[str], duration_s: float) -> list[int]:
    parser = ProgressParser(duration_s)
    return [p for p in (parser.feed(line) for line in lines) if p is not None]
