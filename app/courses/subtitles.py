"""Subtitles for video materials: WebVTT checked and normalised, SubRip (.srt) converted to WebVTT.

Instructors paste or pick a file in the material form; the text is stored in the material's config
(so a published version freezes its subtitles with everything else) and served as `text/vtt` to the
player's <track>. Browsers render cue text as text, never as HTML, so the only thing to check here is
that the file is well-formed: a header, cue timings that parse and do not run backwards.
"""

from __future__ import annotations

import re

MAX_CHARS = 200_000
_TIME = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
TIMING = re.compile(rf"^\s*{_TIME}\s+-->\s+{_TIME}(?P<settings>[ \t].*)?$")
HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")


class SubtitleError(ValueError):
    """The text is not WebVTT or SubRip; the message names the line."""


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _vtt_time(value: float) -> str:
    millis = round(value * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def normalise(text: str) -> str:
    """WebVTT text for `text` (WebVTT or SubRip); SubtitleError when neither."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise SubtitleError("the subtitles are empty")
    if len(text) > MAX_CHARS:
        raise SubtitleError(f"the subtitles are longer than {MAX_CHARS} characters")
    lines = text.split("\n")
    is_vtt = bool(HEADER.match(lines[0]))
    if not is_vtt and lines[0].startswith("WEBVTT"):
        raise SubtitleError("line 1: the WEBVTT header must be followed by a space or a new line")
    body = lines[1:] if is_vtt else lines
    out = ["WEBVTT"] if not is_vtt else [lines[0]]
    if not is_vtt:
        out.append("")
    cues = 0
    for number, line in enumerate(body, start=2 if is_vtt else 1):
        if "-->" not in line:
            out.append(line)
            continue
        match = TIMING.match(line)
        if match is None:
            raise SubtitleError(f"line {number}: cue timing not understood: {line.strip()[:60]}")
        groups = match.groups()
        start, end = _seconds(*groups[0:4]), _seconds(*groups[4:8])
        if end < start:
            raise SubtitleError(f"line {number}: the cue ends before it starts")
        settings = (match.group("settings") or "") if is_vtt else ""
        out.append(f"{_vtt_time(start)} --> {_vtt_time(end)}{settings}")
        cues += 1
    if cues == 0:
        raise SubtitleError("no cues: expected lines like 00:00:01.000 --> 00:00:04.000")
    return "\n".join(out) + "\n"
