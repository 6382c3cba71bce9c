"""Papers: fixed papers frozen at publish, blueprint satisfiability (overlapping rules), draws without
repeats, per-trainee shuffles whose key follows."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.core.errors import ValidationFailed
from app.exams import papers
from app.exams import question_types as qt
from app.exams.models import PaperKind
from tests.exams.attempt_helpers import MULTI, ORDER, SINGLE, TF, add_version, make_bank, make_question, published_exam
from tests.factories import make_user


@pytest.fixture
def author(session: Session, org):  # type: ignore[no-untyped-def]
    user = make_user(session, Role.instructor, unit=org["dept"], username="paper_author")
    session.commit()
    return user


@pytest.fixture
def bank(session: Session, author):  # type: ignore[no-untyped-def]
    bank = make_bank(session, author)
    for i in range(4):  # single choice, difficulty 1..4, tags 会前 (all) and 茶水 (first two)
        make_question(session, bank, SINGLE, stem=f"单选{i}", difficulty=i + 1, tags=["会前"] + (["茶水"] if i < 2 else []),
                      category="会议服务/会前准备")
    for i in range(3):
        make_question(session, bank, TF, stem=f"判断{i}", difficulty=2, tags=["茶水"], category="会议服务/会中服务")
    make_question(session, bank, MULTI, stem="多选", difficulty=5, status="retired")
    session.flush()
    return bank


def rule(count: int, **kw) -> papers.RuleSpec:  # type: ignore[no-untyped-def]
    return papers.RuleSpec(count=count, points=Decimal(kw.pop("points", "1")), **kw)


def test_check_counts_available_and_overlaps(session, author, bank) -> None:
    # 茶水 matches 2 single + 3 true/false = 5; "single choice" matches 4. Together they need 7 distinct of 7.
    ok = papers.check_rules(session, bank.id, [rule(3, type="single_choice"), rule(4, tag="茶水")])
    assert ok.feasible and [(r.available, r.assignable) for r in ok.rules] == [(4, 3), (5, 4)]
    assert ok.question_count == 7 and ok.total_points == Decimal(7)
    # Each rule alone is satisfiable, but not both at once: the check says which rule is short and why.
    clash = papers.check_rules(session, bank.id, [rule(4, type="single_choice"), rule(4, tag="茶水")])
    assert not clash.feasible
    assert [(r.available, r.rule.count) for r in clash.rules] == [(4, 4), (5, 4)]
    assert sum(r.assignable for r in clash.rules) == 7 and any(r.shared for r in clash.rules)
    # Filters: difficulty range, category prefix, retired questions never count.
    assert papers.check_rules(session, bank.id, [rule(1, difficulty_min=4, difficulty_max=5)]).rules[0].available == 1
    assert papers.check_rules(session, bank.id, [rule(1, category="会议服务/会中")]).rules[0].available == 3
    assert papers.check_rules(session, bank.id, [rule(1, type="multiple_choice")]).rules[0].available == 0


def test_publishing_an_infeasible_blueprint_is_refused(session, author, bank) -> None:
    paper = papers.create_paper(session, author, "抽题卷", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, author, paper, rule(5, type="single_choice"))
    check = papers.check_blueprint(session, paper)
    assert not check.feasible and check.rules[0].available == 4
    with pytest.raises(ValidationFailed):
        published_exam(session, author, paper)


def test_draws_satisfy_the_blueprint_without_repeats(session, author, bank) -> None:
    paper = papers.create_paper(session, author, "抽题卷", kind=PaperKind.blueprint, bank_id=bank.id)
    papers.add_rule(session, author, paper, rule(3, type="single_choice", points="2"))
    papers.add_rule(session, author, paper, rule(4, tag="茶水"))
    snapshot = papers.freeze(session, paper)
    assert snapshot["kind"] == "blueprint" and len(snapshot["rules"]) == 2
    seen_orders = set()
    for seed in range(20):
        drawn = papers.draw(session, snapshot, random.Random(seed))
        ids = [d.question_id for d in drawn]
        assert len(ids) == len(set(ids)) == 7
        assert sum(d.points for d in drawn) == Decimal(10)
        seen_orders.add(tuple(ids))
    assert len(seen_orders) > 5  # shuffled per trainee
    assert papers.draw(session, snapshot, random.Random(7)) == papers.draw(session, snapshot, random.Random(7))  # seeded


def test_fixed_paper_freezes_versions_and_points(session, author, bank) -> None:
    q1 = make_question(session, bank, SINGLE, stem="固定1", points="2")
    q2 = make_question(session, bank, ORDER, stem="排序")
    paper = papers.create_paper(session, author, "固定卷", shuffle_questions=False)
    papers.set_items(session, author, paper, [(q1.id, None), (q2.id, Decimal("5"))])
    snapshot = papers.freeze(session, paper)
    assert snapshot["items"] == [{"question_id": q1.id, "version_id": q1.current_version_id, "points": "2.00"},
                                 {"question_id": q2.id, "version_id": q2.current_version_id, "points": "5.00"}]
    first_version = q1.current_version_id
    add_version(session, q1, SINGLE, stem="固定1（改）")
    drawn = papers.draw(session, snapshot, random.Random(1))
    assert [d.version_id for d in drawn] == [first_version, q2.current_version_id]  # the frozen versions, in order
    with pytest.raises(ValidationFailed):
        papers.set_items(session, author, paper, [(q1.id, None), (q1.id, None)])
    empty = papers.create_paper(session, author, "空卷")
    with pytest.raises(ValidationFailed):
        papers.freeze(session, empty)


def test_presented_options_are_shuffled_and_the_key_follows(session, author, bank) -> None:
    q = make_question(session, bank, {"type": "single_choice", "options": [
        {"id": f"o{i}", "text": f"选项{i}"} for i in range(6)], "correct": "o4"}, stem="六选一")
    o = make_question(session, bank, ORDER, stem="排序")
    drawn = [papers.Drawn(q.id, q.current_version_id, Decimal(1)), papers.Drawn(o.id, o.current_version_id, Decimal(1))]
    presentations = set()
    for seed in range(10):
        single, ordering = papers.present(session, drawn, random.Random(seed))
        config = qt.parse_config(single["config"])
        right = next(opt.id for opt in config.options if opt.text == "选项4")
        assert config.correct == right and single["mapping"][right] == "o4"
        assert qt.grade(config, right, 1.0).correct
        assert qt.original_answer("single_choice", right, single["mapping"]) == "o4"
        presentations.add(tuple(opt.text for opt in config.options))
        order_config = qt.parse_config(ordering["config"])
        assert [ordering["mapping"][i] for i in order_config.correct] == ["s1", "s2", "s3"]
    assert len(presentations) > 3
    # Without option shuffling choices keep their authored ids, but an ordering question is still shuffled.
    single, ordering = papers.present(session, drawn, random.Random(3), shuffle_options=False)
    assert single["mapping"] == {} and single["config"]["correct"] == "o4" and ordering["mapping"]


def test_presenting_parses_each_version_once_and_still_notices_a_deleted_question(session, author, bank, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.core import cache
    from app.exams.models import Question

    cache.clear_all()
    q = make_question(session, bank, SINGLE, stem="缓存单选")
    t = make_question(session, bank, TF, stem="缓存判断")
    drawn = [papers.Drawn(q.id, q.current_version_id, Decimal(1)), papers.Drawn(t.id, t.current_version_id, Decimal(1))]
    parses: list[object] = []
    real_parse = qt.parse_config
    monkeypatch.setattr(qt, "parse_config", lambda raw: parses.append(raw) or real_parse(raw))
    first = [papers.present(session, drawn, random.Random(seed)) for seed in range(5)]
    assert len(parses) == 2  # once per version, not once per trainee
    assert {e["key"] for e in first[0]} == {str(q.id), str(t.id)} and len({str(p[0]["config"]) for p in first}) > 1
    session.delete(session.get(Question, t.id))
    session.flush()
    with pytest.raises(papers.DrawFailed):
        papers.present(session, drawn, random.Random(1))


def test_a_paper_on_a_bank_that_does_not_exist_is_refused(session, author) -> None:  # type: ignore[no-untyped-def]
    """Not a foreign-key failure at the insert (a 500, found by the property-based run)."""
    with pytest.raises(ValidationFailed):
        papers.create_paper(session, author, "固定卷", bank_id=2**31 - 1)
