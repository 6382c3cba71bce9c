"""Exam statistics as pure functions: score distribution, pass rates by group, and classical item
analysis (Moodle's quiz statistics are the yardstick).

Input is a score matrix: one row per finished attempt (the first attempt of each trainee, as Moodle
does by default, is the caller's choice), one column per question, each cell the fraction of the
question's points earned (0..1, partial credit allowed) or None when the question was not in that
attempt (blueprint draws give trainees different questions).

- Facility index: mean fraction earned on the item (0–100 %). Very easy (> 95 %) or very hard
  (< 20 %) items say little about who knows the standard.
- Discrimination index: the correlation between the item score and the score on the *rest* of the
  attempt (corrected item-total / point-biserial correlation), as Moodle reports it; also the classic
  upper-minus-lower 27 % groups difference. Below 0.2 (or negative: the strong trainees got it wrong
  more often) the item is flagged for its author: the key may be wrong or the stem ambiguous.
- Reliability: KR-20 when every item is scored right/wrong, otherwise Cronbach's alpha (its
  generalisation to partial credit), over the attempts that saw every item (a fixed paper).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean, pvariance

MIN_RESPONSES = 5  # below this an item's indices are not computed (too few to mean anything)
FACILITY_LOW, FACILITY_HIGH = 0.20, 0.95
DISCRIMINATION_LOW = 0.20


@dataclass
class ItemStats:
    key: Hashable
    responses: int
    facility: float | None  # 0..1
    discrimination: float | None  # corrected item-total correlation, -1..1
    upper_lower: float | None  # p(upper 27 %) - p(lower 27 %)
    flags: list[str] = field(default_factory=list)  # "too_easy", "too_hard", "low_discrimination", "negative_discrimination"

    @property
    def dubious(self) -> bool:
        return bool(self.flags)


@dataclass
class Distribution:
    bins: list[int]  # counts per 10 % band: [0,10), [10,20) … [90,100]
    mean: float | None
    median: float | None
    stdev: float | None


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = fmean(xs), fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def item_analysis(rows: Sequence[Mapping[Hashable, float | None]], points: Mapping[Hashable, float]) -> list[ItemStats]:
    """rows: per attempt {item key: fraction or None}; points: the weight of each item in the total."""
    totals = [sum(points[k] * float(v) for k, v in row.items() if v is not None and k in points) for row in rows]
    result = []
    for key in points:
        pairs = [(row[key], total) for row, total in zip(rows, totals, strict=True) if row.get(key) is not None]
        fractions = [float(p) for p, _t in pairs if p is not None]
        if len(pairs) < MIN_RESPONSES:
            result.append(ItemStats(key, len(pairs), fmean(fractions) if fractions else None, None, None))
            continue
        facility = fmean(fractions)
        rest = [t - points[key] * float(p or 0) for p, t in pairs]
        discrimination = _pearson(fractions, rest)
        ranked = sorted(pairs, key=lambda pair: pair[1])
        group = max(1, round(len(ranked) * 0.27))
        upper_lower = fmean(float(p or 0) for p, _t in ranked[-group:]) - fmean(float(p or 0) for p, _t in ranked[:group])
        flags = []
        if facility > FACILITY_HIGH:
            flags.append("too_easy")
        elif facility < FACILITY_LOW:
            flags.append("too_hard")
        if discrimination is not None and discrimination < 0:
            flags.append("negative_discrimination")
        elif discrimination is not None and discrimination < DISCRIMINATION_LOW:
            flags.append("low_discrimination")
        result.append(ItemStats(key, len(pairs), facility, discrimination, upper_lower, flags))
    return result


def reliability(rows: Sequence[Mapping[Hashable, float | None]], points: Mapping[Hashable, float]) -> tuple[str, float | None]:
    """("kr20" | "alpha", coefficient) over the attempts that answered every item; None when it cannot be
    computed (fewer than MIN_RESPONSES complete attempts, fewer than two items, or no variance)."""
    keys = list(points)
    complete = [row for row in rows if all(row.get(k) is not None for k in keys)]
    dichotomous = all(float(row[k] or 0) in (0.0, 1.0) for row in complete for k in keys)
    kind = "kr20" if dichotomous else "alpha"
    if len(keys) < 2 or len(complete) < MIN_RESPONSES:
        return kind, None
    scored = [[points[k] * float(row[k] or 0) for k in keys] for row in complete]
    total_variance = pvariance([sum(r) for r in scored])
    if total_variance == 0:
        return kind, None
    item_variance = sum(pvariance([r[i] for r in scored]) for i in range(len(keys)))  # p·q·w² for 0/1 items
    k = len(keys)
    return kind, (k / (k - 1)) * (1 - item_variance / total_variance)


def distribution(percents: Sequence[float]) -> Distribution:
    bins = [0] * 10
    for p in percents:
        bins[min(9, max(0, int(p // 10)))] += 1
    if not percents:
        return Distribution(bins, None, None, None)
    ordered = sorted(percents)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return Distribution(bins, fmean(percents), median, math.sqrt(pvariance(percents)) if len(percents) > 1 else 0.0)


def pass_rates(results: Sequence[tuple[Hashable, bool]]) -> dict[Hashable, tuple[int, int, float]]:
    """{group: (passed, total, rate)} from (group, passed) pairs, e.g. by unit or by tier."""
    counts: dict[Hashable, list[int]] = {}
    for group, passed in results:
        entry = counts.setdefault(group, [0, 0])
        entry[0] += int(passed)
        entry[1] += 1
    return {g: (p, t, p / t) for g, (p, t) in counts.items()}
