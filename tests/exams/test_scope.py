"""Ownership and district scope of papers, exams, schedules and attempts (exams.permissions).

Hole 1: any author could open, edit and build on another owner's paper, draw from banks they could not
see and put another owner's questions on a paper of their own. Hole 2: a district administrator read
attempts, attempt lists, logs and statistics of trainees outside their district, and aimed exams at
units outside it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.core.errors import NotFound, ValidationFailed
from app.exams import attempts, exams, grading, papers, reports, schedules
from app.exams.exam_schemas import ExamIn
from app.exams.models import PaperKind
from tests.exams.attempt_helpers import SINGLE, T0, TF, blueprint_paper, fixed_paper, make_bank, make_question, published_exam
from tests.factories import make_user
from tests.helpers import api_token, csrf_from, login


@pytest.fixture
def world(session: Session, org):  # type: ignore[no-untyped-def]
    """Two instructors with a bank and a paper each; a district administrator of district A; trainees in
    district A and in the bureau's department (outside it)."""
    alice = make_user(session, Role.instructor, unit=org["dept"], username="alice")
    bob = make_user(session, Role.instructor, unit=org["dept"], username="bob")
    district = make_user(session, Role.district_admin, unit=org["district_a"], username="district_a_admin")
    inside = make_user(session, Role.trainee, unit=org["unit_a1"], username="inside")
    outside = make_user(session, Role.trainee, unit=org["dept"], username="outside")
    bank_a, bank_b = make_bank(session, alice, "甲的题库"), make_bank(session, bob, "乙的题库")
    qa = [make_question(session, bank_a, SINGLE, stem=f"甲题{i}") for i in range(3)]
    qb = [make_question(session, bank_b, TF, stem=f"乙题{i}") for i in range(3)]
    paper_a = fixed_paper(session, alice, qa)
    paper_b = fixed_paper(session, bob, qb)
    blueprint_a = blueprint_paper(session, alice, bank_a, [papers.RuleSpec(count=2, points=Decimal(1))])
    session.commit()
    return {"alice": alice, "bob": bob, "district": district, "inside": inside, "outside": outside, "bank_a": bank_a,
            "bank_b": bank_b, "qa": qa, "qb": qb, "paper_a": paper_a, "paper_b": paper_b, "blueprint_a": blueprint_a, "org": org}


def test_another_authors_paper_reads_as_missing(session, world) -> None:
    bob, paper_a = world["bob"], world["paper_a"]
    with pytest.raises(NotFound):
        papers.get_paper(session, bob, paper_a.id)
    assert papers.get_paper(session, world["alice"], paper_a.id) == paper_a
    assert paper_a not in papers.authored_papers(session, bob)
    with pytest.raises(NotFound):
        papers.set_items(session, bob, paper_a, [(world["qb"][0].id, None)])
    with pytest.raises(NotFound):
        papers.add_rule(session, bob, world["blueprint_a"], papers.RuleSpec(count=1, points=Decimal(1)))
    rule_id = papers.rules_of(session, world["blueprint_a"])[0].id
    with pytest.raises(NotFound):
        papers.remove_rule(session, bob, world["blueprint_a"], rule_id)
    assert len(papers.rules_of(session, world["blueprint_a"])) == 1


def test_a_paper_builds_only_on_banks_and_questions_its_editor_may_use(session, world) -> None:
    bob = world["bob"]
    with pytest.raises(ValidationFailed):
        papers.create_paper(session, bob, "偷抽题", kind=PaperKind.blueprint, bank_id=world["bank_a"].id)
    own = papers.create_paper(session, bob, "自己的卷")
    with pytest.raises(ValidationFailed) as refused:
        papers.set_items(session, bob, own, [(world["qb"][0].id, None), (world["qa"][0].id, None)])
    assert str(world["qa"][0].id) in refused.value.translated_detail()
    assert papers.items_of(session, own) == []
    papers.set_items(session, bob, own, [(world["qb"][0].id, None)])
    assert [i.question_id for i in papers.items_of(session, own)] == [world["qb"][0].id]


def test_exams_and_schedules_build_only_on_usable_papers(session, world) -> None:
    bob = world["bob"]
    data = ExamIn(title="借卷考试", paper_id=world["paper_a"].id, opens_at=T0, closes_at=None)
    with pytest.raises(ValidationFailed):
        exams.create_exam(session, bob, data)
    with pytest.raises(ValidationFailed):
        schedules.create_schedule(session, bob, schedules.ScheduleIn(title="借卷日考", kind="daily", paper_id=world["blueprint_a"].id))
    own_exam = exams.create_exam(session, bob, ExamIn(title="自己的考试", paper_id=world["paper_b"].id))
    with pytest.raises(ValidationFailed):  # nor switch one's own exam onto another's paper
        exams.update_exam(session, bob, own_exam, ExamIn(title="自己的考试", paper_id=world["paper_a"].id))
    with pytest.raises(NotFound):
        exams.editable_exam(session, world["alice"], own_exam.id)


