"""Courses: the trainee's pages. My learning (a fragment the home page embeds), a course's outline and
the lesson player (one material at a time, touch-sized, htmx for the POST actions).

GETs never write: a course is started by its own POST ("Start learning"); opening a lesson of a
course not started yet sends the trainee to the course page. Enrolment is enforced by the service:
a course or lesson the trainee is not enrolled in is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request, Response

from app.accounts.access import SIGNED_IN, CurrentUser, signed_in
from app.core.errors import Conflict
from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.core.lean import LeanRoute, query_ints, run_view
from app.core.routing import DbSession, make_router
from app.core.templating import flash, is_htmx, path_for, redirect, render
from app.core.types import Count, Id
from app.courses import learning, picture_book, reads, video
from app.courses import media_access as _media_access  # noqa: F401  (registers the trainees' media viewer check)
from app.courses.models import MaterialKind

router = make_router(tags=["pages: learning"])

WEEKDAY_NAMES = {1: _l("Mon"), 2: _l("Tue"), 3: _l("Wed"), 4: _l("Thu"), 5: _l("Fri"), 6: _l("Sat"), 7: _l("Sun")}



def _lesson_url(request: Request, lesson_id: int, item: int = 0, page: int | None = None) -> str:
    url = path_for(request, "courses:lesson", lesson_id=lesson_id) + f"?item={item}"
    return url + (f"&page={page}" if page is not None else "")


@router.get("/learn/my-learning", name="courses:my_learning_fragment", dependencies=[signed_in()])
def my_learning_fragment(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(request, "courses/my_learning.html", {"learning": reads.my_learning(db, user)}, block="my_learning")


@router.get("/learn/courses/{course_id}", name="courses:course", dependencies=[signed_in()])
def course_page(request: Request, db: DbSession, user: CurrentUser, course_id: Id) -> Response:
    outline = reads.course_outline(db, user, course_id)
    return render(request, "courses/course.html", {"outline": outline}, block="outline")


@router.post("/learn/courses/{course_id}/start", name="courses:start", dependencies=[signed_in()])
def course_start(request: Request, db: DbSession, user: CurrentUser, course_id: Id) -> Response:
    try:
        enrolment = learning.start(db, user, course_id)
    except Conflict as exc:
        flash(request, exc.translated_detail(), "error")
        return redirect(request, path_for(request, "courses:course", course_id=course_id))
    outline = reads.course_outline(db, user, course_id)
    following = outline.progress.next_lesson or next((lesson.__dict__ for m in outline.modules for lesson in m.lessons), None)
    if enrolment.completed_at is not None or following is None:
        return redirect(request, path_for(request, "courses:course", course_id=course_id))
    return redirect(request, _lesson_url(request, following["id"]))


def _player(db: DbSession, view: reads.LessonView, item: int, page: int) -> dict[str, Any]:
    item = min(max(item, 0), len(view.materials) - 1)
    current = view.materials[item]
    config = current.material["config"]
    pages = len(config.get("pages", [])) if current.material["kind"] == MaterialKind.picture_book.value else 0
    page = min(max(page, 0), max(pages - 1, 0))
    player = video.player(db, config, current.state) if current.material["kind"] == MaterialKind.video.value else None
    # The page shown: one query for an uploaded picture, none for a demo drawing.
    book_page = picture_book.picture(db, str(config["pages"][page].get("image", ""))) if pages else None
    if player is not None:
        current.asset_status = player.status
    return {"view": view, "item": item, "current": current, "config": config, "page": page, "pages": pages, "video": player,
            "book_page": book_page,
            "seen": set(current.state.get("pages_seen", [])), "lesson_done": reads.lesson_done(view),
            "clauses": reads.cited_clauses(db, config.get("clause_ids", [])), "weekday_names": WEEKDAY_NAMES,
            "hours": reads.hours_awarded(db, view.enrolment.id) if view.enrolment.completed_at else None}


@router.get("/learn/lessons/{lesson_id}", name="courses:lesson", dependencies=[signed_in()])
def lesson_page(request: Request, db: DbSession, user: CurrentUser, lesson_id: Id,
                item: Annotated[int, Query(ge=0, le=500)] = 0, page: Annotated[int, Query(ge=0, le=500)] = 0) -> Response:
    enrolment, view = reads.player_view(db, user, lesson_id)
    if view is None:
        flash(request, _("Start the course first."), "warning")
        return redirect(request, path_for(request, "courses:course", course_id=enrolment.course_id))
    return render(request, "courses/lesson.html", _player(db, view, item, page), block="player")


async def _lesson_lean(request: Request, lesson_id: int) -> Response | None:
    """`lesson_page` without FastAPI's routing and dependency solving (core/lean): the same access rule
    and view, with the remembered user (the player only reads its id). A query FastAPI would refuse or
    read differently is left to the declared route."""
    query = query_ints(request, {"item": (0, 0, 500), "page": (0, 0, 500)})
    if query is None:
        return None
    principal = await SIGNED_IN.detached(request)
    assert principal is not None
    return await run_view(request, lesson_page, user=principal.user, lesson_id=lesson_id, **query)


LESSON_LEAN = LeanRoute("GET", "/learn/lessons/{lesson_id:int}", _lesson_lean)


def _after_action(request: Request, db: DbSession, user: CurrentUser, lesson_id: int, item: int, page: int,
                  before: tuple[bool, bool]) -> Response:
    """Render the player after a POST, with feedback when it finished the lesson or the course.
    `before`: (course complete, lesson done) as they were before the action."""
    enrolment = reads.course_of_lesson_id(db, user, lesson_id)
    ctx = _player(db, reads.lesson_view(db, user, enrolment.course_id, lesson_id, enrolment=enrolment), item, page)
    after: reads.LessonView = ctx["view"]
    if not before[0] and after.enrolment.completed_at is not None:
        flash(request, _("Course complete! %(hours)s study hours have been credited to you.", hours=ctx["hours"]))
    elif not before[1] and ctx["lesson_done"]:
        flash(request, _("Lesson complete. Well done!"))
    if not is_htmx(request):
        return redirect(request, _lesson_url(request, lesson_id, item, page))
    return render(request, "courses/lesson.html", ctx, block="player")


def _index_of(view: reads.LessonView, material_id: int) -> int:
    return next((i for i, m in enumerate(view.materials) if m.material["id"] == material_id), 0)


def _state(view: reads.LessonView) -> tuple[bool, bool]:
    return view.enrolment.completed_at is not None, reads.lesson_done(view)


@router.post("/learn/lessons/{lesson_id}/materials/{material_id}/read", name="courses:mark_read", dependencies=[signed_in()])
def material_read(request: Request, db: DbSession, user: CurrentUser, lesson_id: Id, material_id: Id) -> Response:
    enrolment = reads.course_of_lesson_id(db, user, lesson_id)
    before = reads.lesson_view(db, user, enrolment.course_id, lesson_id)
    state = _state(before)
    learning.mark_read(db, user, enrolment.course_id, material_id)
    return _after_action(request, db, user, lesson_id, _index_of(before, material_id), 0, state)


@router.post("/learn/lessons/{lesson_id}/materials/{material_id}/pages/{page}", name="courses:page_seen",
             dependencies=[signed_in()])
def material_page_seen(request: Request, db: DbSession, user: CurrentUser, lesson_id: Id, material_id: Id, page: Count,
                       seen_from: Annotated[Count | None, Form(ge=0)] = None) -> Response:
    enrolment = reads.course_of_lesson_id(db, user, lesson_id)
    before = reads.lesson_view(db, user, enrolment.course_id, lesson_id)
    state = _state(before)
    if seen_from is not None and seen_from != page:
        # Turning the page means the page turned from was seen, even if its own "shown" report was cut
        # short by the quick turn (the page button replaces that request in flight).
        learning.page_seen(db, user, enrolment.course_id, material_id, seen_from)
    learning.page_seen(db, user, enrolment.course_id, material_id, page)
    return _after_action(request, db, user, lesson_id, _index_of(before, material_id), page, state)


# ---------------------------------------------------------------------------------------------
# Video: heartbeats from the player (JSON, under /api/ so errors are problem+json) and subtitles


@router.post("/api/v1/lessons/{lesson_id}/materials/{material_id}/heartbeats", name="courses:video_heartbeat",
             response_model=video.HeartbeatOut, dependencies=[signed_in()], tags=["learning"])
def video_heartbeat(db: DbSession, user: CurrentUser, lesson_id: Id, material_id: Id, beat: video.Heartbeat) -> video.HeartbeatOut:
    """The player reports the stretches of media time it played and where it is; the server merges
    them and decides completion (app/courses/video.py). Replaying a heartbeat changes nothing."""
    return video.record_heartbeat(db, user, lesson_id, material_id, beat)


@router.get("/learn/lessons/{lesson_id}/materials/{material_id}/subtitles/{index}.vtt", name="courses:subtitles",
            dependencies=[signed_in()])
def video_subtitles(db: DbSession, user: CurrentUser, lesson_id: Id, material_id: Id, index: Count) -> Response:
    text = video.subtitle_text(db, user, lesson_id, material_id, index)
    return Response(text, media_type="text/vtt; charset=utf-8",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})
