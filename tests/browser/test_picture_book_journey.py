"""Journey: an instructor builds a picture book from a generated three-page PDF and two pictures in the
material editor (one upload of several files), watches the processing finish (a worker started on the
live database, as in test_video_journey.py), reorders the pages by dragging and by keyboard, writes
the captions and publishes; a trainee on the kiosk swipes through every page (responsive WebP
pictures and the PDF's page images) and the lesson completes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, Visit, accept_confirms, sign_in, swipe
from tests.browser.test_video_journey import course_skeleton, enrol, job_worker

pytestmark = pytest.mark.browser
expect.set_options(timeout=10_000)
PROCESSING_TIMEOUT_S = 180
COLOURS = ((164, 22, 26), (25, 94, 160), (32, 128, 72), (200, 140, 20), (90, 60, 150))


def _page(number: int, size: tuple[int, int] = (1200, 800)) -> Any:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, COLOURS[(number - 1) % len(COLOURS)])
    draw = ImageDraw.Draw(img)
    draw.rectangle((size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4), fill=(250, 250, 250))
    draw.text((size[0] // 2, size[1] // 2), str(number), fill=(0, 0, 0), anchor="mm", font_size=200)
    return img


@pytest.fixture(scope="module")
def book_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("book")
    pdf, png, jpeg = d / "会议服务标准.pdf", d / "桌签.png", d / "茶杯.jpg"
    pages = [_page(n, (850, 1200)) for n in (1, 2, 3)]
    pages[0].save(pdf, "PDF", save_all=True, append_images=pages[1:], resolution=100)
    _page(4).save(png, "PNG")
    _page(5).save(jpeg, "JPEG", quality=85)
    return [pdf, png, jpeg]


def refs(page: Any) -> list[str]:
    return [str(r) for r in page.locator("#pb-page-list li.pb-page").evaluate_all("rows => rows.map(r => r.dataset.ref)")]


def drag(page: Any, source: Any, target: Any) -> None:
    """Real mouse steps, as SortableJS sees a person drag: press, a small move, a slow move to just inside
    the top edge of the target row, a pause while the rows' 150 ms animation settles, release."""
    start, end = source.bounding_box(), target.bounding_box()
    assert start and end
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    tx, ty = end["x"] + end["width"] / 2, end["y"] + 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 6, steps=2)
    page.mouse.move(tx, ty + 12, steps=30)
    page.wait_for_timeout(250)
    page.mouse.move(tx, ty, steps=4)
    page.wait_for_timeout(250)
    page.mouse.up()


def page_recorded(page: Any) -> None:
    expect(page.locator("#book [hx-trigger=load]")).to_have_count(0)


