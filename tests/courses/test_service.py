"""Authoring service: moving lessons between modules and materials between lessons (positions stay
0..n-1 on both sides, only within the course, only while editable; citations follow), and editing and
archiving curricula (partial updates, unit scope, no archive while published courses remain)."""

from __future__ import annotations

import pytest

from app.accounts.models import Role, Tier
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.courses import service, structure
from app.courses.models import Course
from app.courses.schemas import CourseIn, CurriculumIn, CurriculumPatch, LessonIn, MaterialIn, ModuleIn
from app.standards import service as standards
from tests.courses.conftest import TEXT
from tests.factories import make_user
from tests.standards.conftest import MEETING_TEXT, first_version


def layout(session, course_id: int) -> list[tuple[str, list[tuple[int, str]]]]:  # type: ignore[no-untyped-def]
    """Every module with its lessons as (position, title), straight from the tables."""
    session.expire_all()
    return [(m.title, [(les.position, les.title) for les in structure.lessons_of(session, m.id)])
            for m in structure.modules_of(session, course_id)]


@pytest.fixture
def two_modules(session, build_course, instructor):  # type: ignore[no-untyped-def]
    built = build_course(publish=False)
    first = structure.modules_of(session, built.id)[0]
    second = structure.add_module(session, instructor, built.course, ModuleIn(title="会中服务"))
    for title in ("引导入座", "会场巡视"):
        structure.add_lesson(session, instructor, second.id, LessonIn(title=title))
    session.commit()
    return built, first, second


def test_move_lesson_renumbers_both_modules(session, instructor, two_modules) -> None:
    built, first, second = two_modules
    lesson = structure.lessons_of(session, first.id)[0]  # 桌签摆放
    structure.move_lesson(session, instructor, lesson.id, second.id, position=1)
    assert layout(session, built.id) == [("会前准备", [(0, "茶水服务")]), ("会中服务", [(0, "引导入座"), (1, "桌签摆放"), (2, "会场巡视")])]
    structure.move_lesson(session, instructor, lesson.id, first.id)  # back, to the end
    assert layout(session, built.id) == [("会前准备", [(0, "茶水服务"), (1, "桌签摆放")]),
                                         ("会中服务", [(0, "引导入座"), (1, "会场巡视")])]
    structure.move_lesson(session, instructor, lesson.id, first.id, position=0)  # within its own module
    assert layout(session, built.id)[0] == ("会前准备", [(0, "桌签摆放"), (1, "茶水服务")])
    structure.move_lesson(session, instructor, lesson.id, second.id, position=99)  # past the end: the end
    assert layout(session, built.id)[1][1][-1] == (2, "桌签摆放")
    assert built.course.has_draft_changes


def test_move_lesson_ignores_removed_siblings(session, instructor, two_modules) -> None:
    built, first, second = two_modules
    structure.remove_lesson(session, instructor, structure.lessons_of(session, second.id)[0].id)
    lesson = structure.lessons_of(session, first.id)[1]
    structure.move_lesson(session, instructor, lesson.id, second.id, position=0)
    assert layout(session, built.id)[1] == ("会中服务", [(0, "茶水服务"), (1, "会场巡视")])


def test_move_only_within_the_course_and_while_editable(session, build_course, instructor, org, two_modules) -> None:
    built, first, second = two_modules
    other = build_course("别的课程", publish=False)
    lesson = structure.lessons_of(session, first.id)[0]
    other_module = structure.modules_of(session, other.id)[0]
    with pytest.raises(ValidationFailed):
        structure.move_lesson(session, instructor, lesson.id, other_module.id)
    other_lesson = structure.lessons_of(session, other_module.id)[0]
    with pytest.raises(ValidationFailed):
        structure.move_material(session, instructor, built.materials[0].id, other_lesson.id)
    with pytest.raises(ValidationFailed):  # no such module in the course
        structure.move_lesson(session, instructor, lesson.id, 999_999)
    stranger = make_user(session, Role.instructor, unit=org["dept"])
    with pytest.raises(NotFound):
        structure.move_lesson(session, stranger, lesson.id, second.id)
    with pytest.raises(NotFound):
        structure.item_for_edit(session, stranger, "lesson", lesson.id)
    service.archive_course(session, instructor, built.course)
    with pytest.raises(Conflict):
        structure.move_lesson(session, instructor, lesson.id, second.id)
    assert layout(session, built.id)[0] == ("会前准备", [(0, "桌签摆放"), (1, "茶水服务")])  # nothing moved


