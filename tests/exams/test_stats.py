"""Item analysis, reliability and distributions (pure functions) against hand-computed figures."""

from __future__ import annotations

import statistics

import pytest

from app.exams import stats

# Eight trainees, four right/wrong items. Item "d" is answered right by the weakest trainees only.
MATRIX = [
    {"a": 1, "b": 1, "c": 1, "d": 0},
    {"a": 1, "b": 1, "c": 1, "d": 0},
    {"a": 1, "b": 1, "c": 0, "d": 0},
    {"a": 1, "b": 1, "c": 1, "d": 0},
    {"a": 1, "b": 0, "c": 0, "d": 1},
    {"a": 1, "b": 1, "c": 0, "d": 0},
    {"a": 1, "b": 0, "c": 0, "d": 1},
    {"a": 0, "b": 0, "c": 0, "d": 1},
]
POINTS = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}


def test_facility_and_flags() -> None:
    items = {i.key: i for i in stats.item_analysis(MATRIX, POINTS)}
    assert items["a"].facility == pytest.approx(7 / 8)
    assert items["c"].facility == pytest.approx(3 / 8)
    assert items["d"].discrimination is not None and items["d"].discrimination < 0
    assert "negative_discrimination" in items["d"].flags and items["d"].dubious
    assert items["d"].upper_lower is not None and items["d"].upper_lower < 0
    # without the reversed item, b separates the strong from the weak
    clean = {i.key: i for i in stats.item_analysis(MATRIX, {"a": 1.0, "b": 1.0, "c": 1.0})}
    b = [row["b"] for row in MATRIX]
    rest = [row["a"] + row["c"] for row in MATRIX]
    assert clean["b"].discrimination == pytest.approx(statistics.correlation(b, rest))
    assert clean["b"].discrimination > 0.5
    assert not clean["b"].dubious and clean["b"].upper_lower == pytest.approx(1.0)


def test_kr20_matches_the_textbook_formula_and_equals_alpha_on_right_wrong_items() -> None:
    keys = list(POINTS)
    n, k = len(MATRIX), len(keys)
    totals = [sum(row[key] for key in keys) for row in MATRIX]
    mean = sum(totals) / n
    variance = sum((t - mean) ** 2 for t in totals) / n
    pq = sum((p := sum(row[key] for row in MATRIX) / n) * (1 - p) for key in keys)
    expected = k / (k - 1) * (1 - pq / variance)
    kind, value = stats.reliability(MATRIX, POINTS)
    assert kind == "kr20" and value == pytest.approx(expected)
    partial = [dict(row, a=0.5 if row["a"] == 0 else 1) for row in MATRIX]
    kind, alpha = stats.reliability(partial, POINTS)
    assert kind == "alpha" and alpha is not None


def test_too_few_responses_and_missing_items() -> None:
    few = stats.item_analysis(MATRIX[:3], POINTS)
    assert all(i.discrimination is None and not i.flags for i in few)
    assert stats.reliability(MATRIX[:3], POINTS)[1] is None
    sparse = [dict(row, c=None) if i % 2 else row for i, row in enumerate(MATRIX)]  # blueprint draws
    items = {i.key: i for i in stats.item_analysis(sparse, POINTS)}
    assert items["c"].responses == 4 and items["c"].discrimination is None
    assert stats.reliability(sparse, POINTS)[1] is None  # only four complete attempts


def test_distribution_and_pass_rates() -> None:
    d = stats.distribution([0, 9.9, 10, 55, 100, 100])
    assert d.bins == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert d.median == pytest.approx(32.5) and d.mean == pytest.approx(274.9 / 6)
    assert stats.distribution([]).mean is None
    rates = stats.pass_rates([("钟楼区", True), ("钟楼区", False), ("天宁区", True)])
    assert rates["钟楼区"] == (1, 2, 0.5) and rates["天宁区"] == (1, 1, 1.0)
