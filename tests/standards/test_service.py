"""Standards service: lifecycle and the one-in-force rule, clause import, copies, citations and reviews."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.core import events
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.standards import citations, parsing, service
from app.standards.events import StandardVersionChanged
from app.standards.models import ReviewItem, Standard, StandardVersion, Transition, VersionStatus
from app.standards.schemas import ClauseIn, ClauseUpdate, VersionCreate
from tests.conftest import BACKEND
from tests.factories import make_user
from tests.standards.conftest import MEETING_TEXT, first_version


def numbers(session, version) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.number for c in service.clauses_of(session, version)]


def new_draft(session, actor, standard, label="2025 版", copy=True):  # type: ignore[no-untyped-def]
    source = service.current_version(session, standard.id)
    return service.create_version(session, actor, standard, VersionCreate(
        label=label, code=standard.code.replace("2024", "2025"), copy_from_id=source.id if copy and source else None))


# ---------------------------------------------------------------------------------------------
# Parsing pasted text


def test_parse_builds_the_tree_with_titles_and_bodies() -> None:
    parsed = parsing.parse_clauses(MEETING_TEXT)
    assert [p.number for p in parsed] == ["1", "2", "3", "3.1", "3.1.1", "3.1.2", "3.2", "4"]
    by_number = {p.number: p for p in parsed}
    assert by_number["3.1.1"].title == "桌签摆放" and by_number["3.1.1"].body == "桌签应居中摆放，字面朝向入口。"
    assert by_number["3.1.1"].parent_number == "3.1" and by_number["3.1.1"].depth == 2
    assert by_number["3.2"].body == "每隔15分钟续水一次。"
    assert by_number["1"].body.startswith("本文件规定了")


def test_parse_accepts_full_width_numbers_and_paragraph_clauses() -> None:
    text = "１　范围\n１．１　本文件适用于市级机关办公楼的日常保洁服务，区级机关可参照执行。\n"
    parsed = parsing.parse_clauses(text)
    assert [p.number for p in parsed] == ["1", "1.1"]
    assert parsed[1].title == "" and parsed[1].body.startswith("本文件适用于")


@pytest.mark.parametrize(("text", "fragment"), [
    ("前言\n1 范围\n", "Line 1"),
    ("1 范围\n1.2 细则\n", "expected clause 1.1"),
    ("1 范围\n2 要求\n2.1.1 孙条\n", "before its parent clause 2.1"),
    ("1 范围\n2 要求\n2 要求\n", "appears twice"),
    ("1 范围\n3 要求\n", "expected clause 2"),
    ("没有任何编号的文字", "Line 1"),
    ("", "No numbered headings"),
])
def test_parse_reports_bad_input_with_line_numbers(text: str, fragment: str) -> None:
    from app.core import i18n

    i18n.set_locale("en")
    try:
        with pytest.raises(ValidationFailed) as caught:
            parsing.parse_clauses(text)
    finally:
        i18n.set_locale("zh_CN")
    assert fragment in str(caught.value.detail)
    assert caught.value.errors and all(e["loc"][0] == "text" for e in caught.value.errors)


def test_import_replaces_a_drafts_clauses_and_links_parents(session, instructor, make_standard) -> None:
    standard = make_standard(instructor)
    version = first_version(standard)
    clauses = {c.number: c for c in service.clauses_of(session, version)}
    assert clauses["3.1.2"].parent_id == clauses["3.1"].id and clauses["3.1"].parent_id == clauses["3"].id
    tree = service.clause_tree(service.clauses_of(session, version))
    assert [n.clause.number for n in tree] == ["1", "2", "3", "4"]
    assert [n.clause.number for n in tree[2].children[0].children] == ["3.1.1", "3.1.2"]
    service.import_text(session, instructor, version, "1 总则\n1.1 目的\n")
    assert numbers(session, version) == ["1", "1.1"]


def test_bad_import_changes_nothing(session, instructor, make_standard) -> None:
    standard = make_standard(instructor)
    version = first_version(standard)
    with pytest.raises(ValidationFailed):
        service.import_text(session, instructor, version, "1 范围\n1.3 跳号\n")
    assert len(numbers(session, version)) == 8


# ---------------------------------------------------------------------------------------------
# Lifecycle


def test_a_new_standard_is_a_draft_and_trainees_cannot_see_it(session, instructor, trainee, make_standard) -> None:
    standard = make_standard(instructor)
    assert standard.status == "draft" and first_version(standard).status == "draft"
    with pytest.raises(NotFound):
        service.get_standard(session, trainee, standard.id)
    assert service.get_standard(session, instructor, standard.id) is standard


def test_publish_puts_in_force_and_records_who_decided(session, admin, instructor, trainee, make_standard) -> None:
    standard = make_standard(instructor)
    version = first_version(standard)
    service.publish(session, admin, version, effective_from=date(2024, 3, 1), note="局务会审议通过")
    assert version.status == "in_force" and version.effective_from == date(2024, 3, 1)
    assert standard.status == "in_force"
    step = session.exec(select(Transition).where(Transition.version_id == version.id)).one()
    assert (step.from_status, step.to_status, step.actor_id, step.note) == ("draft", "in_force", admin.id, "局务会审议通过")
    assert service.get_standard(session, trainee, standard.id) is standard
    assert [v.id for v in service.versions_of(session, trainee, standard)] == [version.id]


def test_only_administrators_publish_and_abolish(session, admin, instructor, trainee, make_standard) -> None:
    standard = make_standard(instructor)
    version = first_version(standard)
    with pytest.raises(PermissionDenied):
        service.publish(session, instructor, version)
    service.publish(session, admin, version)
    with pytest.raises(PermissionDenied):
        service.abolish(session, instructor, version)
    with pytest.raises(PermissionDenied):
        service.start_revision(session, trainee, version)
    draft = service.start_revision(session, instructor, version)  # instructors may open a revision
    assert version.status == "under_revision" and draft.status == "draft"


def test_publishing_a_new_version_supersedes_the_old(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    old = first_version(standard)
    draft = service.start_revision(session, instructor, old)
    assert numbers(session, draft) == numbers(session, old)  # the draft is a copy
    assert standard.status == "under_revision"
    service.publish(session, admin, draft, effective_from=date(2025, 7, 1))
    session.refresh(old)
    assert old.status == "superseded" and old.effective_to == date(2025, 7, 1)
    assert draft.status == "in_force" and standard.status == "in_force"
    current = session.exec(select(StandardVersion).where(StandardVersion.standard_id == standard.id,
                                                         sa.column("status").in_(["in_force", "under_revision"]))).all()
    assert [v.id for v in current] == [draft.id]
    with pytest.raises(Conflict):
        service.publish(session, admin, draft)  # already in force


def test_abolish(session, admin, instructor, trainee, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    version = first_version(standard)
    service.abolish(session, admin, version, effective_to=date(2025, 12, 31), note="内容已并入新标准")
    assert version.status == "abolished" and version.effective_to == date(2025, 12, 31)
    assert standard.status == "abolished"
    with pytest.raises(NotFound):
        service.get_standard(session, trainee, standard.id)
    with pytest.raises(Conflict):
        service.abolish(session, admin, version)


def test_a_version_without_clauses_cannot_be_published(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, text="")
    with pytest.raises(ValidationFailed):
        service.publish(session, admin, first_version(standard))


def test_the_database_refuses_two_current_versions(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    draft = new_draft(session, instructor, standard)
    session.commit()
    draft.status = VersionStatus.in_force.value  # behind the service's back
    session.add(draft)
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_drafts_are_editable_published_versions_are_not(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor)
    version = first_version(standard)
    clause = service.add_clause(session, instructor, version, ClauseIn(number="3.3", title="会后整理", body="及时清理会场。"))
    assert clause.parent_id is not None and clause.depth == 1
    with pytest.raises(ValidationFailed):
        service.add_clause(session, instructor, version, ClauseIn(number="5.1", title="没有父条款"))
    with pytest.raises(Conflict):
        service.add_clause(session, instructor, version, ClauseIn(number="3.3", title="重复"))
    service.update_clause(session, instructor, clause, ClauseUpdate(title="会后清场", body="检查遗留物品。"))
    with pytest.raises(Conflict):
        service.delete_clause(session, instructor, service.clauses_of(session, version)[2])  # "3" has children
    service.delete_clause(session, instructor, clause)
    service.publish(session, admin, version)
    with pytest.raises(Conflict):
        service.update_clause(session, instructor, service.clauses_of(session, version)[0], ClauseUpdate(title="改"))
    with pytest.raises(Conflict):
        service.import_text(session, instructor, version, "1 范围\n")


def test_copying_a_version_copies_the_clause_tree(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    old = first_version(standard)
    copy = new_draft(session, instructor, standard)
    old_clauses, new_clauses = service.clauses_of(session, old), service.clauses_of(session, copy)
    assert [(c.number, c.title, c.body, c.depth) for c in new_clauses] == [(c.number, c.title, c.body, c.depth) for c in old_clauses]
    assert {c.id for c in new_clauses}.isdisjoint({c.id for c in old_clauses})
    by_id = {c.id: c for c in new_clauses}
    assert all(by_id[c.parent_id].version_id == copy.id for c in new_clauses if c.parent_id)
    assert copy.based_on_id == old.id
    with pytest.raises(Conflict):
        new_draft(session, instructor, standard)  # same label


# ---------------------------------------------------------------------------------------------
# Events, citations and review items


def test_transitions_publish_an_event(session, admin, instructor, make_standard) -> None:
    seen: list[StandardVersionChanged] = []

    def handler(_session, event) -> None:  # type: ignore[no-untyped-def]
        seen.append(event)

    events.subscribe(StandardVersionChanged, handler)
    try:
        standard = make_standard(instructor, publish_by=admin)
        draft = service.start_revision(session, instructor, first_version(standard))
        service.publish(session, admin, draft)
    finally:
        events.unsubscribe(StandardVersionChanged, handler)
    assert [(e.from_status, e.to_status) for e in seen] == [
        ("draft", "in_force"), ("in_force", "under_revision"), ("under_revision", "superseded"), ("draft", "in_force")]
    assert seen[0].actor_id == admin.id and seen[0].standard_id == standard.id


def _cited(session, owner, standard, number="3.1.1", target_id="101"):  # type: ignore[no-untyped-def]
    clause = next(c for c in service.clauses_of(session, first_version(standard)) if c.number == number)
    return citations.cite(session, clause, target_type="test_lesson", target_id=target_id, owner=owner, label=f"第{target_id}课",
                        url=f"/lessons/{target_id}")


def test_cite_is_idempotent_and_listed_per_target(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    citation = _cited(session, instructor, standard)
    again = _cited(session, admin, standard)
    assert again.id == citation.id and again.owner_id == admin.id
    _cited(session, instructor, standard, number="3.1.2")
    assert [c.clause_id for c in citations.citations_for(session, "test_lesson", 101)] == sorted(
        c.clause_id for c in citations.citations_for(session, "test_lesson", "101"))
    assert len(citations.citations_for(session, "test_lesson", "101")) == 2
    clause = session.get(type(service.clauses_of(session, first_version(standard))[0]), citation.clause_id)
    assert citations.uncite(session, clause, target_type="test_lesson", target_id="101") is True
    assert citations.uncite(session, clause, target_type="test_lesson", target_id="101") is False
    assert len(citations.citations_for(session, "test_lesson", "101")) == 1


def test_revising_and_superseding_open_review_items_for_the_owner(session, admin, instructor, trainee, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    other = make_user(session, "instructor", username="instructor2")
    _cited(session, instructor, standard, target_id="1")
    _cited(session, other, standard, number="3.2", target_id="2")
    old = first_version(standard)

    draft = service.start_revision(session, instructor, old)
    mine, total = citations.review_items(session, instructor)
    assert total == 1 and mine[0].transition == "under_revision" and mine[0].version_id == old.id
    assert citations.review_items(session, other)[1] == 1
    assert citations.review_items(session, trainee)[1] == 0

    # editing the draft asks nobody to review anything
    clause = service.clauses_of(session, draft)[0]
    service.update_clause(session, instructor, clause, ClauseUpdate(title="范围（修订）", body="改"))
    service.import_text(session, instructor, draft, MEETING_TEXT + "5 附则\n")
    assert citations.review_items(session, instructor)[1] == 1

    service.publish(session, admin, draft)
    items, total = citations.review_items(session, instructor)
    assert total == 2 and {i.transition for i in items} == {"under_revision", "superseded"}
    assert citations.review_items(session, admin)[1] == 0
    assert citations.review_items(session, admin, everyone=True)[1] == 4
    assert citations.review_items(session, instructor, everyone=True)[1] == 2  # only admins see everyone's


def test_abolishing_opens_review_items_and_owners_mark_them_reviewed(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor, publish_by=admin)
    other = make_user(session, "instructor", username="instructor3")
    _cited(session, instructor, standard)
    service.abolish(session, admin, first_version(standard))
    (item,), _ = citations.review_items(session, instructor)
    assert item.transition == "abolished" and item.status == "open"
    with pytest.raises(NotFound):
        citations.mark_reviewed(session, other, item.id)
    citations.mark_reviewed(session, instructor, item.id, note="课程已改引新标准")
    assert item.status == "reviewed" and item.reviewed_by_id == instructor.id and item.reviewed_at is not None
    assert citations.review_items(session, instructor)[1] == 0
    assert citations.review_items(session, instructor, status="reviewed")[1] == 1
    assert session.exec(select(ReviewItem)).all() == [item]


def test_a_cited_clause_cannot_be_deleted(session, admin, instructor, make_standard) -> None:
    standard = make_standard(instructor)
    _cited(session, instructor, standard)
    clause = next(c for c in service.clauses_of(session, first_version(standard)) if c.number == "3.1.1")
    with pytest.raises(Conflict):
        service.delete_clause(session, instructor, clause)
    with pytest.raises(Conflict):
        service.import_text(session, instructor, first_version(standard), "1 范围\n")


# ---------------------------------------------------------------------------------------------
# Two administrators publishing at once (real transactions on PostgreSQL)


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks need PostgreSQL; SQLite serialises writers anyway")
def test_concurrent_publishing_leaves_one_version_in_force(committed_database) -> None:
    from app.accounts.models import Role, User
    from app.standards.models import Category
    from app.standards.schemas import StandardCreate

    with committed_database.transaction() as s:
        boss = make_user(s, Role.admin, username="boss")
        standard = service.create_standard(s, boss, StandardCreate(code="Q/T 9—2024", title="并发", category=Category.cleaning))
        service.import_text(s, boss, standard.versions[0], "1 范围\n")
        service.publish(s, boss, standard.versions[0])
        a = service.create_version(s, boss, standard, VersionCreate(label="A", code="Q/T 9—2025", copy_from_id=standard.versions[0].id))
        b = service.create_version(s, boss, standard, VersionCreate(label="B", code="Q/T 9—2026", copy_from_id=standard.versions[0].id))
        ids = {"boss": boss.id, "standard": standard.id, "a": a.id, "b": b.id}

    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def publish(version_id: int) -> None:
        session = committed_database.new_session(write=True)
        try:
            actor = session.get(User, ids["boss"])
            version = session.get(StandardVersion, version_id)
            barrier.wait()
            service.publish(session, actor, version)
            session.commit()
            outcomes.append("ok")
        except Conflict:
            session.rollback()
            outcomes.append("conflict")
        finally:
            session.close()

    threads = [threading.Thread(target=publish, args=(v,)) for v in (ids["a"], ids["b"], ids["a"], ids["b"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # each draft is published once; the second publisher of the same draft finds it no longer a draft
    assert sorted(outcomes) == ["conflict", "conflict", "ok", "ok"]
    with committed_database.transaction() as s:
        statuses = sorted(v.status for v in s.exec(select(StandardVersion).where(StandardVersion.standard_id == ids["standard"])))
        assert statuses == ["in_force", "superseded", "superseded"]
        assert s.get(Standard, ids["standard"]).status == "in_force"


# ---------------------------------------------------------------------------------------------
# Demo content


def test_demo_seed_is_idempotent_and_covers_the_lifecycle(session) -> None:  # type: ignore[no-untyped-def]
    from app.accounts import demo as accounts_demo
    from app.standards import demo

    accounts_demo.seed(session)
    first = demo.seed(session)
    assert first["standards_created"] == len(demo.SPECS) >= 6
    counts = {s: session.exec(select(sa.func.count()).select_from(s)).one() for s in (Standard, StandardVersion, Transition)}
    assert demo.seed(session) == {"standards_created": 0, "standards": len(demo.SPECS)}
    assert {s: session.exec(select(sa.func.count()).select_from(s)).one() for s in counts} == counts
    statuses = sorted(s.status for s in session.exec(select(Standard)).all())
    assert statuses.count("in_force") >= 6 and "abolished" in statuses and "draft" in statuses
    meeting = service.get_standard_by_code(session, "Q/CZJG 001—2024")
    assert sorted(v.status for v in meeting.versions) == ["in_force", "superseded"]
    assert len({s.category for s in session.exec(select(Standard)).all()}) >= 6
