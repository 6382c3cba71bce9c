"""Standards pages: list and live search, detail with timeline and clause tree, authoring, lifecycle
buttons, the review worklist; whole pages and htmx fragments; who may do what."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from app.standards import citations, service
from app.standards.models import StandardVersion
from tests.helpers import csrf_from, login
from tests.standards.conftest import clauses_numbered, first_version

HX = {"HX-Request": "true"}


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def post(client, path: str, data: dict, *, form_page: str = "/standards"):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_from(client, form_page), **data})


@pytest.fixture
def published(session, admin, instructor, make_standard):  # type: ignore[no-untyped-def]
    return make_standard(instructor, publish_by=admin)


@pytest.mark.parametrize("path", ["/standards", "/standards/reviews", "/standards/new"])
def test_anonymous_is_sent_to_sign_in(client, org, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_trainee_reads_in_force_standards_but_cannot_author(client, session, trainee, instructor, published, make_standard) -> None:
    draft = make_standard(instructor, "Q/CZJG 050—2025", "草案标准")
    login(client, "trainee1")
    page = client.get("/standards")
    assert page.status_code == 200
    ids = {tr["id"] for tr in soup(page).select("#standard-table tbody tr[id^=standard-]")}
    assert ids == {f"standard-{published.id}"}
    assert soup(page).find(id="add-standard") is None
    assert client.get(f"/standards/{draft.id}").status_code == 404
    detail = client.get(f"/standards/{published.id}")
    assert detail.status_code == 200 and soup(detail).find(id="lifecycle") is None
    assert client.get("/standards/new").status_code == 403
    assert post(client, "/standards/new", {"code": "X", "title": "Y", "category": "cleaning"}).status_code == 403
    version = first_version(published)
    assert post(client, f"/standards/versions/{version.id}/transition", {"action": "abolish"}).status_code == 403


def test_list_page_and_fragment(client, instructor, published) -> None:
    login(client, "instructor1")
    whole = client.get("/standards")
    assert whole.status_code == 200 and soup(whole).find(id="standard-filters") is not None
    assert soup(whole).find(id=f"standard-{published.id}") is not None
    fragment = client.get("/standards?category=meeting_service", headers=HX)
    assert fragment.headers["vary"] == "HX-Request"
    assert soup(fragment).find(id="standard-filters") is None and soup(fragment).find("html") is None
    assert soup(fragment).find(id=f"standard-{published.id}") is not None
    assert soup(client.get("/standards?category=cleaning", headers=HX)).find(id="no-standards") is not None


def test_live_search_shows_highlighted_clause_hits(client, trainee, published) -> None:
    login(client, "trainee1")
    fragment = client.get("/standards?q=桌签", headers=HX)
    hits = soup(fragment).select("#search-hits li.std-hit")
    assert len(hits) == 1
    assert hits[0].select_one(".std-hit-title").get_text(" ", strip=True).startswith("3.1.1")
    assert [m.get_text() for m in hits[0].select("mark")] == ["桌签", "桌签"]
    clause = next(c for c in clauses_numbered(published, "3.1.1"))
    assert f"#clause-{clause.id}" in hits[0].select_one("a")["href"]
    assert soup(client.get("/standards?q=飞机", headers=HX)).find(id="no-hits") is not None


def test_detail_shows_timeline_and_clause_tree(client, session, admin, instructor, published) -> None:
    draft = service.start_revision(session, instructor, first_version(published))
    session.commit()
    login(client, "admin1")
    page = soup(client.get(f"/standards/{published.id}"))
    timeline = page.find(id="version-timeline")
    listed = [li["id"] for li in timeline.find_all("li", class_="std-version")]
    assert listed == [f"version-{draft.id}", f"version-{first_version(published).id}"]
    assert "修订中" in timeline.get_text() and "草案" in timeline.get_text()
    assert admin.display_name in timeline.get_text()  # who decided
    tree = page.find(id="clause-tree")
    parent = next(c for c in service.clauses_of(session, first_version(published)) if c.number == "3.1")
    nested = tree.select(f"li#clause-{parent.id} ol li")
    assert [li.select_one(".std-number").get_text() for li in nested] == ["3.1.1", "3.1.2"]
    assert page.find(id="revise-version") is None and page.find(id="abolish-version") is not None  # under revision
    fragment = client.get(f"/standards/{published.id}?version={draft.id}", headers=HX)
    frag = soup(fragment)
    assert frag.find("html") is None and frag.find(id="publish-version") is not None
    assert frag.find(id="version-timeline") is not None


def test_instructor_cannot_see_decision_buttons_or_publish(client, session, instructor, published) -> None:
    draft = service.start_revision(session, instructor, first_version(published))
    session.commit()
    login(client, "instructor1")
    page = soup(client.get(f"/standards/{published.id}?version={draft.id}"))
    assert page.find(id="edit-clauses") is not None and page.find(id="publish-version") is None
    response = post(client, f"/standards/versions/{draft.id}/transition", {"action": "publish"})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(StandardVersion, draft.id).status == "draft"


def test_create_standard_then_import_and_publish(client, session, admin) -> None:
    login(client, "admin1")
    response = post(client, "/standards/new", {"code": "Q/CZJG 010—2026", "title": "机关绿化养护规范",
                                                "category": "landscaping", "level": "internal"})
    assert response.status_code == 303
    edit_url = response.headers["location"]
    assert "创建为草案" in client.get(edit_url).text
    bad = post(client, edit_url.replace("/edit", "/import"), {"text": "1 范围\n1.2 跳号\n"}, form_page=edit_url)
    assert bad.status_code == 422 and "第 2 行" in soup(bad).find(id="import-errors").get_text()
    good = post(client, edit_url.replace("/edit", "/import"), {"text": "1 范围\n2 养护要求\n2.1 修剪\n每年修剪两次。\n"},
                form_page=edit_url)
    assert good.status_code == 303
    page = soup(client.get(edit_url))
    assert [li.select_one(".std-number").get_text() for li in page.select("#edit-clauses-list li")] == ["1", "2", "2.1"]
    version_id = int(edit_url.split("/")[-2])
    published = post(client, f"/standards/versions/{version_id}/transition", {"action": "publish", "effective": "2026-01-01",
                                                                           "note": "局务会通过"}, form_page=edit_url)
    assert published.status_code == 303
    session.expire_all()
    version = session.get(StandardVersion, version_id)
    assert version.status == "in_force" and str(version.effective_from) == "2026-01-01"


def test_duplicate_code_is_shown_on_the_form(client, admin, published) -> None:
    login(client, "admin1")
    response = post(client, "/standards/new", {"code": published.code, "title": "重复", "category": "cleaning", "level": "local"})
    assert response.status_code == 422
    assert soup(response).find(id="form-errors") is not None and "已存在" in response.text


def test_clause_add_edit_delete_on_a_draft(client, session, instructor, make_standard) -> None:
    standard = make_standard(instructor)
    version = first_version(standard)
    login(client, "instructor1")
    edit = f"/standards/versions/{version.id}/edit"
    assert post(client, f"/standards/versions/{version.id}/clauses", {"number": "3.3", "title": "会后整理", "body": "收回桌签。"},
                form_page=edit).status_code == 303
    bad = post(client, f"/standards/versions/{version.id}/clauses", {"number": "9.9", "title": "无父"}, form_page=edit)
    assert bad.status_code == 422 and soup(bad).find(id="clause-errors") is not None
    clause = next(clauses_numbered(standard, "3.3"))
    saved = post(client, f"/standards/clauses/{clause.id}", {"title": "会后清场", "body": "检查遗留物品。"}, form_page=edit)
    assert saved.status_code == 303
    session.expire_all()
    assert next(clauses_numbered(standard, "3.3")).title == "会后清场"
    assert post(client, f"/standards/clauses/{clause.id}/delete", {}, form_page=edit).status_code == 303
    assert list(clauses_numbered(standard, "3.3")) == []


def test_review_worklist_per_owner_and_mark_reviewed(client, session, admin, instructor, trainee, published) -> None:
    clause = next(clauses_numbered(published, "3.1.1"))
    citations.cite(session, clause, target_type="test_lesson", target_id="7", owner=instructor, label="会前准备实操", url="/x/7")
    service.abolish(session, admin, first_version(published))
    session.commit()
    (item,), _ = citations.review_items(session, instructor)

    login(client, "trainee1")
    assert soup(client.get("/standards/reviews")).find(id="no-reviews") is not None
    assert post(client, f"/standards/reviews/{item.id}/reviewed", {}).status_code == 404
    client.cookies.clear()

    login(client, "instructor1")
    page = soup(client.get("/standards/reviews"))
    row = page.find(id=f"review-{item.id}")
    assert row is not None and "会前准备实操" in row.get_text() and "已废止" in row.get_text()
    assert post(client, f"/standards/reviews/{item.id}/reviewed", {"note": "已改引"}, form_page="/standards/reviews").status_code == 303
    assert soup(client.get("/standards/reviews", headers=HX)).find(id="no-reviews") is not None
    done = soup(client.get("/standards/reviews?status=reviewed", headers=HX))
    assert done.find(id=f"review-{item.id}") is not None and done.find("html") is None


def test_admin_sees_everybodys_items(client, session, admin, instructor, published) -> None:
    clause = next(clauses_numbered(published, "3.2"))
    citations.cite(session, clause, target_type="test_lesson", target_id="8", owner=instructor, label="续水")
    service.start_revision(session, instructor, first_version(published))
    session.commit()
    login(client, "admin1")
    assert soup(client.get("/standards/reviews")).find(id="no-reviews") is not None
    everyone = soup(client.get("/standards/reviews?everyone=1"))
    assert len(everyone.select("#review-table tbody tr[id^=review-]")) == 1
    assert instructor.display_name in everyone.find(id="review-table").get_text()


def test_nav_link(client, trainee) -> None:
    login(client, "trainee1")
    nav = soup(client.get("/")).select_one("nav.mainnav")
    assert nav is not None and nav.find("a", href="/standards") is not None
