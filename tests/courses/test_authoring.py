"""Authoring: structure and ordering, prerequisites, publishing freezes a version, permissions,
citations of standard clauses reaching the standards review worklist."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts.models import Role, Tier
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.courses import publishing, service, structure
from app.courses.models import CourseVersion
from app.courses.schemas import CourseIn, CurriculumIn, LessonIn, MaterialIn, MaterialUpdate, ModuleIn
from app.standards import citations
from app.standards import service as standards
from app.standards.models import ReviewItem
from tests.courses.conftest import TEXT
from tests.factories import make_user
from tests.standards.conftest import MEETING_TEXT, first_version


def titles(items) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.title for i in items]


def test_structure_is_ordered_and_reorderable(session, build_course, instructor) -> None:
    built = build_course(publish=False)
    tree = publishing.draft_tree(session, instructor, built.course)
    module = tree[0].module
    assert titles(dl.lesson for dl in tree[0].lessons) == ["桌签摆放", "茶水服务"]
    ids = [dl.lesson.id for dl in tree[0].lessons]
    structure.reorder_lessons(session, instructor, module.id, list(reversed(ids)))
    assert titles(structure.lessons_of(session, module.id)) == ["茶水服务", "桌签摆放"]
    lesson = structure.lessons_of(session, module.id)[1]
    mats = structure.materials_of(session, lesson.id)
    structure.reorder_materials(session, instructor, lesson.id, [mats[1].id, mats[0].id])
    assert titles(structure.materials_of(session, lesson.id)) == ["图解", "要点"]
    with pytest.raises(ValidationFailed):
        structure.reorder_materials(session, instructor, lesson.id, [mats[0].id])  # must list every item
    second = structure.add_module(session, instructor, built.course, ModuleIn(title="会后"))
    structure.reorder_modules(session, instructor, built.course, [second.id, module.id])
    assert titles(structure.modules_of(session, built.id)) == ["会后", "会前准备"]
    structure.move_lesson(session, instructor, lesson.id, second.id)
    assert titles(structure.lessons_of(session, second.id)) == ["桌签摆放"]
    structure.remove_material(session, instructor, mats[1].id)
    assert titles(structure.materials_of(session, lesson.id)) == ["要点"]


def test_prerequisites_refuse_self_unknown_and_cycles(session, build_course, instructor) -> None:
    a, b, c = build_course("甲"), build_course("乙"), build_course("丙")
    assert service.set_prerequisites(session, instructor, b.course, [a.id]) == [a.id]
    service.set_prerequisites(session, instructor, c.course, [b.id])
    with pytest.raises(ValidationFailed):
        service.set_prerequisites(session, instructor, a.course, [c.id])  # a ← b ← c ← a
    with pytest.raises(ValidationFailed):
        service.set_prerequisites(session, instructor, a.course, [a.id])
    with pytest.raises(ValidationFailed):
        service.set_prerequisites(session, instructor, a.course, [999_999])
    assert service.prerequisite_ids(session, c.id) == [b.id]


def test_publish_freezes_a_snapshot_and_drafts_do_not_touch_it(session, build_course, instructor) -> None:
    built = build_course()
    v1 = publishing.latest_version(session, built.id)
    assert v1 is not None and v1.number == 1 and not built.course.has_draft_changes
    frozen = v1.snapshot["modules"][0]["lessons"][0]["materials"][0]
    assert frozen["id"] == built.materials[0].id and frozen["config"]["html"] == "<p>桌签应居中摆放。</p>"
    structure.update_material(session, instructor, built.materials[0].id,
                            MaterialUpdate(title="要点（新）", config={"html": "<p>新内容</p>"}))
    assert built.course.has_draft_changes
    session.expire_all()
    again = session.get(CourseVersion, v1.id)
    assert again.snapshot["modules"][0]["lessons"][0]["materials"][0]["config"]["html"] == "<p>桌签应居中摆放。</p>"
    v2 = publishing.publish_course(session, instructor, built.course)
    assert v2.number == 2 and v2.snapshot["modules"][0]["lessons"][0]["materials"][0]["title"] == "要点（新）"


def test_publish_needs_lessons_with_materials(session, curriculum, instructor) -> None:
    course = service.create_course(session, instructor, curriculum, CourseIn(title="空"))
    with pytest.raises(ValidationFailed):
        publishing.publish_course(session, instructor, course)
    module = structure.add_module(session, instructor, course, ModuleIn(title="一"))
    structure.add_lesson(session, instructor, module.id, LessonIn(title="无材料"))
    with pytest.raises(ValidationFailed):
        publishing.publish_course(session, instructor, course)


def test_permissions(session, org, build_course, instructor, trainee, admin, district_admin, curriculum) -> None:
    with pytest.raises(NotFound):  # a trainee adds to no curriculum (the route refuses them with 403 first)
        service.create_course(session, trainee, curriculum, CourseIn(title="学员不能写"))
    built = build_course()
    other = make_user(session, Role.instructor, unit=org["dept"])
    with pytest.raises(NotFound):  # another author's course is missing for them, as every row outside their scope
        service.update_course(session, other, built.course, CourseIn(title="改别人的"))
    with pytest.raises(NotFound):
        structure.add_module(session, other, built.course, ModuleIn(title="x"))
    with pytest.raises(NotFound):
        publishing.draft_tree(session, other, built.course)
    service.update_course(session, admin, built.course, CourseIn(title="管理员可改"))
    # district admins: curricula of their own subtree only
    with pytest.raises(ValidationFailed):  # the whole city is outside their district
        service.create_curriculum(session, district_admin, CurriculumIn(title="全市", tier=Tier.execution))
    with pytest.raises(ValidationFailed):
        service.create_curriculum(session, district_admin, CurriculumIn(title="别区", tier=Tier.execution,
                                                                         org_unit_id=org["district_b"].id))
    own = service.create_curriculum(session, district_admin, CurriculumIn(title="天宁特色", tier=Tier.management,
                                                                           org_unit_id=org["district_a"].id))
    course = service.create_course(session, district_admin, own, CourseIn(title="一区一特色"))
    assert service.can_edit(session, district_admin, course)
    assert not service.can_edit(session, district_admin, built.course)
    listed = service.list_curricula(session, district_admin)
    assert own in listed and curriculum in listed
    b_admin = make_user(session, Role.district_admin, unit=org["district_b"])
    assert own not in service.list_curricula(session, b_admin)
    with pytest.raises(PermissionDenied):
        service.list_curricula(session, trainee)


def test_archived_course_cannot_be_edited(session, build_course, instructor) -> None:
    built = build_course()
    service.archive_course(session, instructor, built.course)
    with pytest.raises(Conflict):
        structure.add_module(session, instructor, built.course, ModuleIn(title="x"))


def test_material_citations_reach_the_standards_worklist(session, build_course, instructor, admin, make_standard) -> None:
    standard = make_standard(instructor, text=MEETING_TEXT, publish_by=admin)
    version = first_version(standard)
    clauses = {c.number: c for c in standards.clauses_of(session, version)}
    built = build_course()
    # an explicit citation on a video, and a text made of clause references
    structure.cite_clause(session, instructor, built.materials[2].id, clauses["3.2"].id)
    lesson_id = built.materials[0].lesson_id
    text = structure.add_material(session, instructor, lesson_id, MaterialIn(kind="text", title="条款", config={
        "clause_ids": [clauses["3.1.1"].id, clauses["3.1.2"].id]}))
    assert {c.clause_id for c in structure.material_citations(session, text.id)} == {clauses["3.1.1"].id, clauses["3.1.2"].id}
    cited = citations.citations_of_clause(session, clauses["3.2"])
    assert [(c.target_type, c.target_id, c.owner_id) for c in cited] == [("course_material", str(built.materials[2].id), instructor.id)]
    # dropping a clause from the text drops its citation
    structure.update_material(session, instructor, text.id, MaterialUpdate(title="条款", config={"clause_ids": [clauses["3.1.1"].id]}))
    assert [c.clause_id for c in structure.material_citations(session, text.id)] == [clauses["3.1.1"].id]

    # revising the standard puts both materials on the course owner's worklist
    standards.start_revision(session, instructor, version)
    items, total = citations.review_items(session, instructor)
    assert total == 2
    assert {i.citation.target_id for i in items} == {str(built.materials[2].id), str(text.id)}
    assert {i.citation.url for i in items} == {f"/author/courses/{built.id}#material-{m}" for m in (built.materials[2].id, text.id)}
    # renaming the lesson, its module or the course renames the worklist's rows too
    structure.update_lesson(session, instructor, lesson_id, LessonIn(title="桌签与席卡"))
    service.update_course(session, instructor, built.course, CourseIn(title="会议服务规范", hours=built.course.hours))
    session.expire_all()
    labels = {c.label for c in citations.citations_of_clause(session, clauses["3.1.1"])}
    assert labels == {"会议服务规范 · 桌签与席卡 · 条款"}
    # a removed material's citations go with it
    structure.remove_material(session, instructor, text.id)
    assert structure.material_citations(session, text.id) == []
    assert session.exec(select(ReviewItem)).all() is not None


def test_text_citing_an_unknown_clause_is_refused(session, build_course, instructor) -> None:
    built = build_course(publish=False)
    with pytest.raises(NotFound):
        structure.add_material(session, instructor, built.materials[0].lesson_id,
                             MaterialIn(kind="text", title="x", config={**TEXT, "clause_ids": [987_654]}))
