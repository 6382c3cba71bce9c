"""Memoised fragments (core/templating `fragment`): the key tells apart every value that renders
differently, a kept fragment is reused only for the same template, locale and variables, a fragment sees
nothing of the request but the app, and the pages that use them show what changed at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

import pytest
from bs4 import BeautifulSoup
from jinja2 import DictLoader

from app.core import i18n
from app.core.templating import FragmentCache, RequestInFragment, Unfreezable, env, frozen, nav_section
from tests.helpers import login


class Colour(Enum):
    red = "red"


@dataclass(frozen=True)
class Card:
    title: str
    hours: Decimal
    tags: list[str]


class Pair(NamedTuple):
    a: int
    b: str


def test_frozen_tells_apart_what_renders_differently() -> None:
    distinct = [1, True, 1.0, Decimal("1"), Decimal("1.0"), "1", [1], (1,), {"a": 1}, {1}, Colour.red, "red", None, Pair(1, "x"), (1, "x")]
    keys = [frozen(v) for v in distinct]
    assert len(set(keys)) == len(distinct)
    east = datetime(2026, 1, 1, 18, tzinfo=timezone(timedelta(hours=8)))
    assert east == datetime(2026, 1, 1, 10, tzinfo=UTC) and frozen(east) != frozen(datetime(2026, 1, 1, 10, tzinfo=UTC))
    # The same content is the same key, however it was built.
    assert frozen(Card("会议服务", Decimal("2.5"), ["a"])) == frozen(Card("会议服务", Decimal("2.5"), ["a"]))
    assert frozen(Card("会议服务", Decimal("2.5"), ["a"])) != frozen(Card("会议服务", Decimal("2.5"), ["b"]))
    assert frozen({"a": 1, "b": 2}) != frozen({"b": 2, "a": 1})  # order shows in a loop over the dict
    with pytest.raises(Unfreezable):
        frozen(object())
    with pytest.raises(Unfreezable):
        frozen({"row": [object()]})


class _App:
    def url_path_for(self, name: str, **params: object) -> str:
        return f"/{name}/" + "/".join(str(v) for v in params.values())


@pytest.fixture
def templates():  # type: ignore[no-untyped-def]
    original = env.loader
    env.loader = DictLoader({
        "card.html": "{{ _('Home') }}:{{ card.title }}:{{ card.hours }}:{{ url_for('home', id=7) }}",
        "peek.html": "{{ request.url }}",
        "token.html": "{{ csrf_input() }}",
    })
    env.cache.clear()  # type: ignore[union-attr]
    yield
    env.loader = original
    env.cache.clear()  # type: ignore[union-attr]


def test_cache_hits_only_for_the_same_template_locale_and_variables(templates) -> None:  # type: ignore[no-untyped-def]
    cache, app = FragmentCache(maxsize=2), _App()
    card = Card("会议服务", Decimal("2.5"), [])
    i18n.set_locale("zh_CN")
    first = cache.render(app, "card.html", {"card": card})
    assert first == "首页:会议服务:2.5:/home/7"
    assert cache.render(app, "card.html", {"card": Card("会议服务", Decimal("2.5"), [])}) == first
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.render(app, "card.html", {"card": Card("会议服务", Decimal("2.50"), [])}) == "首页:会议服务:2.50:/home/7"
    i18n.set_locale("en")
    assert cache.render(app, "card.html", {"card": card}) == "Home:会议服务:2.5:/home/7"
    assert (cache.hits, cache.misses) == (1, 3)
    # Bounded: the least recently used went first.
    i18n.set_locale("zh_CN")
    assert cache.render(app, "card.html", {"card": card}) == first
    assert cache.misses == 4


def test_a_fragment_sees_only_its_variables_and_the_app(templates) -> None:  # type: ignore[no-untyped-def]
    cache = FragmentCache()
    with pytest.raises(RequestInFragment):
        cache.render(_App(), "peek.html", {})
    assert cache.render(_App(), "token.html", {"csrf_token": "t0k"}) == '<input type="hidden" name="csrf_token" value="t0k">'
    # A variable that cannot be keyed is rendered every time, never kept.
    assert cache.render(_App(), "token.html", {"csrf_token": "t1", "row": object()}).endswith('value="t1">')
    assert cache.render(_App(), "token.html", {"csrf_token": "t2", "row": object()}).endswith('value="t2">')
    assert cache.uncached == 2 and cache.misses == 1


@pytest.mark.parametrize(("path", "section"), [
    ("/", "home"), ("/standards/3", "standards"), ("/author/courses", "authoring"), ("/author/question-banks/1", "banks"),
    ("/exams/my", "exams"), ("/exams/staff/grading", "exam_admin"), ("/admin/users", "users"), ("/admin/units/2", "units"),
    ("/admin/audit", "audit"), ("/admin/jobs", "jobs"), ("/learn/lessons/1", ""), ("/admin/overview", ""),
])
def test_nav_section(path: str, section: str) -> None:
    assert nav_section(path) == section


def test_navigation_follows_roles_and_page(client, trainee, admin) -> None:  # type: ignore[no-untyped-def]
    login(client, trainee.username)
    page = BeautifulSoup(client.get("/standards").text, "html.parser")
    assert [a.get_text(strip=True) for a in page.select("nav.mainnav a")] == ["首页", "标准库", "考试"]
    assert [a.get_text(strip=True) for a in page.select("nav.mainnav a[aria-current=page]")] == ["标准库"]
    client.cookies.clear()
    login(client, admin.username)
    page = BeautifulSoup(client.get("/admin/users").text, "html.parser")
    assert [a.get_text(strip=True) for a in page.select("nav.mainnav a[aria-current=page]")] == ["用户"]
    assert "审计日志" in [a.get_text(strip=True) for a in page.select("nav.mainnav a")]
