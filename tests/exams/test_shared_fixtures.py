"""Real third-party files from ../shared/fixtures (gift-pegjs, QTIWorks). Read in place, never copied into
the project; skipped when the folder is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.exams import question_types as qt
from app.exams.importers import parse_gift, parse_import, parse_qti

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not present")


def fixture(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


GIFT_KINDS = {"MC": ("single_choice", "multiple_choice"), "Numerical": ("numerical",), "Essay": ("short_answer",)}


@pytest.mark.parametrize("name", ["giftpegjs_numerical1", "giftpegjs_escapeAll", "giftpegjs_multipleAnswersFloat",
                                  "giftpegjs_tag_id_and_two_tags"])
def test_gift_matches_the_golden_ast(name: str) -> None:
    result = parse_gift(fixture(f"gift/{name}.gift"))
    golden = json.loads(fixture(f"gift/{name}.json"))
    assert result.ok, result.errors
    assert len(result.drafts) == len(golden)
    for draft, expected in zip(result.drafts, golden, strict=True):
        assert draft.type in GIFT_KINDS[expected["type"]]
        assert qt.plain_text(draft.stem) == qt.plain_text(expected["stem"]["text"])
        assert draft.title == (expected["title"] or "")
        assert draft.tags == (expected["tags"] or []) and draft.external_id == (expected["id"] or "")


def test_gift_escapes_and_weights() -> None:
    escape = parse_gift(fixture("gift/giftpegjs_escapeAll.gift")).drafts[0].config
    assert [o.text for o in escape.options] == ["~", "=", "#", "{", "}", ":", "\\"]  # type: ignore[union-attr]
    assert escape.correct == "G"  # type: ignore[union-attr]
    assert escape.options[6].feedback.endswith("it is used to escape the control characters.")  # type: ignore[union-attr]
    continents = parse_gift(fixture("gift/giftpegjs_multipleAnswersFloat.gift")).drafts[0].config
    assert qt.grade(continents, ["A", "B", "D"]).correct and qt.grade(continents, ["A", "B", "C", "D"]).fraction == 0


def test_gift_numerical_tolerances_ranges_and_partial_answers() -> None:
    drafts = parse_gift(fixture("gift/giftpegjs_numerical1.gift")).drafts
    assert qt.grade(drafts[2].config, 3.1418).correct and not qt.grade(drafts[2].config, 3.1425).correct
    assert qt.grade(drafts[5].config, -3.1415).correct and not qt.grade(drafts[5].config, 3.1415).correct
    assert qt.grade(drafts[8].config, 1823).fraction == 0.5 and qt.grade(drafts[8].config, 1822).correct
    grasp = drafts[9]
    assert grasp.title == "Combien de principes GRASP y a-t-il?" and qt.grade(grasp.config, 9).correct
    assert 'href="http://fr.wikipedia.org/wiki/Design_Patterns"' in grasp.config.answers[2].feedback  # type: ignore[union-attr]


def test_qti_items() -> None:
    multiple = parse_qti(fixture("qti21/qtiworks_choice_multiple.xml")).drafts[0]
    assert multiple.type == "multiple_choice" and multiple.points == 2
    ids = {o.text: o.id for o in multiple.config.options}  # type: ignore[union-attr]
    assert qt.grade(multiple.config, [ids["Hydrogen"], ids["Oxygen"]]).correct
    assert qt.grade(multiple.config, [ids["Hydrogen"], ids["Oxygen"], ids["Chlorine"]]).fraction == 0.5
    assert qt.grade(multiple.config, [ids["Hydrogen"], ids["Helium"]]).fraction == 0
    text = parse_qti(fixture("qti21/qtiworks_text_entry.xml")).drafts[0]
    assert text.type == "fill_blank" and text.stem.count("____") == 1
    assert qt.grade(text.config, ["York"]).correct and qt.grade(text.config, ["york"]).fraction == 0.5


def test_qti_content_package() -> None:
    result = parse_import(fixture("qti21/qtiworks_WebDeveloperTest1.zip"), "qti")
    assert result.ok, result.errors
    assert [d.type for d in result.drafts].count("single_choice") == 6
    assert [d.type for d in result.drafts].count("multiple_choice") == 2
    assert result.drafts[7].type == "fill_blank" and result.drafts[7].points == 2
    assert result.drafts[3].attachments[0].name == "directory.jpg"


def test_qti_choice_text_that_looks_like_markup_is_text() -> None:
    """QTIWorks' web-developer quiz asks which tag makes a link: its choices are escaped text, shown as
    written, not markup sanitised down to an empty link (which the emptiness check refused)."""
    link, image = parse_import(fixture("qti21/qtiworks_WebDeveloperTest1.zip"), "qti").drafts[1:3]
    assert [qt.plain_text(o.text) for o in link.config.options][:2] == [  # type: ignore[union-attr]
        '<a href = "myimage.html">Link to my page</a>', '<a = "myimage.html">Link to my page</a>']
    assert qt.plain_text(image.config.options[2].text) == '<img src = "myimage.jpg" />'  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "words"), [("qtiworks_ZipSlip.zip", "../etc/"), ("qtiworks_BadManifest.zip", "imsmanifest.xml"),
                                             ("qtiworks_MissingFile.zip", "missing.xml")])
def test_unsafe_or_broken_packages_are_refused_with_a_clear_error(name: str, words: str) -> None:
    result = parse_import(fixture(f"qti21/{name}"), "qti")
    assert not result.ok and not result.drafts
    assert words in result.errors[0].msg