def test_move_material_renumbers_both_lessons(session, instructor, two_modules) -> None:
    built, first, second = two_modules
    text, book, video = built.materials
    target = structure.lessons_of(session, second.id)[0]
    structure.add_material(session, instructor, target.id, MaterialIn(kind="text", title="引导要点", config=TEXT))
    structure.move_material(session, instructor, book.id, target.id, position=0)
    session.expire_all()
    assert [(m.position, m.title) for m in structure.materials_of(session, text.lesson_id)] == [(0, "要点")]
    assert [(m.position, m.title) for m in structure.materials_of(session, target.id)] == [(0, "图解"), (1, "引导要点")]
    structure.move_material(session, instructor, video.id, target.id)
    assert [m.title for m in structure.materials_of(session, target.id)] == ["图解", "引导要点", "示范"]


def test_a_moved_material_keeps_its_citations_with_the_new_lesson_in_the_label(session, instructor, admin, make_standard,
                                                                                two_modules) -> None:
    built, first, second = two_modules
    standard = make_standard(instructor, text=MEETING_TEXT, publish_by=admin)
    clause = standards.clauses_of(session, first_version(standard))[0]
    video = built.materials[2]
    structure.cite_clause(session, instructor, video.id, clause.id)
    target = structure.lessons_of(session, second.id)[1]
    structure.move_material(session, instructor, video.id, target.id)
    citations = structure.material_citations(session, video.id)
    assert [c.clause_id for c in citations] == [clause.id] and "会场巡视" in citations[0].label


def test_update_curriculum_changes_only_what_is_given(session, admin, curriculum) -> None:
    service.update_curriculum(session, admin, curriculum, CurriculumPatch(sort_order=5))
    service.update_curriculum(session, admin, curriculum, CurriculumIn(title=" 新标题 ", tier=Tier.management, description="说明"))
    assert (curriculum.title, curriculum.tier, curriculum.description, curriculum.sort_order) == ("新标题", "management", "说明", 5)
    with pytest.raises(ValidationFailed):
        service.update_curriculum(session, admin, curriculum, CurriculumPatch(org_unit_id=999_999))


def test_district_admin_edits_only_their_subtrees_curricula(session, org, admin, district_admin, curriculum, instructor) -> None:
    with pytest.raises(NotFound):  # city-wide: the administrators'
        service.update_curriculum(session, district_admin, curriculum, CurriculumPatch(title="x"))
    ours = service.create_curriculum(session, district_admin, CurriculumIn(title="天宁特色", tier=Tier.execution,
                                                                           org_unit_id=org["unit_a1"].id))
    service.update_curriculum(session, district_admin, ours, CurriculumPatch(org_unit_id=org["district_a"].id, title="天宁区特色"))
    assert ours.org_unit_id == org["district_a"].id
    for patch in (CurriculumPatch(org_unit_id=org["unit_b1"].id), CurriculumPatch(org_unit_id=None)):
        with pytest.raises(ValidationFailed):
            service.update_curriculum(session, district_admin, ours, patch)
    with pytest.raises(NotFound):
        service.update_curriculum(session, instructor, ours, CurriculumPatch(title="x"))
    with pytest.raises(NotFound):
        service.set_curriculum_active(session, instructor, ours, False)
    assert service.manageable_curriculum_ids(session, district_admin, [curriculum, ours]) == {ours.id}
    assert service.manageable_curriculum_ids(session, admin, [curriculum, ours]) == {curriculum.id, ours.id}


def test_archive_curriculum_only_without_live_published_courses(session, admin, instructor, curriculum, build_course) -> None:
    built = build_course()
    draft = build_course("草稿", publish=False)
    with pytest.raises(Conflict) as refused:
        service.set_curriculum_active(session, admin, curriculum, False)
    assert "会议服务" in refused.value.translated_detail()
    service.archive_course(session, instructor, built.course)
    service.set_curriculum_active(session, admin, curriculum, False)
    assert not curriculum.is_active
    with pytest.raises(Conflict):
        service.create_course(session, instructor, curriculum, CourseIn(title="新课"))
    assert session.get(Course, draft.id).curriculum_id == curriculum.id  # its drafts stay where they were
    service.set_curriculum_active(session, admin, curriculum, True)
    assert service.create_course(session, instructor, curriculum, CourseIn(title="新课")).id
