"""Video materials: watched intervals, the skip-proof completion rule, heartbeats, resume, and what the
player needs (sources, poster, subtitles).

Completion is decided here from what the player reports, never from a "done" flag. Every few seconds
(and on pause, end and leaving the page) the player sends a heartbeat: the stretches of media time it
played since the last one, as intervals [start, end], and where it is now. The server merges them
into the material's progress state and completes the material when

1. the distinct seconds watched reach the material's `completion_percent` (default 90) of the video's
   length, and
2. the wall-clock time since the first played interval arrived is consistent with that: at least
   watched / MAX_RATE - CLOCK_TOLERANCE_S seconds (nobody watches faster than the player's fastest rate).

The clock starts at the first heartbeat that adds a played second, not at the first heartbeat: an
empty heartbeat costs nothing to send, so "send one now, claim the whole video later" would otherwise
buy the time of the wait. The tolerance is a constant (it never grows with the length), so a forger
has to spend the wall-clock time of watching at MAX_RATE whatever the video's length, and one beat
claiming a whole short clip fails. The honest viewer's shortfall is what the first played beat
carries (played before the clock starts) plus network jitter: the player sends its first tick
FIRST_TICK_SECONDS after playback starts (at most 2 s of media at 2x, 1 s of wall clock), which the
tolerance covers. A viewer whose first ticks were lost completes at a later heartbeat (the player
sends one more after "ended" when the rule is not met yet).

Seeking to the end adds nothing: only played stretches count, and each second counts once however
often it is replayed. With `no_seek`, the player will not go past the furthest point watched, and
the server ignores intervals that start beyond it (+ tolerance). Heartbeats are idempotent: intervals
are merged as a union, and a replayed or late heartbeat (same player session, not a newer sequence
number) never moves the resume position back.

State, in courses_material_progress.state (JSON) of a video:
    {"watched": [[0.0, 61.5], [90.0, 95.25]],  merged, sorted, disjoint (seconds, 2 decimals)
     "watched_s": 66.75, "position": 95.25, "furthest": 61.5,
     "first_beat_at": "…", "first_play_at": "…", "last_beat_at": "…", "beat": {"session": "…", "seq": 7}}
States written before first_play_at existed have first_beat_at only: when they have watched seconds,
their clock starts at first_beat_at (the rule they were recorded under); when they have none, the
clock starts at their next played interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.core.jobs import Job, JobStatus
from app.core.models import utcnow
from app.courses import learning, reads
from app.courses.models import MaterialKind
from app.media import permissions as media_permissions
from app.media import service as media
from app.media.models import AssetKind, AssetStatus, MediaAsset, MediaRendition, RenditionKind

Interval = tuple[float, float]

MAX_RATE = 2.0  # the player's fastest playback rate; the wall-clock rule assumes nobody watches faster
# What the wall-clock rule forgives, whatever the length: the first played beat's own stretch (played before
# the clock starts: FIRST_TICK_SECONDS at MAX_RATE at most) plus network jitter between two heartbeats.
CLOCK_TOLERANCE_S = 2.0
TOLERANCE_S = 2.0  # no-seek: how far past the furthest point an interval may start (timeupdate granularity)
END_TOLERANCE_S = 1.0  # intervals may end this far past the probed length (containers disagree slightly)
COUNT_TOLERANCE_S = 0.5  # "90 %" is reached half a second early (the last frame never reports the very end)
MAX_INTERVALS_PER_BEAT = 100
MAX_STORED_INTERVALS = 1000
RESUME_NEAR_END_S = 3.0  # a position this close to the end resumes from the start
HEARTBEAT_SECONDS = 5
FIRST_TICK_SECONDS = 1  # the player's first heartbeat after playback starts comes this soon (static/js/player.js)


# ---------------------------------------------------------------------------------------------
# Pure rules (unit-tested without a database)


def merge_intervals(intervals: Iterable[Sequence[float]]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same seconds; touching or overlapping ones are joined,
    empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted((float(s), float(e)) for s, e in intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def covered_seconds(merged: Sequence[Interval]) -> float:
    return sum(end - start for start, end in merged)


def furthest_point(merged: Sequence[Interval], tolerance: float = TOLERANCE_S) -> float:
    """The end of the stretch watched from the beginning (gaps up to `tolerance` bridged): how far a
    no-seek player may go."""
    end = 0.0
    for start, stop in merged:
        if start > end + tolerance:
            break
        end = max(end, stop)
    return end


def admit(watched: Sequence[Interval], new: Iterable[Sequence[float]], *, no_seek: bool,
          tolerance: float = TOLERANCE_S) -> list[Interval]:
    """`watched` with the `new` intervals added. With `no_seek`, an interval counts only if it starts
    within `tolerance` of the furthest point reached (counting the new intervals admitted before it)."""
    if not no_seek:
        return merge_intervals([*watched, *new])
    merged = merge_intervals(watched)
    pending = merge_intervals(new)
    while pending:
        limit = furthest_point(merged, tolerance) + tolerance
        reachable = [iv for iv in pending if iv[0] <= limit]
        if not reachable:
            break
        merged = merge_intervals([*merged, *reachable])
        pending = [iv for iv in pending if iv[0] > limit]
    return merged


@dataclass(frozen=True)
class Verdict:
    complete: bool
    reason: str  # "ok", "not-enough", "too-fast", "no-duration"
    needed_s: float
    min_elapsed_s: float


def completion_verdict(watched_s: float, duration_s: float | None, elapsed_s: float, *, percent: int = 90,
                       max_rate: float = MAX_RATE, tolerance_s: float = CLOCK_TOLERANCE_S) -> Verdict:
    """Whether `watched_s` distinct seconds of a `duration_s` video, reported over `elapsed_s` seconds
    of wall-clock time since the first played interval arrived, complete the material."""
    if not duration_s or duration_s <= 0:
        return Verdict(False, "no-duration", 0.0, 0.0)
    needed = duration_s * percent / 100
    min_elapsed = max(0.0, watched_s / max_rate - tolerance_s)
    if watched_s + COUNT_TOLERANCE_S < needed:
        return Verdict(False, "not-enough", needed, min_elapsed)
    if elapsed_s < min_elapsed:
        return Verdict(False, "too-fast", needed, min_elapsed)
    return Verdict(True, "ok", needed, min_elapsed)


def _round(value: float) -> float:
    return round(value, 2)


@dataclass
class VideoState:
    watched: list[Interval] = field(default_factory=list)
    position: float = 0.0
    first_beat_at: str | None = None
    first_play_at: str | None = None  # when the first played second arrived: the wall-clock rule counts from here
    last_beat_at: str | None = None
    session: str = ""
    seq: int = -1

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> VideoState:
        beat = state.get("beat") or {}
        watched = [(float(s), float(e)) for s, e in state.get("watched", [])]
        first_play_at = state.get("first_play_at") or (state.get("first_beat_at") if watched else None)  # older states
        return cls(watched=watched, position=float(state.get("position", 0.0)),
                   first_beat_at=state.get("first_beat_at"), first_play_at=first_play_at, last_beat_at=state.get("last_beat_at"),
                   session=str(beat.get("session", "")), seq=int(beat.get("seq", -1)))

    @property
    def watched_s(self) -> float:
        return covered_seconds(self.watched)

    def to_state(self) -> dict[str, Any]:
        return {"watched": [[_round(s), _round(e)] for s, e in self.watched], "watched_s": _round(self.watched_s),
                "position": _round(self.position), "furthest": _round(furthest_point(self.watched)),
                "first_beat_at": self.first_beat_at, "first_play_at": self.first_play_at, "last_beat_at": self.last_beat_at,
                "beat": {"session": self.session, "seq": self.seq}}


def apply_beat(state: VideoState, intervals: Sequence[Interval], position: float, *, session: str, seq: int, now: datetime,
               no_seek: bool, duration_s: float) -> VideoState:
    """The state after one heartbeat (already validated and clipped to the video's length)."""
    watched = admit(state.watched, intervals, no_seek=no_seek)
    stale = session == state.session and seq <= state.seq  # a replay, or overtaken by a newer heartbeat
    new_position = state.position if stale else min(max(position, 0.0), duration_s)
    if no_seek and not stale:
        new_position = min(new_position, furthest_point(watched) + TOLERANCE_S)
    stamp = now.isoformat()
    first_play_at = state.first_play_at or (stamp if watched else None)
    return VideoState(watched=watched, position=new_position, first_beat_at=state.first_beat_at or stamp, first_play_at=first_play_at,
                      last_beat_at=stamp if not stale else (state.last_beat_at or stamp),
                      session=state.session if stale else session, seq=state.seq if stale else seq)


def resume_position(state: dict[str, Any], duration_s: float | None) -> float:
    position = float(state.get("position", 0.0) or 0.0)
    if duration_s and position >= duration_s - RESUME_NEAR_END_S:
        return 0.0
    return position


def elapsed_since_first(state: VideoState, now: datetime) -> float:
    """Wall-clock seconds since the first played interval arrived (0 before any)."""
    if not state.first_play_at:
        return 0.0
    return max(0.0, (now - datetime.fromisoformat(state.first_play_at)).total_seconds())


# ---------------------------------------------------------------------------------------------
# Heartbeats

Seconds = Annotated[float, Field(ge=0, le=24 * 3600, allow_inf_nan=False)]


class Heartbeat(BaseModel):
    """What the player reports. `session`: random per page load; `seq` grows with every heartbeat."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    seq: int = Field(ge=0, le=2**31 - 1)
    position: Seconds
    intervals: list[tuple[Seconds, Seconds]] = Field(default_factory=list, max_length=MAX_INTERVALS_PER_BEAT)
    rate: float = Field(default=1.0, gt=0, le=16, allow_inf_nan=False)
    event: Literal["play", "tick", "pause", "seek", "ended", "hide"] = "tick"


class HeartbeatOut(BaseModel):
    completed: bool
    just_completed: bool
    course_completed: bool
    watched_s: float
    watched_percent: int
    position: float
    furthest: float
    duration_s: float
    needed_percent: int
    wait_s: float = 0.0  # enough was watched but too fast so far: a heartbeat this much later may complete it


def clean_intervals(beat: Heartbeat, duration_s: float) -> list[Interval]:
    """The beat's intervals clipped to the video; ValidationFailed (422) for impossible ones."""
    errors: list[dict[str, Any]] = []
    limit = duration_s + END_TOLERANCE_S
    if beat.position > limit:
        errors.append({"loc": ["body", "position"], "msg": f"beyond the end of the video ({duration_s:.1f} s)"})
    clean: list[Interval] = []
    for i, (start, end) in enumerate(beat.intervals):
        if end < start:
            errors.append({"loc": ["body", "intervals", i], "msg": "ends before it starts"})
        elif end > limit:
            errors.append({"loc": ["body", "intervals", i], "msg": f"beyond the end of the video ({duration_s:.1f} s)"})
        else:
            clean.append((start, min(end, duration_s)))
    if errors:
        raise ValidationFailed(_("The progress report is not valid."), errors=errors)
    return clean


def video_asset(session: Session, config: dict[str, Any]) -> MediaAsset | None:
    asset = media.get_asset(session, str(config.get("asset_id", "")))
    return asset if asset is not None and asset.kind == AssetKind.video else None


def duration_of(asset: MediaAsset | None, config: dict[str, Any]) -> float | None:
    if asset is not None and asset.duration_s:
        return float(asset.duration_s)
    return float(config["duration_s"]) if config.get("duration_s") else None


def record_heartbeat(session: Session, user: User, lesson_id: int, material_id: int, beat: Heartbeat, *,
                     now: datetime | None = None) -> HeartbeatOut:
    """Merge a heartbeat into the trainee's progress and complete the material when the rule says so
    (through learning.complete_material, which awards the course's hours exactly once)."""
    now = now or utcnow()
    enrolment = reads.course_of_lesson_id(session, user, lesson_id)
    if enrolment.started_at is None:
        raise Conflict(_("Start the course first."))
    material = learning.material_in_version(session, enrolment, material_id, kind=MaterialKind.video.value)
    config = material["config"]
    asset = video_asset(session, config)
    duration = duration_of(asset, config)
    if asset is None or asset.status != AssetStatus.ready or not duration:
        raise Conflict(_("This video is not ready to be played yet."))
    intervals = clean_intervals(beat, duration)
    row = learning.progress_for_update(session, enrolment, material_id, now=now)
    before = VideoState.from_state(row.state)
    after = apply_beat(before, intervals, beat.position, session=beat.session, seq=beat.seq, now=now,
                       no_seek=bool(config.get("no_seek")), duration_s=duration)
    if len(after.watched) > MAX_STORED_INTERVALS:
        raise ValidationFailed(_("The progress report is not valid."),
                               errors=[{"loc": ["body", "intervals"], "msg": "too many separate stretches watched"}])
    row.state = {**row.state, **after.to_state()}
    row.updated_at = now
    session.add(row)
    session.flush()
    percent = int(config.get("completion_percent") or 90)
    elapsed = elapsed_since_first(after, now)
    verdict = completion_verdict(after.watched_s, duration, elapsed, percent=percent)
    just_completed = False
    wait = _round(verdict.min_elapsed_s - elapsed) if verdict.reason == "too-fast" and row.completed_at is None else 0.0
    if verdict.complete and row.completed_at is None:
        row = learning.complete_material(session, user, enrolment.course_id, material_id, now=now)
        just_completed = True
        session.refresh(enrolment)  # completing the material may have completed the course
    return HeartbeatOut(completed=row.completed_at is not None, just_completed=just_completed,
                        course_completed=enrolment.completed_at is not None, watched_s=_round(after.watched_s),
                        watched_percent=min(100, int(100 * after.watched_s / duration)), position=_round(after.position),
                        furthest=_round(furthest_point(after.watched)), duration_s=_round(duration), needed_percent=percent,
                        wait_s=wait)


# ---------------------------------------------------------------------------------------------
# What the player shows


@dataclass
class Player:
    asset: MediaAsset | None
    status: str  # the asset's state: queued, processing, ready, failed, or "missing"
    progress: int
    hls: MediaRendition | None = None
    mp4: MediaRendition | None = None
    poster: MediaRendition | None = None
    duration_s: float | None = None
    resume_s: float = 0.0
    furthest_s: float = 0.0
    watched_s: float = 0.0
    no_seek: bool = False
    percent: int = 90
    subtitles: list[dict[str, Any]] = field(default_factory=list)
    heartbeat_s: int = HEARTBEAT_SECONDS
    first_tick_s: int = FIRST_TICK_SECONDS

    @property
    def resume_label(self) -> str:
        whole = int(self.resume_s)
        return f"{whole // 60}:{whole % 60:02d}"

    @property
    def watched_percent(self) -> int:
        return min(100, int(100 * self.watched_s / self.duration_s)) if self.duration_s else 0


def player(session: Session, config: dict[str, Any], state: dict[str, Any]) -> Player:
    """The player of a video material for a trainee whose progress state is `state` (two or three
    queries: the asset, then its renditions once ready, or its job while processing)."""
    asset = video_asset(session, config)
    common: dict[str, Any] = {"no_seek": bool(config.get("no_seek")), "percent": int(config.get("completion_percent") or 90),
              "subtitles": [{"lang": s.get("lang", "zh-CN"), "label": s.get("label", "")} for s in config.get("subtitles", [])]}
    if asset is None:
        return Player(None, "missing", 0, **common)
    if asset.status != AssetStatus.ready:
        state_now = media.asset_state(session, asset)
        return Player(asset, state_now.status, state_now.progress, duration_s=duration_of(asset, config), **common)
    renditions = session.exec(select(MediaRendition).where(col(MediaRendition.asset_id) == asset.id,
                                                           col(MediaRendition.kind).in_([RenditionKind.hls.value, RenditionKind.mp4.value,
                                                                                         RenditionKind.poster.value]))
                              .order_by(col(MediaRendition.position))).all()
    first = {r.kind: r for r in reversed(renditions)}
    duration = duration_of(asset, config)
    watched = VideoState.from_state(state)
    return Player(asset, AssetStatus.ready.value, 100, hls=first.get(RenditionKind.hls.value), mp4=first.get(RenditionKind.mp4.value),
                  poster=first.get(RenditionKind.poster.value), duration_s=duration, resume_s=_round(resume_position(state, duration)),
                  furthest_s=_round(furthest_point(watched.watched)), watched_s=_round(watched.watched_s), **common)


def subtitle_text(session: Session, user: User, lesson_id: int, material_id: int, index: int) -> str:
    """Track `index` of a video material in the version the trainee learns."""
    enrolment = reads.course_of_lesson_id(session, user, lesson_id)
    if enrolment.started_at is None:
        raise NotFound()
    material = learning.material_in_version(session, enrolment, material_id, kind=MaterialKind.video.value)
    tracks = material["config"].get("subtitles", [])
    if not 0 <= index < len(tracks):
        raise NotFound()
    return str(tracks[index]["vtt"])


# ---------------------------------------------------------------------------------------------
# The material editor: choosing a video and the form fields of a video material


@dataclass
class AssetChoice:
    id: str
    title: str
    status: str  # queued, processing, ready, failed
    progress: int
    duration_s: float | None


def _choice(asset: MediaAsset, job_status: str | None, job_progress: int | None) -> AssetChoice:
    if asset.status == AssetStatus.ready:
        status, progress = AssetStatus.ready.value, 100
    elif job_status in (JobStatus.failed, JobStatus.cancelled):
        status, progress = AssetStatus.failed.value, job_progress or 0
    elif job_status == JobStatus.running:
        status, progress = AssetStatus.processing.value, job_progress or 0
    else:
        status, progress = AssetStatus.queued.value, 0
    return AssetChoice(asset.id, asset.title, status, progress, asset.duration_s)


def authoring_choices(session: Session, user: User, selected: str = "", *, limit: int = 100) -> list[AssetChoice]:
    """The author's own videos that are ready or on their way (newest first, one query), plus the one
    the material uses now whoever uploaded it."""
    stmt = (select(MediaAsset, Job.status, Job.progress).outerjoin(Job, col(Job.id) == MediaAsset.job_id)
            .where(MediaAsset.kind == AssetKind.video.value))
    mine = session.exec(stmt.where(MediaAsset.owner_id == user.id).order_by(col(MediaAsset.created_at).desc()).limit(limit)).all()
    choices = [_choice(a, s, p) for a, s, p in mine]
    choices = [c for c in choices if c.status != AssetStatus.failed or c.id == selected]
    if selected and all(c.id != selected for c in choices):
        row = session.exec(stmt.where(MediaAsset.id == selected)).first()
        if row is not None and media.can_view(session, user, row[0]):
            choices.insert(0, _choice(*row))
    return choices


def form_config(form: dict[str, Any]) -> dict[str, Any]:
    """A video material's config from the editor's fields (validated afterwards by VideoConfig)."""
    duration = str(form.get("duration_s", "")).strip()
    config: dict[str, Any] = {"asset_id": str(form.get("asset_id", "")).strip(), "duration_s": duration or None,
                              "completion_percent": str(form.get("completion_percent", "")).strip() or 90,
                              "no_seek": form.get("no_seek") == "1"}
    vtt = str(form.get("subtitles_vtt", "")).strip()
    if vtt:
        config["subtitles"] = [{"lang": "zh-CN", "label": str(form.get("subtitles_label", "")).strip() or "中文", "vtt": vtt}]
    return config


def form_values(config: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields for a stored video config (the form edits the first subtitle track)."""
    track = (config.get("subtitles") or [{}])[0]
    return {"asset_id": config.get("asset_id", ""), "duration_s": config.get("duration_s") or "",
            "completion_percent": config.get("completion_percent", 90), "no_seek": "1" if config.get("no_seek") else "",
            "subtitles_vtt": track.get("vtt", ""), "subtitles_label": track.get("label", "")}


def editor_context(session: Session, user: User, kind: str, asset_id: str = "") -> dict[str, Any]:
    """What templates/courses/authoring/_video_asset.html needs (nothing for other kinds)."""
    if kind != MaterialKind.video.value:
        return {}
    settings = get_settings()
    return {"video_choices": authoring_choices(session, user, asset_id), "can_upload": media_permissions.can_upload(user),
            "max_bytes": settings.media_max_upload_bytes, "chunk_bytes": settings.media_upload_chunk_bytes}
