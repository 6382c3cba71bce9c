"""Moodle XML and QTI 2.1/3.0 written for these tests, packages zipped here, and unsafe input refused:
entity declarations (billion laughs, XXE), path traversal, absolute paths, zip bombs, missing files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from app.exams.importers import parse_import, parse_moodle_xml, parse_qti

DATA = Path(__file__).parent / "data"
MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="M1"><resources>{resources}</resources></manifest>"""


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def package(files: dict[str, bytes], items: list[str], kind: str = "imsqti_item_xmlv2p1") -> bytes:
    resources = "".join(f'<resource identifier="r{i}" type="{kind}" href="{h}"><file href="{h}"/></resource>'
                        for i, h in enumerate(items))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST.format(resources=resources))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_moodle_xml_every_type() -> None:
    result = parse_moodle_xml(read("questions_moodle.xml"))
    assert result.ok, result.errors
    assert [d.type for d in result.drafts] == ["single_choice", "multiple_choice", "true_false", "fill_blank", "numerical",
                                               "matching", "short_answer", "fill_blank", "ordering"]
    helmet = result.drafts[0]
    assert (helmet.title, helmet.points, helmet.external_id, helmet.tags, helmet.category) == ("安全帽", 2.0, "MX-1", ["安全"], "安全生产")
    assert helmet.explanation == "安全帽是必备防护用品。" and 'src="helmet.png"' in helmet.stem
    assert helmet.attachments[0].name == "helmet.png" and helmet.attachments[0].data.startswith(b"\x89PNG")
    assert result.drafts[1].config.weights == {"A": 0.5, "B": 0.5, "C": -1.0}  # type: ignore[union-attr]
    assert result.drafts[3].config.blanks[0].partial == {"GB 1.1": 0.5}  # type: ignore[union-attr]
    assert result.drafts[4].config.unit == "℃" and result.drafts[4].category == "标准化"  # type: ignore[union-attr]
    cloze = result.drafts[7]
    assert cloze.stem == "标准编号 ____，发布于 ____ 年。"
    assert cloze.config.blanks[1].options == ["2020", "2009", "2001"]  # type: ignore[union-attr]
    assert [i.text for i in result.drafts[8].config.items] == ["问候来宾", "引导入座", "奉茶"]  # type: ignore[union-attr]
    assert [w.loc for w in result.warnings] == ["10"]  # the description item


def test_moodle_xml_errors_name_the_item() -> None:
    xml = """<quiz><question type="multichoice"><questiontext><text>甲</text></questiontext><single>true</single>
      <answer fraction="100"><text>对</text></answer><answer fraction="100"><text>也对</text></answer></question>
      <question type="calculated"><questiontext><text>乙</text></questiontext></question></quiz>""".encode()
    result = parse_moodle_xml(xml)
    assert [e.loc for e in result.errors] == ["1", "2"]


def test_qti21_and_qti30_items() -> None:
    choice = parse_qti(read("qti21_choice.xml")).drafts[0]
    assert choice.type == "single_choice" and choice.points == 2 and choice.explanation == "安全帽是必备防护用品。"
    assert "进入施工现场必须佩戴的是？" in choice.stem and choice.external_id == "helmet"
    order = parse_qti(read("qti21_order.xml")).drafts[0]
    texts = {i.id: i.text for i in order.config.items}  # type: ignore[union-attr]
    assert [texts[i] for i in order.config.correct] == ["问候来宾", "引导入座", "奉茶"]  # type: ignore[union-attr]
    blanks = parse_qti(read("qti30_item.xml")).drafts[0]
    assert blanks.type == "fill_blank" and blanks.stem.count("____") == 2 and blanks.points == 2
    assert blanks.config.blanks[0].partial == {"GB 1.1": 0.5}  # type: ignore[union-attr]
    assert blanks.config.blanks[1].accepted == ["2020"]  # type: ignore[union-attr]
    match = parse_qti(read("qti30_match.xml")).drafts[0]
    assert match.type == "matching" and len(match.config.right) == 3  # type: ignore[union-attr]


def test_qti_package_with_an_image() -> None:
    item = read("qti21_choice.xml").replace(b"<p>\xe8\xaf\xb7", b'<p><img src="img/helmet.png" alt=""/>\xe8\xaf\xb7')
    data = package({"items/helmet.xml": item, "items/img/helmet.png": b"\x89PNG", "items/steps.xml": read("qti21_order.xml"),
                    "items/blanks.xml": read("qti30_item.xml")}, ["items/helmet.xml", "items/steps.xml", "items/blanks.xml"])
    result = parse_qti(data)
    assert result.ok, result.errors
    assert [d.type for d in result.drafts] == ["single_choice", "ordering", "fill_blank"]
    assert result.drafts[0].attachments[0].data == b"\x89PNG" and result.drafts[0].attachments[0].name == "img/helmet.png"
    missing_image = package({"items/helmet.xml": item}, ["items/helmet.xml"])
    assert "img/helmet.png" in parse_qti(missing_image).errors[0].msg


def test_entities_and_dtds_are_refused() -> None:
    laughs = b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><quiz>&b;</quiz>'
    xxe = b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY x SYSTEM "file:///etc/passwd">]><quiz>&x;</quiz>'
    for data in (laughs, xxe):
        result = parse_import(data, "moodle-xml")
        assert not result.ok and "DTD" in result.errors[0].msg


def test_unsafe_zips_are_refused() -> None:
    for name in ("../evil.xml", "/etc/evil.xml", "C:/evil.xml", "a/../../evil.xml"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("imsmanifest.xml", MANIFEST.format(resources=""))
            archive.writestr(name, b"x")
        result = parse_import(buffer.getvalue(), "qti")
        assert not result.ok and name in result.errors[0].msg, name
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST.format(resources=""))
        archive.writestr("zeros.xml", b"\0" * (30 * 1024 * 1024))
    result = parse_import(bomb.getvalue(), "qti")
    assert not result.ok and "zeros.xml" in result.errors[0].msg


def test_package_problems_are_clear() -> None:
    assert not parse_import(package({}, [])[:-10], "qti").ok  # truncated
    missing = parse_import(package({}, ["items/nothere.xml"]), "qti")
    assert not missing.ok and missing.errors[0].loc == "items/nothere.xml"
    no_manifest = io.BytesIO()
    with zipfile.ZipFile(no_manifest, "w") as archive:
        archive.writestr("item.xml", read("qti21_choice.xml"))
    assert "imsmanifest.xml" in parse_import(no_manifest.getvalue(), "qti").errors[0].msg
    assert not parse_import(b"PK\x03\x04 not really", "qti").ok


def test_a_bad_number_in_qti_is_an_item_error_not_a_crash() -> None:
    bad = read("qti21_choice.xml").replace(b'normalMaximum="2"', b'normalMaximum="two"')
    result = parse_qti(bad, "helmet.xml")
    assert not result.ok and result.errors[0].loc == "helmet.xml"
