"""Question banks on the database: scoping, versions, citations → review worklist, search, import
(all or nothing, dry run, duplicates, clause references), the job path and export → import round trips."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.accounts.models import OrgUnit, Role, User
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.jobs import Job
from app.exams import bank as service
from app.exams import bank_transfer
from app.exams.bank_jobs import get_import_job, import_questions_job
from app.exams.bank_schemas import BankIn, BankPatch, QuestionIn, QuestionPatch
from app.exams.models import Question, QuestionBank, QuestionVersion
from app.standards import service as standards
from app.standards.models import ReviewItem, Standard
from tests.factories import make_user
from tests.standards.conftest import first_version, make_standard  # noqa: F401 (fixture)

CODE = "Q/CZJG 001—2024"
SINGLE = {"options": [{"id": "A", "text": "85℃至95℃"}, {"id": "B", "text": "60℃"}, {"id": "C", "text": "100℃"}], "correct": "A"}

GIFT = """$CATEGORY: 会议服务

// [tag:会议服务]
::茶水::开水温度宜为（ ）。{=85℃至95℃ ~60℃ ~100℃}

::桌签::桌签字面应朝向入口。{T}

::续水::每隔____分钟续水一次。{=15}
"""
XML_WITH_CLAUSE = """<quiz>
<question type="truefalse"><name><text>桌签</text></name><questiontext format="html"><text>桌签字面应朝向入口。</text></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question>
<question type="truefalse"><name><text>茶杯</text></name><questiontext format="html"><text>茶杯应提前清洗消毒。</text></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>
<clauses><clause>{code} 3.1.2</clause></clauses></question>
</quiz>"""
GIFT_BAD = """::好::桌签字面应朝向入口。{T}