def test_build_a_picture_book_from_uploads_and_swipe_through_it(live_server: LiveServer, new_visit: Callable[..., Visit],
                                                                shot: Callable[..., Any], book_files: list[Path]) -> None:
    sk = course_skeleton(live_server)

    # -- the instructor uploads a PDF and two pictures at once -------------------------------------------
    author = new_visit("desktop").new_page()
    sign_in(author, "instructor")
    author.goto(f"/author/lessons/{sk.lesson_id}/materials/new?kind=picture_book")
    author.fill("#f-title", "图解：会场布置")
    expect(author.locator("#pb-empty")).to_be_visible()
    author.set_input_files("#pb-files", [str(p) for p in book_files])
    author.click("#pb-upload")
    expect(author.locator("#pb-upload-message")).to_have_text("上传完成，页面已加入图册。", timeout=60_000)
    rows = author.locator("#pb-page-list li.pb-page")
    expect(rows).to_have_count(5)
    order = refs(author)
    pdf_id = order[0].split("#")[0]
    assert order[:3] == [f"{pdf_id}#p1", f"{pdf_id}#p2", f"{pdf_id}#p3"] and "#" not in order[3] + order[4], order
    expect(author.locator("#pb-processing-card")).to_be_visible()
    expect(author.locator("#pb-processing [data-status]")).to_have_count(3)  # one progress fragment per file
    shot(author, "1-uploaded-waiting")

    # -- a worker processes them: the progress fragments go, thumbnails come ------------------------------
    with job_worker(live_server):
        deadline = time.monotonic() + PROCESSING_TIMEOUT_S
        while author.locator("#pb-processing-card").is_visible():
            assert author.locator("#pb-processing [data-status=failed]").count() == 0, author.locator("#pb-processing").inner_text()
            assert time.monotonic() < deadline, "processing did not finish"
            time.sleep(0.25)
    expect(author.locator("#pb-page-list [data-pb-thumb] img")).to_have_count(5)
    for thumb in author.locator("#pb-page-list [data-pb-thumb] img").all():
        expect(thumb).to_have_js_property("complete", True)
        assert thumb.evaluate("img => img.naturalWidth > 0")
    shot(author, "2-processed")

    # -- reorder: drag the last picture to the top, then move the PDF's first page down by keyboard -----
    expect(author.locator("#pb-page-list")).to_have_attribute("data-sortable-ready", "1")
    # Every row on screen: a mouse outside the viewport hits nothing, and five rows with thumbnails can be
    # taller than the desktop viewport (the drag then silently does nothing; seen in CI).
    author.set_viewport_size({"width": 1280, "height": 1600})
    for _try in range(3):  # a late thumbnail swap can move the rows under the mouse on a loaded machine
        author.locator("#pb-page-list").evaluate("list => list.scrollIntoView({block: 'center'})")
        for row in (rows.nth(0), rows.nth(4)):
            assert row.evaluate("r => { const b = r.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight }")
        # by its ref: after a drop one row short of the top, the picture is no longer the last row
        drag(author, author.locator(f'#pb-page-list li.pb-page[data-ref="{order[4]}"] .pb-handle'), rows.nth(0))
        try:
            expect(rows.first).to_have_attribute("data-ref", order[4], timeout=3000)
            break
        except AssertionError:
            author.wait_for_timeout(500)
    expect(rows.first).to_have_attribute("data-ref", order[4])
    rows.nth(1).locator("[data-pb-down]").focus()
    author.keyboard.press("Enter")
    final = [order[4], order[1], order[0], order[2], order[3]]
    assert refs(author) == final
    expect(rows.nth(2).locator("[data-pb-down]")).to_be_focused()
    captions = ["第一步：备好茶杯", "第二步：标准第 2 页", "第三步：标准第 1 页", "第四步：标准第 3 页", "第五步：摆放桌签"]
    for i, caption in enumerate(captions):
        rows.nth(i).locator("[data-pb-caption]").fill(caption)
    shot(author, "3-reordered-captioned")
    author.click("#material-save")
    expect(author.locator("#flash")).to_contain_text("材料已添加")
    accept_confirms(author)
    author.click("#publish-submit")
    expect(author.locator("#flash")).to_contain_text("已发布第 1 版")
    enrol(live_server, sk.course_id, sk.trainee)

    # -- a trainee swipes through it on the kiosk -----------------------------------------------------
    page = new_visit("kiosk").new_page()
    sign_in(page, sk.trainee)
    page.goto(f"/learn/courses/{sk.course_id}")
    page.click("#start-course")
    for n, caption in enumerate(captions, start=1):
        expect(page.locator("#book-counter")).to_have_text(f"第 {n} / 5 页")
        expect(page.locator("#book-caption")).to_have_text(caption)
        image = page.locator("#book-image")
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth > 0"), f"page {n} has no picture"
        src = image.get_attribute("src") or ""
        if n == 1:
            assert image.get_attribute("srcset") and "/files/w" in src, src  # a picture: WebP widths
            expect(page.locator("#book-fullscreen")).to_be_visible()
            shot(page, "4-kiosk-page-1")
        if n == 2:
            assert src.endswith("/files/pages/p0002.webp"), src  # the PDF's second page
            shot(page, "5-kiosk-pdf-page")
        page_recorded(page)
        if n < 5:
            swipe(page, page.locator("#book .book-page"), -300)
    expect(page.locator("#lesson-complete")).to_be_visible()
    shot(page, "6-complete")