def test_a_paper_holding_foreign_questions_is_not_published(session, world) -> None:
    """A paper filled before the rule held (here: written directly) cannot carry them into an exam."""
    bob = world["bob"]
    own = papers.create_paper(session, bob, "旧卷")
    from app.exams.models import PaperItem

    session.add(PaperItem(paper_id=own.id, question_id=world["qa"][0].id, position=0))
    session.flush()
    exam = exams.create_exam(session, bob, ExamIn(title="旧卷考试", paper_id=own.id))
    with pytest.raises(ValidationFailed):
        exams.publish_exam(session, bob, exam, now=T0)


def test_paper_pages_refuse_another_author(client, world) -> None:
    login(client, "bob")
    token = csrf_from(client, "/")
    paper_id = world["paper_a"].id
    assert client.get(f"/exams/staff/papers/{paper_id}").status_code == 404
    assert client.post(f"/exams/staff/papers/{paper_id}/items", data={"csrf_token": token, "question_ids": "1"}).status_code == 404
    blueprint = world["blueprint_a"].id
    assert client.post(f"/exams/staff/papers/{blueprint}/rules", data={"csrf_token": token, "count": "1"}).status_code == 404
    assert client.get(f"/exams/staff/papers/{world['paper_b'].id}").status_code == 200


def _attempt(session, trainee, exam):  # type: ignore[no-untyped-def]
    attempt = attempts.start_attempt(session, trainee, exam.id, now=T0).attempt
    attempts.submit(session, trainee, attempt.id, now=T0)
    return attempt


def test_district_admin_reads_only_its_subtrees_attempts(client, session, world) -> None:
    exam = published_exam(session, world["alice"], world["paper_a"])
    mine, theirs = _attempt(session, world["inside"], exam), _attempt(session, world["outside"], exam)
    session.commit()
    district = world["district"]
    assert attempts.get_attempt(session, district, mine.id) == mine
    with pytest.raises(NotFound):
        attempts.get_attempt(session, district, theirs.id)
    with pytest.raises(NotFound):
        grading.attempt_log(session, district, theirs)
    assert [a.id for a, _u in grading.exam_attempts(session, district, exam)] == [mine.id]
    report = reports.exam_report(session, district, exam)
    assert report.attempts == 1 and [u.username for u, _o, _a in report.rows] == ["inside"]
    assert reports.exam_report(session, world["alice"], exam).attempts == 2  # the author sees everybody
    headers = api_token(client, "district_a_admin")
    assert client.get(f"/api/v1/attempts/{theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/attempts/{mine.id}", headers=headers).status_code == 200
    login(client, "district_a_admin")
    assert client.get(f"/exams/staff/attempts/{theirs.id}/log").status_code == 404
    assert client.get(f"/exams/staff/attempts/{mine.id}/log").status_code == 200
    page = client.get(f"/exams/staff/exams/{exam.id}/attempts")
    assert page.status_code == 200 and "inside" in page.text and "outside" not in page.text


def test_district_admin_aims_exams_only_inside_its_subtree(session, world) -> None:
    district, org = world["district"], world["org"]
    bank = make_bank(session, district, "区题库")
    paper = fixed_paper(session, district, [make_question(session, bank, TF)])
    for unit_id in (org["district_b"].id, org["dept"].id, None):
        with pytest.raises(ValidationFailed):
            exams.create_exam(session, district, ExamIn(title="区考", paper_id=paper.id, org_unit_id=unit_id))
        with pytest.raises(ValidationFailed):
            schedules.create_schedule(session, district, schedules.ScheduleIn(
                title="区日考", kind="daily", paper_id=blueprint_paper(session, district, bank, []).id, org_unit_id=unit_id))
    exam = exams.create_exam(session, district, ExamIn(title="区考", paper_id=paper.id, org_unit_id=org["unit_a1"].id))
    assert exam.org_unit_id == org["unit_a1"].id
    assert {u.id for u in exams.unit_choices(session, district)} == {org["district_a"].id, org["unit_a1"].id}
    # An exam drafted outside the subtree before the rule held is not published.
    exam.org_unit_id = org["district_b"].id
    session.add(exam)
    session.flush()
    with pytest.raises(ValidationFailed):
        exams.publish_exam(session, district, exam, now=T0)


def test_district_admin_edits_exams_of_its_subtrees_authors_only(session, world) -> None:
    org = world["org"]
    local_author = make_user(session, Role.instructor, unit=org["unit_a1"], username="local_author")
    bank = make_bank(session, local_author, "区内题库")
    local_exam = published_exam(session, local_author, fixed_paper(session, local_author, [make_question(session, bank, TF)]),
                                 publish=False)
    bureau_exam = published_exam(session, world["alice"], world["paper_a"], publish=False)
    assert exams.editable_exam(session, world["district"], local_exam.id) == local_exam
    with pytest.raises(NotFound):
        exams.editable_exam(session, world["district"], bureau_exam.id)
    assert local_exam in exams.authored_exams(session, world["district"])
    assert bureau_exam not in exams.authored_exams(session, world["district"])
