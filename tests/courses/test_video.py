"""Video completion rules without a database: interval merging, the no-seek admission, the completion
verdict (seek to the end, wall clock too short, replays), heartbeat state, subtitles and the config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import ValidationFailed
from app.courses import subtitles, video
from app.courses.materials import parse_config
from app.courses.video import (
    Heartbeat,
    VideoState,
    admit,
    apply_beat,
    clean_intervals,
    completion_verdict,
    covered_seconds,
    furthest_point,
    merge_intervals,
    resume_position,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- merging -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "merged"), [
    ([], []),
    ([(0, 5)], [(0, 5)]),
    ([(5, 10), (0, 5)], [(0, 10)]),  # touching
    ([(0, 6), (4, 10), (2, 3)], [(0, 10)]),  # overlapping and contained
    ([(20, 30), (0, 5), (6, 8)], [(0, 5), (6, 8), (20, 30)]),  # gaps stay gaps: unwatched seconds never count
    ([(3, 3), (4, 2)], []),  # empty and backwards intervals are dropped
    ([[1.5, 2.25], [2.25, 4.0]], [(1.5, 4.0)]),
])
def test_merge_intervals(given: list[tuple[float, float]], merged: list[tuple[float, float]]) -> None:
    assert merge_intervals(given) == merged


def test_merging_is_idempotent_and_order_free() -> None:
    beats = [[(0, 5)], [(5, 10)], [(3, 7)], [(0, 5)], [(30, 35)]]
    once = merge_intervals([iv for beat in beats for iv in beat])
    assert merge_intervals(once + once) == once
    assert merge_intervals([iv for beat in reversed(beats) for iv in beat]) == once
    assert covered_seconds(once) == 15


def test_furthest_point_bridges_small_gaps_only() -> None:
    assert furthest_point([]) == 0
    assert furthest_point([(0, 10), (11, 20)], tolerance=2) == 20
    assert furthest_point([(0, 10), (15, 20)], tolerance=2) == 10
    assert furthest_point([(5, 10)], tolerance=2) == 0  # nothing watched from the start


def test_no_seek_admits_only_what_is_reachable() -> None:
    watched = [(0.0, 30.0)]
    assert admit(watched, [(31, 40), (90, 100)], no_seek=True) == [(0, 30), (31, 40)]  # the jump to 90 s is ignored
    assert admit(watched, [(90, 100)], no_seek=False) == [(0, 30), (90, 100)]
    # Several intervals in one batch: each extends the reach of the next one.
    assert admit([], [(0, 10), (10, 20), (21, 30)], no_seek=True) == [(0, 20), (21, 30)]
    assert furthest_point(admit([], [(0, 10), (10, 20), (21, 30)], no_seek=True)) == 30
    assert admit([], [(50, 60)], no_seek=True) == []


# -- the completion verdict ------------------------------------------------------------------------

def test_completion_needs_ninety_percent_of_distinct_seconds() -> None:
    assert completion_verdict(89, 100, 1000).reason == "not-enough"
    assert completion_verdict(90, 100, 1000).complete
    assert completion_verdict(89.6, 100, 1000).complete  # half a second of grace for the last frame
    assert not completion_verdict(79, 100, 1000, percent=80).complete
    assert completion_verdict(80, 100, 1000, percent=80).complete
    assert completion_verdict(99.6, 100, 1000, percent=100).complete
    assert completion_verdict(100, None, 1000).reason == "no-duration"


def test_wall_clock_must_be_consistent_with_what_was_watched() -> None:
    # 600 s watched cannot happen in less than 600 / 2.0 - 2 = 298 s of wall clock.
    assert completion_verdict(600, 600, 297.9).reason == "too-fast"
    assert completion_verdict(600, 600, 298).complete
    assert completion_verdict(600, 600, 60).min_elapsed_s == 298
    # The tolerance is the same for every length: it never buys more than 2 s, short video or long.
    for length in (12, 60, 600, 3600, 36000):
        assert completion_verdict(length, length, 0).min_elapsed_s == max(0.0, length / video.MAX_RATE - video.CLOCK_TOLERANCE_S)


# -- forgeries and honest viewing, beat by beat ------------------------------------------------------

Beat = tuple[float, list[tuple[float, float]]]  # (seconds after the first beat, intervals)


def run(beats: list[Beat], duration: float, *, no_seek: bool = False, state: VideoState | None = None) -> video.Verdict:
    """The verdict the server reaches at the last of `beats` (as record_heartbeat computes it)."""
    state = state or VideoState()
    for seq, (at, intervals) in enumerate(beats, start=1):
        state = apply_beat(state, intervals, intervals[-1][1] if intervals else 0.0, session="forger01", seq=seq,
                           now=T0 + timedelta(seconds=at), no_seek=no_seek, duration_s=duration)
    return completion_verdict(state.watched_s, duration, video.elapsed_since_first(state, T0 + timedelta(seconds=beats[-1][0])))


LENGTHS = [12.0, 60.0, 600.0, 3600.0]


@pytest.mark.parametrize("length", LENGTHS)
def test_one_forged_beat_never_completes(length: float) -> None:
    assert run([(0, [(0, length)])], length).reason == "too-fast"
    assert run([(0, [(0, length * 0.9)])], length).reason == "too-fast"  # just the 90 % needed
    assert run([(0, [(0, length)])], length, no_seek=True).reason == "too-fast"


def test_the_demo_clip_is_not_completed_by_one_beat() -> None:
    # The report: one heartbeat [[0, 12]] completed the 12 s demo clip at once.
    assert not run([(0, [(0, 12)])], 12).complete


@pytest.mark.parametrize("length", LENGTHS)
def test_a_burst_of_beats_never_completes(length: float) -> None:
    # The whole video in 10 s chunks, one beat every half second (10x faster than the fastest rate).
    beats: list[Beat] = [(i * 0.5, [(start, min(start + 10, length))]) for i, start in enumerate(range(0, int(length), 10))]
    assert run(beats, length).reason == "too-fast"


@pytest.mark.parametrize("length", LENGTHS)
def test_prime_then_claim_never_completes(length: float) -> None:
    honest = length / video.MAX_RATE  # what watching the whole video at the fastest rate takes
    # The report: an empty beat, then the whole 60 s video 21 s later (the old rule: 60 / 2 - 10 = 20).
    assert run([(0, []), (21, [(0, length)])], length).reason == "too-fast"
    # However long ago the empty beat came: the clock starts at the first played second.
    assert run([(0, []), (honest * 10, [(0, length)])], length).reason == "too-fast"
    assert run([(0, [(3, 3)]), (honest * 10, [(0, length)])], length).reason == "too-fast"  # an empty interval neither
    # A played second first, then the rest before watching it at the fastest rate could have: too fast.
    claim_at = honest - video.CLOCK_TOLERANCE_S - 1
    assert run([(0, [(0, 0.5)]), (claim_at, [(0.5, length)])], length).reason == "too-fast"
    # Waiting as long as watching at the fastest rate takes is what it costs (the rule's stated bound).
    assert run([(0, [(0, 0.5)]), (honest - video.CLOCK_TOLERANCE_S, [(0.5, length)])], length).complete


def honest_beats(length: float, rate: float, *, first_latency: float = 0.5, pause_at: float | None = None,
                 first_tick: float = video.FIRST_TICK_SECONDS) -> list[Beat]:
    """What static/js/player.js sends for someone watching the whole video at `rate`: "play" (nothing played
    yet), a tick `first_tick` s later, then every HEARTBEAT_SECONDS, and "ended". The first played beat arrives
    `first_latency` s late and the last one at once (the jitter that works against the viewer)."""
    beats: list[Beat] = [(0.0, [])]
    wall, media = 0.0, 0.0
    ticks = [first_tick, *[k * video.HEARTBEAT_SECONDS for k in range(1, int(length / rate / video.HEARTBEAT_SECONDS) + 2)]]
    paused = 0.0
    for tick in ticks:
        tick += paused
        step_end = min(length, media + (tick - wall) * rate)
        if pause_at is not None and media < pause_at <= step_end:  # a five-minute pause: the clock runs on
            beats.append((wall + (pause_at - media) / rate, [(media, pause_at)]))
            wall, media = wall + (pause_at - media) / rate + 300, pause_at
            paused += 300
            continue
        if step_end >= length:
            beats.append((wall + (length - media) / rate, [(media, length)]))
            break
        beats.append((tick + (first_latency if not any(b[1] for b in beats) else 0.0), [(media, step_end)]))
        wall, media = tick, step_end
    return beats


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("rate", [1.0, 1.25, 1.5, 2.0])
def test_honest_viewing_completes_at_the_last_beat(length: float, rate: float) -> None:
    beats = honest_beats(length, rate)
    assert beats[-1][1][-1][1] == length and sum(e - s for _, ivs in beats for s, e in ivs) == pytest.approx(length)
    assert run(beats, length).complete, beats[-3:]
    assert run(beats, length, no_seek=True).complete
    assert run(honest_beats(length, rate, pause_at=length / 2), length).complete


def test_honest_viewing_at_the_fastest_rate_is_on_the_edge_the_tolerance_covers() -> None:
    # At 2x with the first played beat 1 s after playback starts and half a second of jitter, the viewer is
    # 1.5 s short of length / 2: within CLOCK_TOLERANCE_S. Faster than that is refused.
    verdict = run(honest_beats(600, 2.0), 600)
    assert verdict.complete
    assert not run(honest_beats(600, 2.5), 600).complete


def test_states_from_before_the_played_clock_keep_working() -> None:
    # Written when the clock started at the first heartbeat: first_beat_at only.
    started = {"watched": [[0, 300]], "watched_s": 300, "position": 300, "furthest": 300, "first_beat_at": T0.isoformat(),
               "last_beat_at": (T0 + timedelta(seconds=150)).isoformat(), "beat": {"session": "old-player", "seq": 30}}
    state = VideoState.from_state(started)
    assert state.first_play_at == T0.isoformat()  # seconds were watched: their clock stays where it was
    done = apply_beat(state, [(300, 600)], 600, session="old-player", seq=31, now=T0 + timedelta(seconds=300), no_seek=False,
                      duration_s=600)
    assert done.first_play_at == T0.isoformat() and done.to_state()["first_play_at"] == T0.isoformat()
    assert completion_verdict(done.watched_s, 600, video.elapsed_since_first(done, T0 + timedelta(seconds=300))).complete
    # Only an empty beat so far: the clock starts at the next played second, not at that beat.
    primed = VideoState.from_state({"watched": [], "watched_s": 0, "position": 0, "furthest": 0, "first_beat_at": T0.isoformat(),
                                    "last_beat_at": T0.isoformat(), "beat": {"session": "old-player", "seq": 1}})
    assert primed.first_play_at is None
    later = T0 + timedelta(hours=1)
    claimed = apply_beat(primed, [(0, 600)], 600, session="old-player", seq=2, now=later, no_seek=False, duration_s=600)
    assert claimed.first_play_at == later.isoformat() and claimed.first_beat_at == T0.isoformat()
    assert not completion_verdict(claimed.watched_s, 600, video.elapsed_since_first(claimed, later)).complete


def test_seeking_to_the_end_never_completes() -> None:
    state = VideoState()
    state = apply_beat(state, [(0, 8)], 8, session="s1abcdefg", seq=1, now=T0, no_seek=False, duration_s=600)
    # The trainee drags to the end and lets the last seconds play out.
    state = apply_beat(state, [(595, 600)], 600, session="s1abcdefg", seq=2, now=T0 + timedelta(minutes=30), no_seek=False,
                       duration_s=600)
    assert state.watched_s == 13
    assert not completion_verdict(state.watched_s, 600, 1800).complete


def test_watching_properly_completes() -> None:
    state, now = VideoState(), T0
    for i in range(0, 600, 10):  # 2x speed: 10 s of video every 5 s
        state = apply_beat(state, [(i, i + 10)], i + 10, session="s1abcdefg", seq=i, now=now, no_seek=True, duration_s=600)
        now += timedelta(seconds=5)
    assert state.watched == [(0, 600)]
    assert completion_verdict(state.watched_s, 600, video.elapsed_since_first(state, now)).complete


def test_replayed_heartbeats_change_nothing() -> None:
    state = apply_beat(VideoState(), [(0, 10)], 10, session="s1abcdefg", seq=1, now=T0, no_seek=False, duration_s=100)
    state = apply_beat(state, [(10, 20)], 20, session="s1abcdefg", seq=2, now=T0 + timedelta(seconds=10), no_seek=False,
                       duration_s=100)
    again = apply_beat(state, [(0, 10)], 10, session="s1abcdefg", seq=1, now=T0 + timedelta(seconds=30), no_seek=False,
                       duration_s=100)
    assert again.watched == state.watched and again.position == 20 and again.seq == 2  # a late beat does not rewind
    assert again.to_state() == state.to_state()
    # Another device (another player session) is believed: resume follows the latest device.
    other = apply_beat(state, [], 5, session="s2abcdefg", seq=0, now=T0 + timedelta(seconds=40), no_seek=False, duration_s=100)
    assert other.position == 5 and other.watched == state.watched
    assert other.first_beat_at == T0.isoformat() and other.first_play_at == T0.isoformat()


def test_no_seek_keeps_the_position_within_reach() -> None:
    state = apply_beat(VideoState(), [(0, 10)], 80, session="s1abcdefg", seq=1, now=T0, no_seek=True, duration_s=100)
    assert state.position == 10 + video.TOLERANCE_S


def test_state_round_trips_through_json() -> None:
    state = apply_beat(VideoState(), [(0, 10.123), (20, 25)], 25, session="s1abcdefg", seq=3, now=T0, no_seek=False,
                       duration_s=100)
    stored = state.to_state()
    assert stored["watched"] == [[0, 10.12], [20, 25]] and stored["watched_s"] == 15.12 and stored["furthest"] == 10.12
    assert VideoState.from_state(stored).to_state() == stored


def test_resume_position() -> None:
    assert resume_position({}, 100) == 0
    assert resume_position({"position": 40}, 100) == 40
    assert resume_position({"position": 98}, 100) == 0  # at the end: start again


# -- heartbeat validation ----------------------------------------------------------------------------

def beat(**fields: object) -> Heartbeat:
    return Heartbeat.model_validate({"session": "abcdefgh12", "seq": 1, "position": 0, **fields})


def test_heartbeat_shape_is_checked() -> None:
    from pydantic import ValidationError

    for bad in ({"position": -1}, {"intervals": [[-1, 5]]}, {"intervals": [[0, float("nan")]]}, {"position": float("inf")},
                {"intervals": [[0, 1]] * 101}, {"session": "short"}, {"seq": -1}, {"rate": 0}, {"event": "done"},
                {"completed": True}):
        with pytest.raises(ValidationError):
            beat(**bad)


def test_intervals_beyond_the_video_are_refused() -> None:
    assert clean_intervals(beat(intervals=[[0, 100.6]], position=100.6), 100) == [(0, 100)]  # within tolerance: clipped
    with pytest.raises(ValidationFailed) as exc:
        clean_intervals(beat(intervals=[[0, 5], [10, 300]], position=500), 100)
    locs = [e["loc"] for e in exc.value.errors]
    assert ["body", "position"] in locs and ["body", "intervals", 1] in locs
    with pytest.raises(ValidationFailed):
        clean_intervals(beat(intervals=[[10, 5]]), 100)


# -- subtitles and config ----------------------------------------------------------------------------

def test_webvtt_is_kept_and_srt_converted() -> None:
    vtt = "WEBVTT\n\n00:01.000 --> 00:04.000 line:90%\n请将桌签摆放整齐。\n"
    assert subtitles.normalise(vtt) == "WEBVTT\n\n00:00:01.000 --> 00:00:04.000 line:90%\n请将桌签摆放整齐。\n"
    srt = "\ufeff1\r\n00:00:01,000 --> 00:00:04,500\r\n第一句\r\n\r\n2\r\n00:00:05,000 --> 00:00:07,000\r\n第二句\r\n"
    assert subtitles.normalise(srt) == ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.500\n第一句\n\n2\n"
                                        "00:00:05.000 --> 00:00:07.000\n第二句\n")


@pytest.mark.parametrize("text", ["", "hello", "WEBVTT\n\n00:01.000 -> 00:02.000\nx", "WEBVTTX\n\n00:00:01.000 --> 00:00:02.000\nx",
                                  "WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nbackwards", "WEBVTT\n\njust a note"])
def test_bad_subtitles_are_refused(text: str) -> None:
    with pytest.raises(subtitles.SubtitleError):
        subtitles.normalise(text)


def test_video_config_defaults_and_limits() -> None:
    config = parse_config("video", {"asset_id": "abc_DEF-123"})
    assert config.completion_percent == 90 and config.no_seek is False and config.subtitles == []  # type: ignore[union-attr]
    full = parse_config("video", {"asset_id": "a1", "completion_percent": 100, "no_seek": True,
                                  "subtitles": [{"vtt": "1\n00:00:01,000 --> 00:00:02,000\n你好\n"}]})
    assert full.subtitles[0].vtt.startswith("WEBVTT") and full.subtitles[0].label == "中文"  # type: ignore[union-attr]
    for bad in ({"completion_percent": 40}, {"completion_percent": 101}, {"subtitles": [{"vtt": "nonsense"}]},
                {"subtitles": [{"vtt": "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nx", "lang": "<script>"}]}):
        with pytest.raises(ValidationFailed) as exc:
            parse_config("video", {"asset_id": "a1", **bad})
        assert exc.value.errors
