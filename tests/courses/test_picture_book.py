"""Picture books from uploads: page references (old and new shapes), the editor's page rows and its
fragment for an uploaded file, the player's responsive picture, the preview's thumbnails, and which
trainees may fetch a PDF's page images. Assets and renditions are rows made here: no Pillow work."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.core.errors import ValidationFailed
from app.courses import learning, materials, picture_book, publishing, service, structure
from app.courses.media_access import assets_of_snapshot
from app.courses.models import Course, Curriculum, Material
from app.courses.schemas import CourseIn, LessonIn, MaterialIn, ModuleIn
from app.media import service as media
from app.media.models import AssetStatus, MediaAsset, MediaRendition
from app.media.storage import MediaStore
from tests.helpers import csrf_from, login

HX = {"HX-Request": "true"}
WIDTHS = (320, 640, 800)


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def image_asset(session: Session, owner: User, *, ready: bool = True) -> MediaAsset:
    asset = MediaAsset(id=media.new_id(), kind="image", status="ready" if ready else "queued", owner_id=owner.id or 0,
                       title="桌签照片", sha256=secrets.token_hex(32), size_bytes=1000, mime_type="image/jpeg", width=800, height=500)
    session.add(asset)
    session.flush()
    if ready:
        for pos, w in enumerate(WIDTHS):
            session.add(MediaRendition(asset_id=asset.id, kind="image", label=f"w{w}", path=f"w{w}.webp", mime_type="image/webp",
                                       width=w, height=w * 5 // 8, position=pos))
        session.flush()
    return asset


def pdf_asset(session: Session, owner: User, *, pages: int = 3, ready: bool = True) -> MediaAsset:
    asset = MediaAsset(id=media.new_id(), kind="picture_book", status="ready" if ready else "queued", owner_id=owner.id or 0,
                       title="会议服务标准", sha256=secrets.token_hex(32), size_bytes=1000, mime_type="application/pdf",
                       page_count=pages)
    session.add(asset)
    session.flush()
    if ready:
        for n in range(1, pages + 1):
            session.add(MediaRendition(asset_id=asset.id, kind="page", label=f"p{n:04d}", path=f"pages/p{n:04d}.webp",
                                       mime_type="image/webp", width=1600, height=2263, position=n))
        session.flush()
    return asset


# -- config shapes ---------------------------------------------------------------------------------

def test_page_references_old_and_new_shapes() -> None:
    old = materials.parse_config("picture_book", {"pages": [{"image": "img-1", "caption": "封面"}, {"image": "demo-meeting-1"}]})
    assert [p.image for p in old.pages] == ["img-1", "demo-meeting-1"]  # type: ignore[union-attr]
    new = materials.parse_config("picture_book", {"v": 1, "pages": [{"image": "Ab_c-9#p3", "caption": "第三页"}, {"image": "Xy"}]})
    assert materials.dump_config(new)["pages"][0] == {"image": "Ab_c-9#p3", "caption": "第三页"}
    for bad in ("a#p0", "a#3", "a#p12345", "a#", "#p1", "a b", "a#p1#p2"):
        with pytest.raises(ValidationFailed):
            materials.parse_config("picture_book", {"pages": [{"image": bad}]})
    assert picture_book.parse_ref("Ab_c-9#p3") == ("Ab_c-9", 3) and picture_book.parse_ref("Ab") == ("Ab", None)
    assert picture_book.asset_id_of("demo-meeting-1") == "" and picture_book.asset_id_of("x#p2") == "x"


def test_media_access_grants_the_pdf_behind_a_page_reference() -> None:
    snapshot = {"modules": [{"lessons": [{"materials": [
        {"kind": "picture_book", "config": {"pages": [{"image": "pdfA#p2"}, {"image": "imgB"}, {"image": "pdfA#p3"}]}}]}]}]}
    assert assets_of_snapshot(snapshot) == {"pdfA", "imgB"}


def test_pictures_resolve_in_one_query(session: Session, instructor: User) -> None:
    img, pdf, waiting = image_asset(session, instructor), pdf_asset(session, instructor), image_asset(session, instructor, ready=False)
    found = picture_book.pictures(session, [img.id, f"{pdf.id}#p2", waiting.id, "demo-meeting-1", "nope", f"{pdf.id}#p9", "bad ref"])
    assert found[img.id].status == "ready" and found[img.id].srcset == [(f"w{w}.webp", w) for w in WIDTHS]
    assert found[img.id].src == "w800.webp" and found[img.id].thumb == "w320.webp"
    assert found[f"{pdf.id}#p2"].status == "ready" and found[f"{pdf.id}#p2"].src == "pages/p0002.webp"
    assert found[waiting.id].status == "processing" and found["demo-meeting-1"].status == "demo"
    assert found["nope"].status == "missing" and found[f"{pdf.id}#p9"].status == "missing" and found["bad ref"].status == "missing"
    assert picture_book.refs_of_asset(pdf) == [f"{pdf.id}#p1", f"{pdf.id}#p2", f"{pdf.id}#p3"]
    assert picture_book.refs_of_asset(img) == [img.id]


# -- a published book with uploads ---------------------------------------------------------------------

@dataclass
class Book:
    course: Course
    lesson_id: int
    material: Material
    image: MediaAsset
    pdf: MediaAsset


@pytest.fixture
def book(session: Session, curriculum: Curriculum, instructor: User, admin: User, trainee: User) -> Book:
    img, pdf = image_asset(session, instructor), pdf_asset(session, instructor, pages=2)
    course = service.create_course(session, instructor, curriculum, CourseIn(title="图册课", hours=Decimal("1")))
    module = structure.add_module(session, instructor, course, ModuleIn(title="会前准备"))
    lesson = structure.add_lesson(session, instructor, module.id or 0, LessonIn(title="桌签摆放"))
    material = structure.add_material(session, instructor, lesson.id or 0, MaterialIn(kind="picture_book", title="图解", config={
        "pages": [{"image": img.id, "caption": "照片"}, {"image": f"{pdf.id}#p2", "caption": "标准第二页"},
                  {"image": f"{pdf.id}#p1", "caption": "标准第一页"}]}))
    publishing.publish_course(session, instructor, course)
    learning.enrol(session, admin, course, trainee)
    learning.start(session, trainee, course.id or 0)
    session.commit()
    return Book(course, lesson.id or 0, material, img, pdf)


@pytest.fixture
def pages_on_disk(book: Book) -> Iterator[str]:
    directory = MediaStore.default().derived_dir(book.pdf.sha256)
    (directory / "pages").mkdir(parents=True, exist_ok=True)
    (directory / "pages" / "p0002.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    yield f"/media/{book.pdf.id}/files/pages/p0002.webp"
    shutil.rmtree(directory.parent, ignore_errors=True)


def test_the_player_shows_responsive_pictures_and_pdf_pages(client: TestClient, book: Book, trainee: User) -> None:
    login(client, trainee.username)
    page = soup(client.get(f"/learn/lessons/{book.lesson_id}"))
    img = page.select_one("#book #book-image")
    files = f"/media/{book.image.id}/files/"
    assert img["src"] == files + "w800.webp" and img["alt"] == "照片"
    assert img["srcset"] == ", ".join(f"{files}w{w}.webp {w}w" for w in WIDTHS) and img.has_attr("sizes")
    assert page.select_one("#book-fullscreen") is not None and page.find(id="book-caption").get_text() == "照片"
    assert page.select_one("script[src$='js/picture-book.js']") is not None
    second = soup(client.get(f"/learn/lessons/{book.lesson_id}?page=1", headers=HX))
    assert second.select_one("#book-image")["src"] == f"/media/{book.pdf.id}/files/pages/p0002.webp"
    assert "2 / 3" in second.find(id="book-counter").get_text() and second.find("html") is None


def test_a_page_still_processing_says_so(client: TestClient, session: Session, book: Book, trainee: User) -> None:
    book.image.status = AssetStatus.processing.value
    session.add(book.image)
    session.commit()
    login(client, trainee.username)
    page = soup(client.get(f"/learn/lessons/{book.lesson_id}"))
    assert page.find(id="book-processing") is not None and page.find(id="book-image") is None


def test_seeing_every_page_completes_the_book(client: TestClient, book: Book, trainee: User) -> None:
    login(client, trainee.username)
    token = csrf_from(client, f"/learn/lessons/{book.lesson_id}")
    for n in range(3):
        r = client.post(f"/learn/lessons/{book.lesson_id}/materials/{book.material.id}/pages/{n}", data={"csrf_token": token}, headers=HX)
        assert r.status_code == 200
    assert soup(r).find(id="lesson-complete") is not None


def test_pdf_page_files_for_enrolled_trainees_only(client: TestClient, session: Session, book: Book, admin: User,
                                                   user_factory: Any, pages_on_disk: str) -> None:
    login(client, "trainee1")
    assert client.get(pages_on_disk).status_code == 200
    waiting = user_factory(username="pb_waiting")  # enrolled, not started
    learning.enrol(session, admin, book.course, waiting)
    user_factory(username="pb_stranger")
    session.commit()
    for username in ("pb_waiting", "pb_stranger"):
        other = TestClient(client.app, follow_redirects=False)
        login(other, username)
        assert other.get(pages_on_disk).status_code == 404


def test_the_picture_item_costs_one_query_more(client: TestClient, book: Book, trainee: User, engine: Any) -> None:
    from tests.courses.test_queries import LESSON_BUDGET, counting

    login(client, trainee.username)
    url = f"/learn/lessons/{book.lesson_id}"
    assert client.get(url).status_code == 200
    with counting(engine) as statements:
        assert client.get(url).status_code == 200
    assert len(statements) <= LESSON_BUDGET + 1, "\n".join(statements)


# -- authoring -----------------------------------------------------------------------------------------

def test_the_editor_lists_pages_with_thumbnails(client: TestClient, session: Session, book: Book, instructor: User) -> None:
    waiting = pdf_asset(session, instructor, ready=False)
    material = session.get(Material, book.material.id)
    assert material is not None
    session.commit()
    login(client, instructor.username)
    page = soup(client.get(f"/author/materials/{material.id}"))
    rows = page.select("#pb-page-list li.pb-page")
    assert [r["data-ref"] for r in rows] == [book.image.id, f"{book.pdf.id}#p2", f"{book.pdf.id}#p1"]
    assert rows[0].select_one("[data-pb-thumb] img")["src"] == f"/media/{book.image.id}/files/w320.webp"
    assert [i["value"] for i in page.select("input[name=page_caption]")] == ["照片", "标准第二页", "标准第一页"]
    assert page.find(id="f-pages").get_text() == "" and page.find(id="pb-upload") is not None
    assert page.find(id="pb-processing-card").has_attr("hidden")
    # An uploaded PDF still processing: one row per page, and its progress fragment.
    fragment = client.get(f"/author/picture-book/pages?asset_id={waiting.id}", headers=HX)
    assert fragment.status_code == 200
    new = soup(fragment)
    assert [r["data-ref"] for r in new.select("li.pb-page")] == [f"{waiting.id}#p{n}" for n in (1, 2, 3)]
    assert new.select_one(f"[data-pb-processing-for='{waiting.id}'] [hx-get]")["hx-get"] == f"/media/{waiting.id}/status"
    assert {t["data-status"] for t in new.select("[data-pb-thumb]")} == {"processing"}
    assert client.get("/author/picture-book/pages?asset_id=nope", headers=HX).status_code == 404


def test_saving_pages_in_order_with_captions(client: TestClient, session: Session, book: Book, instructor: User) -> None:
    login(client, instructor.username)
    material_id = book.material.id
    token = csrf_from(client, f"/author/materials/{material_id}")
    r = client.post(f"/author/materials/{material_id}", data={
        "csrf_token": token, "title": "图解（新）", "is_required": "1",
        "page_image": [f"{book.pdf.id}#p1", book.image.id], "page_caption": ["第一页", ""],
        "pages": "demo-meeting-1 | 示意图"})
    assert r.status_code == 303 and "/author/courses/" in r.headers["location"]
    session.expire_all()
    stored = session.get(Material, material_id)
    assert stored is not None and stored.config["pages"] == [
        {"image": f"{book.pdf.id}#p1", "caption": "第一页"}, {"image": book.image.id, "caption": ""},
        {"image": "demo-meeting-1", "caption": "示意图"}]
    bad = client.post(f"/author/materials/{material_id}", data={"csrf_token": token, "title": "图解", "is_required": "1",
                                                                "page_image": ["x#p0"], "page_caption": ["坏"]})
    assert bad.status_code == 303 and bad.headers["location"].endswith(f"/author/materials/{material_id}")
    session.expire_all()
    assert len(session.get(Material, material_id).config["pages"]) == 3  # type: ignore[union-attr]
    empty = client.post(f"/author/materials/{material_id}", data={"csrf_token": token, "title": "图解", "is_required": "1"})
    assert empty.headers["location"].endswith(f"/author/materials/{material_id}")  # a book needs a page


def test_new_picture_book_form_and_preview_thumbnails(client: TestClient, book: Book, instructor: User) -> None:
    login(client, instructor.username)
    form = soup(client.get(f"/author/lessons/{book.lesson_id}/materials/new?kind=picture_book"))
    assert form.find(id="pb-page-list") is not None and not form.select("li.pb-page")
    assert form.find(id="pb-empty") is not None and not form.find(id="pb-empty").has_attr("hidden")
    assert form.select_one("script[src$='js/picture-book-authoring.js']") is not None
    assert form.select_one("#material-form #pb-files") is None and form.find(id="pb-files") is not None  # uploader outside the form
    preview = soup(client.get(f"/author/courses/{book.course.id}/preview"))
    thumbs = [img["src"] for img in preview.select(f"#pv-material-{book.material.id} img.au-pv-thumb")]
    assert thumbs == [f"/media/{book.image.id}/files/w320.webp", f"/media/{book.pdf.id}/files/pages/p0002.webp",
                      f"/media/{book.pdf.id}/files/pages/p0001.webp"]


def test_trainees_and_strangers_cannot_list_rows(client: TestClient, book: Book, trainee: User) -> None:
    login(client, trainee.username)
    assert client.get(f"/author/picture-book/pages?asset_id={book.image.id}").status_code == 403
