"""Journey: a trainee takes a timed exam on the portrait touch kiosk, loses the network for two answers
(they wait on the device, shown as queued), gets them saved when it returns, opens the same exam in
another browser (a phone) where it resumes with every answer, submits there and sees the result; the
wrong answer is in the notebook.

The exam, its questions and the trainee are built with the app's services in the live server's
database, so nothing depends on the demo data or on the order the tests run in."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, live_session, make_live_user, sign_in

pytestmark = pytest.mark.browser
expect.set_options(timeout=10_000)


@dataclass
class LiveExam:
    id: int
    title: str
    username: str
    keys: list[str]


def build_exam(server: LiveServer) -> LiveExam:
    from app.accounts import service as accounts
    from app.core.models import utcnow
    from tests.exams.attempt_helpers import MULTI, SINGLE, fixed_paper, make_bank, make_question, published_exam

    suffix = uuid.uuid4().hex[:6]
    with live_session(server) as session:
        instructor = accounts.get_user_by_username(session, "instructor")
        assert instructor is not None
        trainee = make_live_user(session, f"exam_{suffix}", "考试学员")
        bank = make_bank(session, instructor, f"浏览器测试题库{suffix}")
        qs = [make_question(session, bank, SINGLE, stem="<p>会议桌签应如何摆放？</p>", points="2"),
              make_question(session, bank, {"type": "true_false", "correct": False}, stem="<p>茶水应倒满杯。</p>", points="2"),
              make_question(session, bank, MULTI, stem="<p>会前准备包括哪些？</p>", points="2"),
              make_question(session, bank, {"type": "fill_blank", "blanks": [{"accepted": ["七分满"]}]},
                            stem="<p>倒茶以 ____ 为宜。</p>", points="2")]
        exam = published_exam(session, instructor, fixed_paper(session, instructor, qs, shuffle=False), now=utcnow(),
                              title=f"会议服务周考（{suffix}）", time_limit_s=1200)
        return LiveExam(exam.id or 0, exam.title, trainee.username, [str(q.id) for q in qs])


def state(page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#q-{key} .xq-state")


def test_kiosk_exam_survives_offline_and_resumes_elsewhere(live_server: LiveServer, new_visit, shot) -> None:  # type: ignore[no-untyped-def]
    built = build_exam(live_server)
    single, tf, multi, blank = built.keys
    kiosk = new_visit("kiosk")
    page = kiosk.new_page()
    sign_in(page, built.username, public_device=True)

    page.goto("/exams")
    expect(page.locator("#open-exams")).to_contain_text(built.title)
    shot(page, "01-my-exams")
    page.get_by_role("link", name=built.title).click()
    expect(page.locator("#start-exam")).to_be_visible()
    shot(page, "02-intro")
    page.click("#start-exam")
    expect(page.locator("#exam")).to_be_visible()
    clock = page.locator("#countdown")
    expect(clock).to_have_text(re.compile(r"^(19|20):\d\d$"))  # the server's 20 minutes, counting down
    nav_button = page.locator(".xm-nav-btn").first
    box = nav_button.bounding_box()
    assert box and box["width"] >= 48 and box["height"] >= 48
    option = page.locator(f"#q-{single} .xq-option").first
    assert (option.bounding_box() or {}).get("height", 0) >= 48

    # Online: each answer is saved as it is given.
    page.locator(f"#q-{single} .xq-option", has_text="居中").click()
    expect(state(page, single)).to_have_attribute("data-state", "saved")
    expect(state(page, single)).to_have_text("已保存")
    shot(page, "03-first-answer-saved")
    page.click("#next-question")
    page.locator(f"#q-{tf} .xq-option", has_text="正确").click()  # wrong: the key says false
    expect(state(page, tf)).to_have_attribute("data-state", "saved")

    # The network drops: two more answers wait on the device.
    kiosk.context.set_offline(True)
    page.click("#next-question")
    page.locator(f"#q-{multi} .xq-option", has_text="茶水").click()
    page.locator(f"#q-{multi} .xq-option", has_text="桌签").click()
    page.click("#next-question")
    page.fill(f"#q-{blank} input[data-blank='0']", "七分满")
    page.locator(f"#q-{blank} input[data-blank='0']").blur()
    expect(state(page, blank)).to_have_attribute("data-state", "queued")
    expect(state(page, multi)).to_have_attribute("data-state", "queued")
    expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    expect(page.locator("#net-state")).to_contain_text("离线")
    queued = page.evaluate("JSON.parse(localStorage.getItem('shixun-exam-' + document.getElementById('exam').dataset.attempt))"
                           ".queue.length")
    assert queued >= 2
    shot(page, "04-offline-queued")

    # Back online: the queue is replayed in order and acknowledged.
    kiosk.context.set_offline(False)
    expect(state(page, multi)).to_have_attribute("data-state", "saved", timeout=15_000)
    expect(state(page, blank)).to_have_attribute("data-state", "saved", timeout=15_000)
    expect(page.locator("#net-state")).to_have_attribute("data-state", "online")
    shot(page, "05-back-online-saved")
    with live_session(live_server) as session:
        from sqlmodel import select

        from app.exams.models import Attempt, AttemptAnswer

        attempt = session.exec(select(Attempt).where(Attempt.exam_id == built.id)).one()
        saved = {a.question_key: a.response for a in session.exec(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))}
    assert saved[tf] is True and sorted(saved[multi]) == ["a", "b"] and saved[blank] == ["七分满"]

    # Another device (a phone): the same attempt resumes with its answers.
    phone = new_visit("phone")
    other = phone.new_page()
    sign_in(other, built.username)
    other.goto("/exams")
    other.get_by_role("link", name="继续作答").click()
    expect(other.locator("#exam")).to_have_attribute("data-attempt", str(attempt.id))
    expect(other.locator(f"#q-{single} input:checked")).to_have_count(1)
    expect(other.locator(".xm-nav-btn.is-answered")).to_have_count(4)
    other.click(f".xm-nav-btn[data-goto='{blank}']")
    expect(other.locator(f"#q-{blank} input[data-blank='0']")).to_have_value("七分满")
    shot(other, "06-phone-resumed")

    other.click("#submit-open")
    expect(other.locator("#submit-dialog")).to_be_visible()
    shot(other, "07-phone-submit-dialog")
    other.click("#submit-confirm")
    other.wait_for_url(f"**/exams/attempts/{attempt.id}/result")
    expect(other.locator("#score")).to_have_text("6.0")
    expect(other.locator("#verdict")).to_contain_text("通过")
    expect(other.locator(f"#r-{tf}")).to_have_class(re.compile("is-wrong"))
    shot(other, "08-phone-result")

    # The kiosk page learns the attempt is closed at its next save and shows the result too.
    page.click(f".xm-nav-btn[data-goto='{single}']")
    page.locator(f"#q-{single} .xq-option", has_text="靠左").click()
    page.wait_for_url(f"**/exams/attempts/{attempt.id}/result")
    expect(page.locator("#score")).to_have_text("6.0")
    shot(page, "09-kiosk-result")

    other.goto("/exams/my/notebook")
    expect(other.locator("#notebook-items")).to_contain_text("茶水应倒满杯")
    shot(other, "10-notebook")
    other.get_by_role("link", name="练习").click()
    other.locator("#practice-form .xq-option", has_text="错误").click()
    other.click("#practice-form button[type=submit]")
    expect(other.locator("#practice-outcome")).to_contain_text("答对了")
    shot(other, "11-notebook-practice-right")
    # Chromium logs each save that failed while the network was down; those were the point of the test.
    kiosk.errors[:] = [e for e in kiosk.errors if "ERR_INTERNET_DISCONNECTED" not in e]


def test_instructor_builds_a_blueprint_exam(live_server: LiveServer, new_visit, shot) -> None:  # type: ignore[no-untyped-def]
    """An instructor makes a blueprint paper on a demo bank, sees the check refuse an impossible rule and
    accept a possible one, creates a weekly exam from it and publishes it."""
    suffix = uuid.uuid4().hex[:6]
    page = new_visit("desktop").new_page()
    sign_in(page, "instructor")
    page.goto("/exams/staff/author")
    page.fill("#p-title", f"安全保卫抽题卷{suffix}")
    page.select_option("#p-kind", "blueprint")
    page.select_option("#p-bank", label="安全保卫与设施节能题库")
    page.click("text=创建试卷")
    expect(page.locator("h1")).to_contain_text(f"安全保卫抽题卷{suffix}")
    page.fill("#r-count", "500")
    page.select_option("#r-type", "single_choice")
    page.click("#add-rule")
    expect(page.locator("#blueprint-check tbody tr")).to_have_count(1)
    expect(page.locator("#check-summary")).to_contain_text("无法满足")
    shot(page, "01-rule-too-big")
    page.click("text=删除规则 1")
    expect(page.locator("#blueprint-check tbody tr")).to_have_count(0)
    page.fill("#r-count", "3")
    page.select_option("#r-type", "single_choice")
    page.click("#add-rule")
    expect(page.locator("#blueprint-check tbody tr")).to_have_count(1)
    page.fill("#r-count", "2")
    page.select_option("#r-type", "true_false")
    page.click("#add-rule")
    expect(page.locator("#blueprint-check tbody tr")).to_have_count(2)
    expect(page.locator("#check-summary")).to_contain_text("可以满足")
    shot(page, "02-rules-ok")
    page.click("text=用此试卷新建考试")
    page.fill("#f-title", f"安全保卫周考{suffix}")
    page.select_option("#f-kind", "weekly")
    page.fill("#f-limit", "15")
    page.fill("#f-attempts", "1")
    page.select_option("#f-tier", "execution")
    shot(page, "03-exam-form")
    page.click("form.card button[type=submit]")
    expect(page.locator("#publish-exam")).to_be_enabled()
    page.click("#publish-exam")
    expect(page.locator(".flash")).to_contain_text("已发布")
    shot(page, "04-published")


def queued_saves(page):  # type: ignore[no-untyped-def]
    return page.evaluate("(JSON.parse(localStorage.getItem('shixun-exam-' + document.getElementById('exam').dataset.attempt)"
                         " || '{}').queue || [])")


def saved_response(server: LiveServer, attempt_id: int, key: str):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from app.exams.models import AttemptAnswer

    with live_session(server) as session:
        answer = session.exec(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id,
                                                          AttemptAnswer.question_key == key)).first()
        return None if answer is None else (answer.response, answer.seq)


def test_an_answer_queued_offline_never_overwrites_a_newer_one(live_server: LiveServer, new_visit, shot) -> None:  # type: ignore[no-untyped-def]
    """The kiosk loses the network and the trainee changes an answer there twice (queued); then answers the
    same question on a phone. When the kiosk's queue is replayed (live, or after a reload) the phone's
    newer answer stands, on the server and on both screens: every save the page sends carries a seq, and a
    later answer on any device outranks an earlier one still queued on another."""
    built = build_exam(live_server)
    single = built.keys[0]
    kiosk = new_visit("kiosk")
    page = kiosk.new_page()
    sign_in(page, built.username, public_device=True)
    page.goto("/exams")
    page.get_by_role("link", name=built.title).click()
    page.click("#start-exam")
    expect(page.locator("#exam")).to_be_visible()
    attempt_id = int(page.locator("#exam").get_attribute("data-attempt") or 0)
    page.locator(f"#q-{single} .xq-option", has_text="居中").click()
    expect(state(page, single)).to_have_attribute("data-state", "saved")
    first = saved_response(live_server, attempt_id, single)
    assert first is not None and first[0] == "a"

    # Offline on the kiosk: two changes, the last one waits on the device with its seq.
    kiosk.context.set_offline(True)
    page.locator(f"#q-{single} .xq-option", has_text="靠左").click()
    page.locator(f"#q-{single} .xq-option", has_text="靠右").click()
    expect(state(page, single)).to_have_attribute("data-state", "queued")
    queued = queued_saves(page)
    assert [(q["key"], q["response"]) for q in queued] == [(single, "c")]
    assert isinstance(queued[0]["seq"], int) and queued[0]["seq"] > first[1]
    shot(page, "01-kiosk-offline-queued")

    # A little later, on a phone: the trainee answers the same question again.
    page.wait_for_timeout(300)
    phone = new_visit("phone")
    other = phone.new_page()
    sign_in(other, built.username)
    other.goto("/exams")
    other.get_by_role("link", name="继续作答").click()
    expect(other.locator(f"#q-{single} input[value='a']")).to_be_checked()  # the kiosk's changes never arrived
    other.locator(f"#q-{single} .xq-option", has_text="靠左").click()
    expect(state(other, single)).to_have_attribute("data-state", "saved")
    newer = saved_response(live_server, attempt_id, single)
    assert newer is not None and newer[0] == "b" and newer[1] > queued[0]["seq"]

    # The kiosk is back: its queued (older) answer is replayed and refused; the phone's is shown there.
    with page.expect_response(lambda r: r.request.method == "PUT" and r.status == 409):
        kiosk.context.set_offline(False)
    expect(page.locator(f"#q-{single} input[value='b']")).to_be_checked()
    expect(state(page, single)).to_have_text("已保存另一台设备上更新的答案")
    assert queued_saves(page) == []
    assert saved_response(live_server, attempt_id, single) == newer
    shot(page, "02-kiosk-shows-the-newer-answer")

    # Again, but the kiosk page is reloaded before its queue could be sent: the overtaken save is dropped.
    kiosk.context.set_offline(True)
    page.locator(f"#q-{single} .xq-option", has_text="居中").click()
    expect(state(page, single)).to_have_attribute("data-state", "queued")
    page.wait_for_timeout(300)
    other.locator(f"#q-{single} .xq-option", has_text="靠右").click()
    expect(state(other, single)).to_have_attribute("data-state", "saved")
    newest = saved_response(live_server, attempt_id, single)
    assert newest is not None and newest[0] == "c"
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.method) if "/answers/" in r.url else None)
    kiosk.context.set_offline(False)
    page.route("**/answers/**", lambda route: route.abort())  # the reload comes before any save gets through
    page.reload()
    expect(page.locator(f"#q-{single} input[value='c']")).to_be_checked()
    assert queued_saves(page) == []
    page.unroute("**/answers/**")
    page.wait_for_timeout(500)
    assert saved_response(live_server, attempt_id, single) == newest
    shot(page, "03-kiosk-reloaded-shows-the-newest")
    # Chromium logs each save that failed while the network was down, or was cut by the route; on purpose.
    kiosk.errors[:] = [e for e in kiosk.errors if "ERR_INTERNET_DISCONNECTED" not in e and "ERR_FAILED" not in e]
