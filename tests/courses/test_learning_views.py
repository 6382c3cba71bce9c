"""Trainee pages: my learning on the home page, the course outline, the lesson player (whole pages and
htmx fragments), following a course to completion through the POST routes, enrolment (404), sign-in
(redirect) and CSRF."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from app.courses import learning
from tests.helpers import csrf_from, login

HX = {"HX-Request": "true"}


def soup(response):  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def course(session, build_course, admin, trainee):  # type: ignore[no-untyped-def]
    built = build_course("会议服务", hours="2.5")
    learning.enrol(session, admin, built.course, trainee)
    session.commit()
    return built


def post(client, path, token, *, htmx=False):  # type: ignore[no-untyped-def]
    headers = {**HX, "X-CSRF-Token": token} if htmx else {}
    data = {} if htmx else {"csrf_token": token}
    return client.post(path, data=data, headers=headers)


def test_home_shows_courses_and_hours(client, course) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    page = soup(client.get("/"))
    card = page.find(id=f"course-card-{course.id}")
    assert card is not None and card.find("progress")["value"] == "0"
    assert page.find(id="continue-learning")["href"] == f"/learn/courses/{course.id}"
    assert "0 / 32" in page.find(id="hours-figure").get_text() or "32" in page.find(id="hours-figure").get_text()
    fragment = client.get("/learn/my-learning", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment).find(id="my-learning-body") is not None
    assert "HX-Request" in fragment.headers["vary"]


def test_course_page_whole_and_fragment(client, course) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    whole = client.get(f"/learn/courses/{course.id}")
    assert whole.status_code == 200
    page = soup(whole)
    assert page.find(id="course-title").get_text() == "会议服务"
    assert page.find(id="start-course") is not None
    fragment = client.get(f"/learn/courses/{course.id}", headers=HX)
    assert "<html" not in fragment.text and soup(fragment).find(id="course-outline") is not None


def test_lesson_before_start_redirects_to_the_course(client, course) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    lesson_id = course.materials[0].lesson_id
    response = client.get(f"/learn/lessons/{lesson_id}")
    assert response.status_code == 303 and response.headers["location"] == f"/learn/courses/{course.id}"


def test_follow_a_course_to_completion(client, course, session, trainee) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    token = csrf_from(client, f"/learn/courses/{course.id}")
    text, book, video = course.materials
    started = post(client, f"/learn/courses/{course.id}/start", token)
    assert started.status_code == 303 and started.headers["location"] == f"/learn/lessons/{text.lesson_id}?item=0"

    page = soup(client.get(started.headers["location"]))
    assert page.find(id="lesson-title").get_text() == "桌签摆放" and page.find(id="text-body") is not None
    assert page.find(id="next-item") is not None and page.find(id="mark-read") is not None
    fragment = client.get(f"/learn/lessons/{text.lesson_id}?item=1", headers=HX)
    assert "<html" not in fragment.text and soup(fragment).find(id="book-counter").get_text().strip() in ("第 1 / 2 页", "Page 1 of 2")

    read = post(client, f"/learn/lessons/{text.lesson_id}/materials/{text.id}/read", token, htmx=True)
    assert read.status_code == 200 and soup(read).find(id="material-done") is not None
    assert post(client, f"/learn/lessons/{text.lesson_id}/materials/{book.id}/pages/0", token, htmx=True).status_code == 200
    last = post(client, f"/learn/lessons/{text.lesson_id}/materials/{book.id}/pages/1", token)  # without htmx: redirect
    assert last.status_code == 303 and last.headers["location"] == f"/learn/lessons/{text.lesson_id}?item=1&page=1"
    after = soup(client.get(last.headers["location"]))
    assert after.find(id="lesson-complete") is not None and after.find(class_="flash") is not None

    video_page = soup(client.get(f"/learn/lessons/{video.lesson_id}"))
    assert video_page.find(id="video-processing") is not None
    learning.complete_material(session, trainee, course.id, video.id)  # the media layer's part
    session.commit()
    home = soup(client.get("/"))
    assert re.search(r"2\.5", home.find(id="hours-figure").get_text())
    assert home.find(id=f"course-card-{course.id}").find("progress")["value"] == "100"


def test_completion_flash_credits_hours(client, course, session, trainee) -> None:  # type: ignore[no-untyped-def]
    text, book, video = course.materials
    learning.start(session, trainee, course.id)
    learning.complete_material(session, trainee, course.id, video.id)
    learning.page_seen(session, trainee, course.id, book.id, 0)
    learning.page_seen(session, trainee, course.id, book.id, 1)
    session.commit()
    login(client, "trainee1")
    token = csrf_from(client, f"/learn/courses/{course.id}")
    done = post(client, f"/learn/lessons/{text.lesson_id}/materials/{text.id}/read", token, htmx=True)
    body = soup(done)
    assert body.find(id="lesson-complete") is not None
    flash = body.find(id="flash")
    assert flash is not None and "2.5" in flash.get_text()


def test_not_enrolled_is_404(client, build_course, user_factory) -> None:  # type: ignore[no-untyped-def]
    built = build_course("别人的课")
    user_factory("trainee", username="outsider")
    login(client, "outsider")
    assert client.get(f"/learn/courses/{built.id}").status_code == 404
    assert client.get(f"/learn/lessons/{built.materials[0].lesson_id}").status_code == 404
    token = csrf_from(client, "/")
    assert post(client, f"/learn/courses/{built.id}/start", token).status_code == 404
    assert post(client, f"/learn/lessons/{built.materials[0].lesson_id}/materials/{built.materials[0].id}/read",
                token).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, course) -> None:  # type: ignore[no-untyped-def]
    for path in (f"/learn/courses/{course.id}", f"/learn/lessons/{course.materials[0].lesson_id}", "/learn/my-learning"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_posts_need_csrf(client, course) -> None:  # type: ignore[no-untyped-def]
    login(client, "trainee1")
    assert client.post(f"/learn/courses/{course.id}/start").status_code == 403
    text = course.materials[0]
    assert client.post(f"/learn/lessons/{text.lesson_id}/materials/{text.id}/read", headers=HX).status_code == 403


def test_turning_a_page_also_records_the_page_turned_from(client, course, session, trainee) -> None:  # type: ignore[no-untyped-def]
    """A quick turn cancels the "page shown" report of the first page; the turn itself must record it."""
    login(client, "trainee1")
    token = csrf_from(client, f"/learn/courses/{course.id}")
    text, book, _video = course.materials
    post(client, f"/learn/courses/{course.id}/start", token)
    post(client, f"/learn/lessons/{text.lesson_id}/materials/{text.id}/read", token, htmx=True)
    turned = client.post(f"/learn/lessons/{text.lesson_id}/materials/{book.id}/pages/1", data={"seen_from": "0"},
                         headers={**HX, "X-CSRF-Token": token})
    assert turned.status_code == 200
    assert soup(turned).find(id="lesson-complete") is not None  # both pages of the book were seen