::坏::这道题没有答案 {=A ~

::也好::续水时不打扰发言人。{T}
"""


@pytest.fixture
def author(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.instructor, unit=org["unit_a1"], username="instructor1")
    session.commit()
    return user


@pytest.fixture
def other_author(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.instructor, unit=org["unit_b1"], username="instructor2")
    session.commit()
    return user


@pytest.fixture
def qbank(session: Session, author: User) -> QuestionBank:
    made = service.create_bank(session, author, BankIn(name="会议服务题库"))
    session.commit()
    return made


@pytest.fixture
def standard(session: Session, author: User, admin: User, make_standard: Callable[..., Standard]) -> Standard:  # noqa: F811
    return make_standard(author, CODE, publish_by=admin)


def clause_id(session: Session, std: Standard, number: str) -> int:
    return next(c.id for c in standards.clauses_of(session, first_version(std)) if c.number == number)


def single(**extra: object) -> QuestionIn:
    return QuestionIn(type="single_choice", stem="开水温度宜为（ ）。", config=SINGLE, **extra)  # type: ignore[arg-type]


def count(session: Session, model: type) -> int:
    return len(session.exec(select(model)).all())


# ---------------------------------------------------------------------------------------------
# Banks and who sees them


def test_owner_admin_and_district_admin_see_the_bank_others_do_not(session, qbank, author, other_author, admin, district_admin,
                                                                   org, trainee) -> None:
    assert service.get_bank(session, author, qbank.id).id == qbank.id
    assert service.get_bank(session, admin, qbank.id).id == qbank.id
    assert service.get_bank(session, district_admin, qbank.id).id == qbank.id  # owner is in district A
    with pytest.raises(NotFound):
        service.get_bank(session, other_author, qbank.id)
    outsider = make_user(session, Role.district_admin, unit=org["district_b"])
    with pytest.raises(NotFound):
        service.get_bank(session, outsider, qbank.id)
    with pytest.raises(PermissionDenied):
        service.get_bank(session, trainee, qbank.id)
    assert [b.id for b in service.list_banks(session, district_admin)[0]] == [qbank.id]
    assert service.list_banks(session, outsider) == ([], 0)
    assert service.list_banks(session, other_author)[1] == 0
    assert service.list_banks(session, admin)[1] == 1


def test_update_and_archive_bank(session, qbank, author) -> None:
    service.update_bank(session, author, qbank, BankPatch(name="会议服务（2024）"))
    assert qbank.name == "会议服务（2024）"
    service.archive_bank(session, author, qbank)
    assert service.list_banks(session, author)[1] == 0 and service.list_banks(session, author, archived=True)[1] == 1
    with pytest.raises(Conflict):
        service.create_question(session, author, qbank, single())
    service.archive_bank(session, author, qbank, archived=False)
    assert service.create_question(session, author, qbank, single()).question.id


# ---------------------------------------------------------------------------------------------
# Questions and versions


def test_editing_writes_a_new_version_and_keeps_the_old_one(session, qbank, author) -> None:
    row = service.create_question(session, author, qbank, single(tags=["会议服务"], difficulty=2))
    first = row.version
    assert row.question.version_count == 1 and row.question.current_version_id == first.id
    first_stem, first_config = first.stem, dict(first.config)
    edited = service.update_question(session, author, row.question, QuestionPatch(stem="会议用开水温度宜为（ ）。", points=2))
    assert edited.version.number == 2 and edited.question.current_version_id == edited.version.id
    session.expire_all()
    old = session.get(QuestionVersion, first.id)
    assert old.stem == first_stem and old.config == first_config and old.points == Decimal("1")
    assert [v.number for v in service.versions_of(session, row.question)] == [2, 1]


def test_tags_and_status_change_in_place_and_same_content_writes_no_version(session, qbank, author) -> None:
    row = service.create_question(session, author, qbank, single())
    service.update_question(session, author, row.question, QuestionPatch(tags=["茶水"], category="会议服务/会前准备"))
    service.set_status(session, author, row.question, "retired")
    service.update_question(session, author, row.question, single(tags=["茶水"], status="retired",  # type: ignore[arg-type]
                                                                  category="会议服务/会前准备"))
    session.refresh(row.question)
    assert row.question.version_count == 1 and row.question.tags == ["茶水"] and row.question.status == "retired"


def test_stale_editor_gets_a_conflict(session, qbank, author) -> None:
    row = service.create_question(session, author, qbank, single())
    service.update_question(session, author, row.question, QuestionPatch(stem="改过的题干（ ）。"), expected_version=1)
    with pytest.raises(Conflict):
        service.update_question(session, author, row.question, QuestionPatch(stem="又改（ ）。"), expected_version=1)


def test_invalid_content_is_refused_in_chinese(session, qbank, author) -> None:
    bad = QuestionIn(type="single_choice", stem="题干", config={"options": [{"id": "A", "text": "甲"}, {"id": "B", "text": "乙"}],
                                                              "correct": "C"})
    with pytest.raises(ValidationFailed) as info:
        service.create_question(session, author, qbank, bad)
    assert "C" in info.value.translated_detail()
    with pytest.raises(ValidationFailed):
        service.create_question(session, author, qbank, QuestionIn(type="essay", stem="x", config={}))
    assert count(session, Question) == 0


def test_another_instructor_cannot_edit(session, qbank, author, other_author) -> None:
    row = service.create_question(session, author, qbank, single())
    with pytest.raises(NotFound):
        service.update_question(session, other_author, row.question, QuestionPatch(stem="偷改（ ）。"))
    with pytest.raises(NotFound):
        service.get_question(session, other_author, row.question.id)


def test_cited_clause_puts_the_question_on_the_owner_worklist_when_the_standard_is_revised(session, qbank, author, admin,
                                                                                           standard) -> None:
    cid = clause_id(session, standard, "3.1.2")
    row = service.create_question(session, author, qbank, single(clause_ids=[cid]))
    citations = service.question_citations(session, row.question.id)
    assert [c.clause_id for c in citations] == [cid]
    assert citations[0].owner_id == author.id and citations[0].url == f"/author/question-banks/{qbank.id}/questions/{row.question.id}"
    standards.start_revision(session, author, first_version(standard))
    items = session.exec(select(ReviewItem).where(ReviewItem.owner_id == author.id)).all()
    assert len(items) == 1 and items[0].citation.target_type == "exam_question"
    # Dropping the clause removes the citation.
    service.update_question(session, author, row.question, QuestionPatch(clause_ids=[]))
    assert service.question_citations(session, row.question.id) == []


def test_unknown_clause_is_refused(session, qbank, author) -> None:
    with pytest.raises(ValidationFailed):
        service.create_question(session, author, qbank, single(clause_ids=[99999]))


def test_search_by_type_tag_difficulty_status_and_text(session, qbank, author) -> None:
    service.create_question(session, author, qbank, single(tags=["会议服务", "茶水"], difficulty=2))
    service.create_question(session, author, qbank, QuestionIn(type="true_false", stem="桌签字面应朝向入口。", config={"correct": True},
                                                               tags=["会议服务"], status="draft"))  # type: ignore[arg-type]
    service.create_question(session, author, qbank, QuestionIn(type="numerical", stem="续水间隔为多少分钟？",
                                                               config={"answers": [{"value": 15}]}, tags=["会议"]))
    search = service.search_questions

    def stems(**flt: object) -> list[str]:
        return sorted(r.version.stem for r in search(session, author, qbank, service.QuestionFilter(**flt))[0])  # type: ignore[arg-type]

    assert len(stems()) == 3
    assert stems(type="true_false") == ["桌签字面应朝向入口。"]
    assert len(stems(tag="会议服务")) == 2 and stems(tag="会议") == ["续水间隔为多少分钟？"]
    assert stems(difficulty=2) == ["开水温度宜为（ ）。"]
    assert stems(status="draft") == ["桌签字面应朝向入口。"]
    assert stems(q="续水") == ["续水间隔为多少分钟？"]
    rows, total = search(session, author, qbank, limit=1, offset=1)
    assert total == 3 and len(rows) == 1
    assert service.bank_tags(session, qbank) == ["会议", "会议服务", "茶水"]


# ---------------------------------------------------------------------------------------------
# Import


def test_import_stores_every_question_with_a_first_version(session, qbank, author) -> None:
    outcome = bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift")
    assert outcome.ok and outcome.created == 3 and len(outcome.question_ids) == 3
    rows, total = service.search_questions(session, author, qbank)
    assert total == 3 and {r.question.type for r in rows} == {"single_choice", "true_false", "fill_blank"}
    assert all(r.question.version_count == 1 and r.version.number == 1 for r in rows)
    tagged = next(r for r in rows if r.question.type == "single_choice")
    assert tagged.question.tags == ["会议服务"] and tagged.question.category == "会议服务"


def test_dry_run_stores_nothing(session, qbank, author) -> None:
    outcome = bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift", dry_run=True)
    assert outcome.ok and outcome.created == 3 and outcome.question_ids == []
    assert count(session, Question) == 0


def test_an_error_anywhere_stores_nothing(session, qbank, author) -> None:
    outcome = bank_transfer.import_file(session, author, qbank, GIFT_BAD.encode(), "gift")
    assert not outcome.ok and outcome.created == 0
    assert [e.loc for e in outcome.errors] == [3]
    assert count(session, Question) == 0 and count(session, QuestionVersion) == 0


def test_clause_references_resolve_and_unknown_ones_are_item_errors(session, qbank, author, standard) -> None:
    good = bank_transfer.import_file(session, author, qbank, XML_WITH_CLAUSE.format(code="Q/CZJG 001-2024").encode(), "moodle-xml")
    assert good.ok, good.errors
    row = service.get_question(session, author, good.question_ids[1])
    assert row.version.clause_ids == [clause_id(session, standard, "3.1.2")]
    assert len(service.question_citations(session, row.question.id)) == 1
    bad = bank_transfer.import_file(session, author, qbank, XML_WITH_CLAUSE.format(code="DB3204/T 9999—2020").encode(), "moodle-xml")
    assert not bad.ok and "DB3204/T 9999—2020 3.1.2" in bad.errors[0].msg and bad.errors[0].loc == "2"
    assert count(session, Question) == 2


def test_duplicates_warn_and_can_be_skipped(session, qbank, author) -> None:
    bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift")
    again = bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift", dry_run=True)
    assert again.ok and set(again.duplicates.values()) == {"bank"} and len(again.warnings) == 3
    assert "已" in again.warnings_for(again.drafts[0])[0] or again.warnings_for(again.drafts[0])
    skipped = bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift", skip_duplicates=True)
    assert skipped.ok and skipped.created == 0 and len(skipped.skipped) == 3
    kept = bank_transfer.import_file(session, author, qbank, GIFT.encode(), "gift")
    assert kept.created == 3 and service.search_questions(session, author, qbank)[1] == 6


def test_embedded_images_are_left_out_with_a_warning(session, qbank, author) -> None:
    xml = """<quiz><question type="truefalse"><name><text>图</text></name>
<questiontext format="html"><text><![CDATA[<p>看图判断：<img src="@@PLUGINFILE@@/a.png" alt="图"></p>]]></text>
<file name="a.png" encoding="base64">iVBORw0KGgo=</file></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question></quiz>"""
    outcome = bank_transfer.import_file(session, author, qbank, xml.encode(), "moodle-xml")
    assert outcome.ok and any("a.png" in w.msg for w in outcome.warnings)
    stored = service.get_question(session, author, outcome.question_ids[0]).version
    assert "<img" not in stored.stem and "看图判断" in stored.stem


def big_gift(n: int) -> bytes:
    return "\n\n".join(f"::q{i}::第{i}题：桌签应按座次表摆放。{{T}}" for i in range(n)).encode()


class FakeContext:
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.attempt = 1
        self.reports: list[tuple[int, str | None]] = []

    def progress(self, percent: int, message: str | None = None) -> None:
        self.reports.append((percent, message))


def test_a_large_file_goes_through_the_job(session, qbank, author) -> None:
    data = big_gift(service.SYNC_IMPORT_MAX + 5)
    outcome = bank_transfer.import_file(session, author, qbank, data, "gift")
    assert outcome.ok and outcome.job is not None and outcome.created == 0 and count(session, Question) == 0
    job = outcome.job
    session.commit()
    ctx = FakeContext(job.id)
    result = import_questions_job(session, dict(job.payload), ctx)
    assert result == {"ok": True, "created": 205, "bank_id": qbank.id, "skipped": 0}
    assert count(session, Question) == 205 and ctx.reports and ctx.reports[-1][0] > 50
    session.refresh(job)
    assert "data" not in job.payload and job.payload["done"]
    # A retry after a crash between commit and bookkeeping reports instead of importing twice.
    assert import_questions_job(session, dict(job.payload), ctx)["created"] == 205
    assert count(session, Question) == 205
    job.status, job.result = "succeeded", result
    session.add(job)
    view = get_import_job(session, author, qbank, job.id)
    assert view.finished and view.ok and view.created == 205


def test_the_job_stores_nothing_when_the_file_became_invalid(session, qbank, author, admin, standard) -> None:
    many = "".join(f"""<question type="truefalse"><name><text>q{i}</text></name>
<questiontext format="html"><text>第{i}题：续水时不打扰发言人。</text></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question>"""
                   for i in range(service.SYNC_IMPORT_MAX))
    text = XML_WITH_CLAUSE.format(code=CODE).replace("</quiz>", many + "</quiz>")
    outcome = bank_transfer.import_file(session, author, qbank, text.encode(), "moodle-xml")
    assert outcome.job is not None
    version = first_version(standard)
    for clause in standards.clauses_of(session, version):  # the cited clause disappears meanwhile
        if clause.number == "3.1.2":
            session.delete(clause)
    session.flush()
    result = import_questions_job(session, dict(outcome.job.payload), FakeContext(outcome.job.id))
    assert not result["ok"] and result["errors"][0]["loc"] == ["file", "2"]
    assert count(session, Question) == 0
    session.refresh(outcome.job)
    assert "data" not in outcome.job.payload


def test_someone_else_cannot_see_an_import_job(session, qbank, author, admin) -> None:
    outcome = bank_transfer.import_file(session, author, qbank, big_gift(service.SYNC_IMPORT_MAX + 1), "gift")
    with pytest.raises(NotFound):
        get_import_job(session, admin, qbank, outcome.job.id)
    assert session.get(Job, outcome.job.id) is not None


# ---------------------------------------------------------------------------------------------
# Export → import through the database


ALL_TYPES = [
    QuestionIn(type="single_choice", stem="开水温度宜为（ ）。", config=SINGLE, tags=["会议服务"], difficulty=2, explanation="见 5.1.2。"),
    QuestionIn(type="multiple_choice", stem="会前应调试的设备有（ ）。",
               config={"options": [{"id": "A", "text": "话筒"}, {"id": "B", "text": "投影"}, {"id": "C", "text": "冰箱"}],
                       "correct": ["A", "B"], "partial_credit": "proportional"}, points=2),
    QuestionIn(type="true_false", stem="续水时可以打断发言人。", config={"correct": False}),
    QuestionIn(type="fill_blank", stem="每隔____分钟续水一次。", config={"blanks": [{"accepted": ["15", "十五"]}]}),
    QuestionIn(type="short_answer", stem="简述设备故障时的处置。", config={"reference_answer": "启用备用设备并报告。",
                                                                     "rubric": [{"criterion": "启用备用设备", "points": 2}]},
               points=2),
    QuestionIn(type="ordering", stem="排列会后整理的步骤。",
               config={"items": [{"id": "A", "text": "检查会场"}, {"id": "B", "text": "收回桌签"}, {"id": "C", "text": "关闭电源"}]}),
    QuestionIn(type="matching", stem="将区域与保洁频次连线。",
               config={"left": [{"id": "L1", "text": "卫生间"}, {"id": "L2", "text": "电梯按钮"}],
                       "right": [{"id": "R1", "text": "每小时巡回"}, {"id": "R2", "text": "每日两次消毒"}],
                       "pairs": {"L1": "R1", "L2": "R2"}}),
    QuestionIn(type="numerical", stem="监控图像至少保存多少天？", config={"answers": [{"value": 30, "tolerance": 0}]}),
]


@pytest.mark.parametrize("fmt", ["xlsx", "moodle-xml", "qti"])
def test_export_then_import_gives_the_same_questions(session, qbank, author, standard, fmt: str) -> None:
    cid = clause_id(session, standard, "3.1.2")
    for data in ALL_TYPES:
        service.create_question(session, author, qbank, data.model_copy(update={"clause_ids": [cid]} if data.type == "single_choice"
                                                                             else {}))
    exported = bank_transfer.export_bank(session, author, qbank, fmt).data
    target = service.create_bank(session, author, BankIn(name="导入副本"))
    outcome = bank_transfer.import_file(session, author, target, exported, fmt, filename=f"export.{fmt}")
    assert outcome.ok, outcome.errors
    assert outcome.created == len(ALL_TYPES)

    def shape(b: QuestionBank) -> list[tuple]:
        rows = service.search_questions(session, author, b)[0]
        if fmt == "qti":  # QTI items carry no difficulty, tags or clauses
            return sorted((r.version.type, r.version.stem) for r in rows)
        return sorted((r.version.type, r.version.stem, r.version.difficulty, r.version.clause_ids, tuple(r.question.tags))
                      for r in rows)

    assert shape(target) == shape(qbank)
    originals = {r.version.stem: r.version.config for r in service.search_questions(session, author, qbank)[0]}
    for row in service.search_questions(session, author, target)[0]:
        if fmt == "moodle-xml" or row.version.type in ("single_choice", "true_false", "numerical"):
            assert row.version.config["type"] == originals[row.version.stem]["type"]


def test_export_leaves_retired_questions_out(session, qbank, author) -> None:
    kept = service.create_question(session, author, qbank, single())
    gone = service.create_question(session, author, qbank, QuestionIn(type="true_false", stem="旧题。", config={"correct": True}))
    service.set_status(session, author, gone.question, "retired")
    outcome = bank_transfer.import_file(session, author, service.create_bank(session, author, BankIn(name="副本")),
                                        bank_transfer.export_bank(session, author, qbank, "moodle-xml").data, "moodle-xml", dry_run=True)
    assert [d.stem for d in outcome.drafts] == [kept.version.stem]
    with pytest.raises(ValidationFailed):
        bank_transfer.export_bank(session, author, qbank, "pdf")


def test_renaming_the_bank_relabels_the_worklist(session, qbank, author, standard) -> None:
    row = service.create_question(session, author, qbank, single(clause_ids=[clause_id(session, standard, "3.1.2")]))
    service.update_bank(session, author, qbank, BankPatch(name="会议服务（新）"))
    assert service.question_citations(session, row.question.id)[0].label.startswith("会议服务（新） · 开水温度")
