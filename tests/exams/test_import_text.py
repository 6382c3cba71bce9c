"""GIFT and Aiken files written for these tests (tests/exams/data): Chinese text, UTF-8 with and without
BOM and GBK, escapes, full-width look-alikes, categories, feedback, numeric ranges, id/tag comments, and
malformed questions reported with their line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.exams.importers import find_duplicates, parse_aiken, parse_gift, parse_import
from app.exams.importers.base import decode_text

DATA = Path(__file__).parent / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize(("name", "encoding"), [("questions.gift", "utf-8"), ("questions_bom.gift", "utf-8-sig"),
                                                ("questions_gbk.gift", "gb18030")])
def test_gift_in_every_encoding_gives_the_same_questions(name: str, encoding: str) -> None:
    result = parse_gift(read(name))
    assert result.ok and result.encoding == encoding
    assert [d.type for d in result.drafts] == ["single_choice", "multiple_choice", "true_false", "fill_blank", "numerical",
                                               "numerical", "matching", "short_answer", "single_choice", "single_choice"]
    assert result.drafts[0].stem == "进入施工现场必须佩戴的是？"


def test_gift_details() -> None:
    drafts = parse_gift(read("questions.gift")).drafts
    helmet = drafts[0]
    assert (helmet.title, helmet.external_id, helmet.tags) == ("安全帽", "AQ-001", ["安全", "个人防护"])
    assert helmet.category == "安全生产/个人防护" and helmet.source.line == 6
    assert helmet.explanation.startswith("依据《施工现场安全规范》")
    assert helmet.config.options[1].feedback == "工作证不能防护头部。"  # type: ignore[union-attr]
    assert drafts[1].config.weights == {"A": 0.5, "B": 0.5, "C": -1.0}  # type: ignore[union-attr]
    tf = drafts[2].config
    assert tf.correct is True and tf.feedback_true == "正确！" and tf.feedback_false == "不对，应立即报告。"  # type: ignore[union-attr]
    blank = drafts[3]
    assert blank.category == "标准化/编写规则" and blank.stem == "标准编写规则的国家标准编号是 _____ 。"
    assert blank.config.blanks[0].accepted == ["GB/T 1.1", "GB/T1.1"]  # type: ignore[union-attr]
    assert blank.config.blanks[0].partial == {"GB 1.1": 0.5}  # type: ignore[union-attr]
    assert drafts[4].config.answers[0].value == 85 and drafts[4].config.answers[0].tolerance == 5  # type: ignore[union-attr]
    assert (drafts[5].config.answers[0].min, drafts[5].config.answers[0].max) == (300, 500)  # type: ignore[union-attr]
    matching = drafts[6].config
    assert len(matching.left) == 2 and len(matching.right) == 3  # type: ignore[union-attr]
    assert drafts[9].stem == "<p>选择<strong>正确</strong>的标准代号：</p>"


def test_gift_escapes_and_full_width_look_alikes_are_text() -> None:
    question = parse_gift(read("questions.gift")).drafts[8]
    assert question.stem == "公式 a=b 中，符号 { } 与全角 ｛集合｝＝～＃：应如何理解？"
    assert [o.text for o in question.config.options] == ["都是文字: 不是语法", "~ 是语法"]  # type: ignore[union-attr]


def test_full_width_braces_alone_do_not_open_an_answer_block() -> None:
    result = parse_gift("全角括号｛＝甲 ～乙｝不是答案块\n".encode())
    assert not result.ok and result.errors[0].loc == 1


def test_malformed_gift_reports_every_question_with_its_line() -> None:
    result = parse_gift(read("bad.gift"))
    assert not result.ok
    assert [e.loc for e in result.errors] == [2, 4, 6, 8]
    assert result.errors[0].as_error() == {"loc": ["file", 2], "msg": result.errors[0].msg}
    assert len(result.drafts) == 1  # the good question parses, but the import as a whole is refused


def test_gift_errors_are_translated() -> None:
    from app.core.i18n import set_locale
    set_locale("zh_CN")
    try:
        result = parse_gift("没有答案块\n".encode())
        assert "答案" in result.errors[0].msg
    finally:
        set_locale("zh_CN")


@pytest.mark.parametrize("name", ["questions_aiken.txt", "questions_aiken_gbk.txt"])
def test_aiken_with_full_width_separators(name: str) -> None:
    result = parse_aiken(read(name))
    assert result.ok
    single, multiple = result.drafts
    assert single.type == "single_choice" and single.config.correct == "B"  # type: ignore[union-attr]
    assert [o.text for o in single.config.options] == ["装饰", "防止头部受到冲击伤害", "好看"]  # type: ignore[union-attr]
    assert multiple.type == "multiple_choice" and multiple.config.correct == ["A", "B"]  # type: ignore[union-attr]
    assert multiple.stem == "下列哪些属于个人防护用品？<br>（多选，扩展语法）"


def test_malformed_aiken_reports_lines() -> None:
    result = parse_aiken(read("bad_aiken.txt"))
    assert [e.loc for e in result.errors] == [1, 8, 10] and not result.drafts


def test_decoding_refuses_what_is_not_text() -> None:
    result = parse_import(b"\xff\xfe\x00\xd8", "aiken")  # UTF-16 BOM followed by a lone surrogate
    assert not result.ok and result.errors[0].loc == ""
    assert decode_text("中文".encode("gbk")) == ("中文", "gb18030")
    assert decode_text("\ufeff中文\r\n".encode()) == ("中文\n", "utf-8-sig")


def test_empty_file_and_unknown_format() -> None:
    assert not parse_import(b"", "gift").ok
    assert not parse_import(b"x", "docx").ok


def test_duplicates_within_the_file_and_against_the_bank() -> None:
    drafts = parse_gift("甲是什么？{=对 ~错}\n\n<p>甲是什么?</p>{=对 ~错}\n\n乙是什么？{T}\n".encode()).drafts
    assert find_duplicates(drafts) == {1: "file"}
    assert find_duplicates(drafts, {drafts[2].fingerprint}) == {1: "file", 2: "bank"}
