"""Fixtures for the courses tests: an instructor and a small published course built through the service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.accounts.models import OrgUnit, Role, Tier, User
from app.courses import publishing, service, structure
from app.courses.models import Course, Curriculum, Material
from app.courses.schemas import CourseIn, CurriculumIn, LessonIn, MaterialIn, ModuleIn
from tests.factories import make_user

TEXT = {"html": "<p>桌签应居中摆放。</p>"}
BOOK = {"pages": [{"image": "img-1", "caption": "第一步"}, {"image": "img-2", "caption": "第二步"}]}
VIDEO = {"asset_id": "asset-42", "duration_s": 300}


@pytest.fixture
def instructor(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.instructor, unit=org["dept"], username="instructor1")
    session.commit()
    return user


@pytest.fixture
def curriculum(session: Session, admin: User) -> Curriculum:
    c = service.create_curriculum(session, admin, CurriculumIn(title="执行层课程体系", tier=Tier.execution))
    session.commit()
    return c


@dataclass
class Built:
    course: Course
    materials: list[Material] = field(default_factory=list)  # text, book (lesson 1), video (lesson 2)

    @property
    def id(self) -> int:
        return self.course.id or 0


@pytest.fixture
def build_course(session: Session, curriculum: Curriculum, instructor: User) -> Callable[..., Built]:
    def build(title: str = "会议服务", *, owner: User | None = None, hours: str = "2", publish: bool = True) -> Built:
        owner = owner or instructor
        course = service.create_course(session, owner, curriculum, CourseIn(title=title, hours=Decimal(hours)))
        module = structure.add_module(session, owner, course, ModuleIn(title="会前准备"))
        l1 = structure.add_lesson(session, owner, module.id or 0, LessonIn(title="桌签摆放"))
        l2 = structure.add_lesson(session, owner, module.id or 0, LessonIn(title="茶水服务"))
        mats = [structure.add_material(session, owner, l1.id or 0, MaterialIn(kind="text", title="要点", config=TEXT)),
                structure.add_material(session, owner, l1.id or 0, MaterialIn(kind="picture_book", title="图解", config=BOOK)),
                structure.add_material(session, owner, l2.id or 0, MaterialIn(kind="video", title="示范", config=VIDEO))]
        if publish:
            publishing.publish_course(session, owner, course)
        session.commit()
        return Built(course, mats)

    return build


from tests.standards.conftest import make_standard  # noqa: E402,F401 (fixture used by the citation tests)
