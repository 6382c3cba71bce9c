"""Fixtures for the standards tests: an instructor, and standards made through the service."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from app.accounts.models import OrgUnit, Role, User
from app.standards import service
from app.standards.models import Category, Clause, Level, Standard, StandardVersion
from app.standards.schemas import StandardCreate
from tests.factories import make_user

MEETING_TEXT = """1 范围
本文件规定了会议服务的服务要求和评价方法。
2 术语和定义
3 服务要求
3.1 会前准备
3.1.1 桌签摆放
桌签应居中摆放，字面朝向入口。
3.1.2 茶水准备
茶杯应提前清洗消毒，茶水温度适宜。
3.2 会中服务
每隔15分钟续水一次。
4 评价与改进
"""


@pytest.fixture
def instructor(session: Session, org: dict[str, OrgUnit]) -> User:
    user = make_user(session, Role.instructor, unit=org["dept"], username="instructor1")
    session.commit()
    return user


@pytest.fixture
def make_standard(session: Session) -> Callable[..., Standard]:
    def make(owner: User, code: str = "Q/CZJG 001—2024", title: str = "会议服务规范", *, text: str = MEETING_TEXT,
             category: Category = Category.meeting_service, level: Level = Level.internal, summary: str = "",
             publish_by: User | None = None) -> Standard:
        standard = service.create_standard(session, owner, StandardCreate(code=code, title=title, category=category,
                                                                          level=level, summary=summary))
        version = standard.versions[0]
        if text:
            service.import_text(session, owner, version, text)
        if publish_by is not None:
            service.publish(session, publish_by, version)
        session.commit()
        return standard

    return make


def first_version(standard: Standard) -> StandardVersion:
    return sorted(standard.versions, key=lambda v: v.id or 0)[0]


def clauses_numbered(standard: Standard, number: str) -> Iterator[Clause]:
    """Clauses numbered `number` in any version of the standard, newest version first."""
    session = object_session(standard)
    assert session is not None
    rows = session.execute(select(Clause).join(StandardVersion, StandardVersion.id == Clause.version_id)  # type: ignore[arg-type]
                           .where(StandardVersion.standard_id == standard.id, Clause.number == number)
                           .order_by(StandardVersion.id.desc())).scalars().all()  # type: ignore[union-attr]
    return iter(rows)
