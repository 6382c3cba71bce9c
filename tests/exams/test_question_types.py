"""Question types: grading (partial credit, normalisation, tolerance), answer shapes, shuffles whose key
follows, and configs refused with a translatable reason."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from app.exams import question_types as qt
from app.exams.question_types import AnswerInvalid, ConfigError

OPTIONS = [{"id": "A", "text": "安全帽"}, {"id": "B", "text": "工作证"}, {"id": "C", "text": "护目镜"}, {"id": "D", "text": "雨伞"}]


def config(kind: str, **fields: object) -> qt.QuestionConfig:
    return qt.parse_config({"type": kind, **fields})


def fraction(cfg: qt.QuestionConfig, answer: object) -> float:
    return qt.grade(cfg, answer).fraction


def test_every_type_is_registered_with_a_versioned_config() -> None:
    assert set(qt.TYPE_NAMES) == {"single_choice", "multiple_choice", "true_false", "fill_blank", "short_answer",
                                  "ordering", "matching", "numerical"}
    dumped = qt.dump_config(config("true_false", correct=True))
    assert dumped["v"] == 1 and dumped["type"] == "true_false"


def test_single_choice() -> None:
    cfg = config("single_choice", options=OPTIONS, correct="A")
    assert qt.grade(cfg, "A", points=2) == qt.Grade(1.0, 2.0, True, False)
    assert fraction(cfg, "B") == 0 and fraction(cfg, "Z") == 0 and fraction(cfg, None) == 0
    with pytest.raises(AnswerInvalid):
        qt.validate_answer(cfg, ["A"])


@pytest.mark.parametrize(("mode", "answer", "expected"), [
    ("none", ["A", "C"], 1.0), ("none", ["A"], 0.0),
    ("proportional", ["A"], 0.5), ("proportional", ["A", "B"], 0.0), ("proportional", ["C", "A"], 1.0),
    ("half", ["C"], 0.5), ("half", ["C", "D"], 0.0), ("half", [], 0.0),
])
def test_multiple_choice_partial_credit(mode: str, answer: list[str], expected: float) -> None:
    cfg = config("multiple_choice", options=OPTIONS, correct=["A", "C"], partial_credit=mode)
    assert fraction(cfg, answer) == expected


def test_multiple_choice_weights_clamp_and_count_rounded_thirds_as_full() -> None:
    cfg = config("multiple_choice", options=OPTIONS, correct=["A", "B", "C"], partial_credit="weights",
                 weights={"A": 0.333333, "B": 0.333333, "C": 0.333333, "D": -1})
    assert qt.grade(cfg, ["A", "B", "C"]).correct
    assert fraction(cfg, ["A"]) == pytest.approx(0.333333)
    assert fraction(cfg, ["A", "D"]) == 0.0


def test_multiple_choice_weights_must_add_up() -> None:
    with pytest.raises(ValidationError) as info:
        config("multiple_choice", options=OPTIONS, correct=["A"], partial_credit="weights", weights={"A": 0.5})
    assert isinstance(info.value.errors()[0]["ctx"]["error"], ConfigError)


def test_true_false_takes_booleans_and_form_strings() -> None:
    cfg = config("true_false", correct=False)
    assert fraction(cfg, False) == 1 and fraction(cfg, "false") == 1 and fraction(cfg, True) == 0
    assert fraction(cfg, "maybe") == 0


def test_fill_blank_normalises_width_spaces_punctuation_and_case() -> None:
    cfg = config("fill_blank", blanks=[{"accepted": ["GB/T 1.1"], "partial": {"GB 1.1": 0.5}},
                                       {"accepted": ["立即停止，报告"]}])
    assert fraction(cfg, ["ＧＢ／Ｔ１．１", "立即停止,报告。"]) == 1.0
    assert fraction(cfg, ["gb/t 1.1", "立即停止 ， 报告"]) == 1.0
    assert fraction(cfg, ["GB 1.1", "立即停止，报告"]) == 0.75
    assert fraction(cfg, ["GB/T 1.1"]) == 0.5  # a missing blank counts as empty
    assert qt.normalize_answer("DB3204/T 1001—2021") == qt.normalize_answer("db3204/t1001-2021")


def test_fill_blank_case_sensitive_and_any_order() -> None:
    cfg = config("fill_blank", blanks=[{"accepted": ["York"], "partial": {"york": 0.5}}], case_sensitive=True)
    assert fraction(cfg, ["York"]) == 1 and fraction(cfg, ["york"]) == 0.5 and fraction(cfg, ["YORK"]) == 0
    either = config("fill_blank", blanks=[{"accepted": ["安全帽"]}, {"accepted": ["护目镜"]}], any_order=True)
    assert fraction(either, ["护目镜", "安全帽"]) == 1 and fraction(either, ["安全帽", "安全帽"]) == 0.5
    with pytest.raises(AnswerInvalid):
        qt.validate_answer(either, ["a", "b", "c"])


def test_short_answer_needs_manual_grading() -> None:
    cfg = config("short_answer", rubric=[{"criterion": "说明条件", "points": 2}])
    assert qt.grade(cfg, "出现危险时停止作业") == qt.Grade(0.0, 0.0, False, True)
    assert qt.grade(cfg, None).needs_manual is False


@pytest.mark.parametrize(("mode", "answer", "expected"), [
    ("none", ["A", "B", "C", "D"], 1.0), ("none", ["B", "A", "C", "D"], 0.0),
    ("position", ["B", "A", "C", "D"], 0.5), ("adjacent", ["B", "C", "D", "A"], 2 / 3),
])
def test_ordering(mode: str, answer: list[str], expected: float) -> None:
    cfg = config("ordering", items=OPTIONS, partial_credit=mode)
    assert fraction(cfg, answer) == pytest.approx(expected)
    with pytest.raises(AnswerInvalid):
        qt.validate_answer(cfg, ["A", "A", "B", "C"])


def test_matching() -> None:
    cfg = config("matching", left=[{"id": "L1", "text": "GB"}, {"id": "L2", "text": "DB"}],
                 right=[{"id": "R1", "text": "国家标准"}, {"id": "R2", "text": "地方标准"}, {"id": "R3", "text": "行业标准"}],
                 pairs={"L1": "R1", "L2": "R2"})
    assert fraction(cfg, {"L1": "R1", "L2": "R2"}) == 1 and fraction(cfg, {"L1": "R1", "L2": "R3"}) == 0.5
    strict = cfg.model_copy(update={"partial_credit": False})
    assert fraction(strict, {"L1": "R1"}) == 0


def test_numerical_tolerance_range_and_partial_answers() -> None:
    cfg = config("numerical", answers=[{"value": 85, "tolerance": 5}, {"min": 70, "max": 95, "fraction": 0.5}])
    assert fraction(cfg, 80) == 1 and fraction(cfg, "９０") == 1 and fraction(cfg, 72.5) == 0.5
    assert fraction(cfg, 100) == 0 and fraction(cfg, True) == 0 and fraction(cfg, "abc") == 0
    pi = config("numerical", answers=[{"value": 3.1415, "tolerance": 0.0005}])
    assert fraction(pi, 3.142) == 1 and fraction(pi, 3.143) == 0


@pytest.mark.parametrize(("kind", "fields"), [
    ("single_choice", {"options": OPTIONS, "correct": "Z"}),
    ("single_choice", {"options": OPTIONS[:1] * 2, "correct": "A"}),
    ("ordering", {"items": OPTIONS, "correct": ["A", "B"]}),
    ("matching", {"left": [{"id": "L1", "text": "x"}], "right": [{"id": "R1", "text": "y"}, {"id": "R2", "text": "z"}],
                  "pairs": {"L1": "R9"}}),
    ("numerical", {"answers": [{"value": 1, "fraction": 0.5}]}),
    ("numerical", {"answers": [{"min": 5, "max": 1}]}),
    ("fill_blank", {"blanks": [{"accepted": ["甲"], "options": ["乙", "丙"]}]}),
])
def test_bad_keys_are_refused(kind: str, fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        config(kind, **fields)


def test_rich_text_is_sanitised() -> None:
    cfg = config("single_choice", options=[{"id": "A", "text": '<b onclick="x()">甲</b><script>y()</script>'},
                                           {"id": "B", "text": "乙"}], correct="A")
    assert cfg.options[0].text == "<b>甲</b>"  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_choices_relabel_and_the_key_follows(seed: int) -> None:
    cfg = config("multiple_choice", options=OPTIONS, correct=["A", "C"])
    shuffled = qt.shuffle(cfg, random.Random(seed))
    presented = shuffled.config
    assert [o.id for o in presented.options] == ["A", "B", "C", "D"]
    texts = {o.id: o.text for o in presented.options}
    assert sorted(texts[i] for i in presented.correct) == ["安全帽", "护目镜"]
    right = [pid for pid, orig in shuffled.mapping.items() if orig in ("A", "C")]
    assert qt.grade(presented, right).correct
    assert sorted(qt.original_answer("multiple_choice", right, shuffled.mapping)) == ["A", "C"]


def test_shuffled_ordering_hides_the_authored_order() -> None:
    cfg = config("ordering", items=OPTIONS)
    orders = set()
    for seed in range(10):
        shuffled = qt.shuffle(cfg, random.Random(seed))
        presented = shuffled.config
        assert [i.id for i in presented.items] == ["A", "B", "C", "D"]  # ids say nothing about the order
        assert qt.grade(presented, presented.correct).correct
        assert qt.original_answer("ordering", presented.correct, shuffled.mapping) == ["A", "B", "C", "D"]
        orders.add(tuple(presented.correct))
    assert len(orders) > 1


def test_shuffled_matching_and_fixed_single_choice() -> None:
    cfg = config("matching", left=[{"id": "g", "text": "GB"}, {"id": "d", "text": "DB"}],
                 right=[{"id": "n", "text": "国家标准"}, {"id": "l", "text": "地方标准"}], pairs={"g": "n", "d": "l"})
    shuffled = qt.shuffle(cfg, random.Random(1))
    assert qt.grade(shuffled.config, shuffled.config.pairs).correct
    assert qt.original_answer("matching", shuffled.config.pairs, shuffled.mapping) == {"g": "n", "d": "l"}
    fixed = config("single_choice", options=OPTIONS, correct="C", shuffle=False)
    assert [o.text for o in qt.shuffle(fixed, random.Random(1)).config.options] == [o["text"] for o in OPTIONS]


def test_student_view_has_no_key() -> None:
    cfg = config("single_choice", options=[{"id": "A", "text": "甲", "feedback": "对"}, {"id": "B", "text": "乙"}],
                 correct="A")
    assert qt.student_view(cfg) == {"options": [{"id": "A", "text": "甲"}, {"id": "B", "text": "乙"}]}
    blanks = config("fill_blank", blanks=[{"accepted": ["x"], "options": ["x", "y"]}])
    assert qt.student_view(blanks) == {"blanks": 1, "choices": [["x", "y"]]}


def test_fingerprint_ignores_markup_width_and_punctuation() -> None:
    assert qt.fingerprint("single_choice", "<p>进入现场，必须佩戴？</p>") == qt.fingerprint("single_choice", "进入现场,必须佩戴?")
    assert qt.fingerprint("single_choice", "甲") != qt.fingerprint("true_false", "甲")
