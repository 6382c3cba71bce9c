"""The ffmpeg/ffprobe command lines and progress parsing, without running ffmpeg."""

from __future__ import annotations

import pytest

from app.media import ffmpeg
from app.media.validation import sniff


def test_ladder_never_upscales() -> None:
    assert [r.height for r in ffmpeg.choose_ladder(2160)] == [1080, 720, 480, 360]
    assert [r.height for r in ffmpeg.choose_ladder(1080)] == [1080, 720, 480, 360]
    assert [r.height for r in ffmpeg.choose_ladder(720)] == [720, 480, 360]
    assert [r.height for r in ffmpeg.choose_ladder(500)] == [480, 360]
    small = ffmpeg.choose_ladder(241)
    assert [r.height for r in small] == [240] and small[0].video_kbps >= 200
    with pytest.raises(ValueError):
        ffmpeg.choose_ladder(0)


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_transcode_argv_is_safe_and_complete() -> None:
    plan = ffmpeg.plan_transcode("/data/in.mp4", "/work", source_height=720, has_audio=True)
    argv = ffmpeg.transcode_argv("ffmpeg", plan)
    assert all(isinstance(a, str) for a in argv)
    assert argv[0] == "ffmpeg" and "-nostdin" in argv
    # the whitelists come before the (only) input
    i = argv.index("-i")
    assert argv.count("-i") == 1 and argv[i + 1] == "/data/in.mp4"
    assert _value(argv, "-protocol_whitelist") == "file" and argv.index("-protocol_whitelist") < i
    allowed = _value(argv, "-format_whitelist").split(",")
    assert argv.index("-format_whitelist") < i and "mp4" in allowed and "matroska" in allowed
    assert not {"hls", "concat", "tty", "http", "image2"} & set(allowed)
    graph = _value(argv, "-filter_complex")
    assert "split=4" in graph and "scale=-2:720" in graph and "scale=-2:360" in graph and "scale=-2:1080" not in graph
    assert "loudnorm=I=-16" in graph and "asplit=4" in graph
    assert _value(argv, "-hls_time") == "6" and _value(argv, "-hls_playlist_type") == "vod"
    assert _value(argv, "-var_stream_map") == "v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p"
    assert _value(argv, "-force_key_frames") == "expr:gte(t,n_forced*6)"
    assert "/work/hls/%v/index.m3u8" in argv and argv[-4] == "/work/fallback.mp4"
    assert argv[-3:] == ["-progress", "pipe:1", "-nostats"]
    assert _value(argv, "-b:v:0") == "2800k"


def test_transcode_argv_without_audio() -> None:
    plan = ffmpeg.plan_transcode("in.webm", "/w", source_height=360, has_audio=False, threads=2)
    argv = ffmpeg.transcode_argv("/usr/bin/ffmpeg", plan)
    assert "loudnorm" not in " ".join(argv) and "-c:a" not in argv
    assert _value(argv, "-var_stream_map") == "v:0,name:360p"
    assert _value(argv, "-threads") == "2"
    assert plan.mp4_height == 360


def test_poster_and_thumbnails() -> None:
    argv = ffmpeg.poster_argv("ffmpeg", "in.mp4", "p.jpg", duration=100, height=1080)
    assert _value(argv, "-ss") == "5.000" and argv.index("-ss") < argv.index("-i")
    assert _value(argv, "-protocol_whitelist") == "file" and _value(argv, "-vf") == "scale=-2:720"
    assert ffmpeg.poster_time(2.0) == 0.2
    grid = ffmpeg.thumbnail_grid(600)
    assert (grid.count, grid.columns, grid.rows, grid.interval_s) == (60, 10, 6, 10.0)
    assert ffmpeg.thumbnail_grid(5000).count == ffmpeg.THUMB_MAX
    assert ffmpeg.thumbnail_grid(2).count == 2
    t = ffmpeg.thumbnails_argv("ffmpeg", "in.mp4", "t.jpg", grid)
    assert "tile=10x6" in _value(t, "-vf") and "-nostdin" in t and _value(t, "-format_whitelist")


def test_probe_argv_reports_json_and_only_reads_files() -> None:
    argv = ffmpeg.probe_argv("ffprobe", "x")
    assert _value(argv, "-print_format") == "json" and _value(argv, "-protocol_whitelist") == "file"
    assert "-show_streams" in argv and "-show_format" in argv and argv[-1] == "x"


def test_progress_parsing() -> None:
    out = """frame=10
out_time_us=N/A
progress=continue
out_time_us=2500000
out_time=00:00:02.500000
progress=continue
out_time_ms=5000000
progress=continue
garbage
out_time_us=9999999
progress=end
"""
    assert ffmpeg.parse_progress(out.splitlines(), 10.0) == [0, 25, 50, 100]
    parser = ffmpeg.ProgressParser(1.0)
    parser.feed("out_time_us=5000000")
    assert parser.feed("progress=continue") == 99  # never 100 before "end"
    assert parser.feed("out_time_us=100") is None and parser.percent == 99  # never goes back


@pytest.mark.parametrize(("head", "family"), [
    (b"\x00\x00\x00\x20ftypisom", "video"), (b"\x1a\x45\xdf\xa3\x01", "video"), (b"RIFF\x00\x00\x00\x00AVI LIST", "video"),
    (b"FLV\x01", "video"), (b"\xff\xd8\xff\xe0", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
    (b"%PDF-1.7", "pdf"), (b"#EXTM3U\n", None), (b"ffconcat version 1.0\n", None), (b"hello", None), (b"", None),
])
def test_sniff(head: bytes, family: str | None) -> None:
    assert sniff(head) == family
