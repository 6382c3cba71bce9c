"""Papers: fixed papers (ordered items) and blueprint papers (rules drawn afresh for every trainee).

A blueprint rule asks for `count` active questions of the paper's bank that match its type,
difficulty range, tag, cited clause and category prefix, worth `points` each. Rules may overlap (a
question can match two rules) and a question is never drawn twice into one attempt, so whether a bank
satisfies a blueprint is a bipartite matching (rules with capacities on one side, questions on the
other): `check_blueprint` runs it and tells the author, per rule, how many questions match and how many
the rule can really get once the other rules have taken theirs. `draw` runs the same matching with
candidates in a seeded random order, so each trainee's draw is random and satisfies the blueprint
whenever the bank can.

Publishing an exam freezes its paper (`freeze`): a fixed paper into question ids with the version ids
current at that moment and their points; a blueprint into its rules. `present` turns a draw into the
entries an attempt stores: the version's config as this trainee sees it (options shuffled, the key
following the shuffle via question_types.shuffle) with the mapping back to the authored ids.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.cache import ImmutableCache
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.exams import question_types as qt
from app.exams.models import (
    BlueprintRule,
    Paper,
    PaperItem,
    PaperKind,
    Question,
    QuestionBank,
    QuestionStatus,
    QuestionVersion,
)
from app.exams.permissions import can_author

# Types whose presentation must be shuffled whatever the paper says: an unshuffled ordering question
# shows its answer, and a matching question lists partners side by side.
ALWAYS_SHUFFLED = frozenset({"ordering", "matching"})


@dataclass(frozen=True)
class RuleSpec:
    """A blueprint rule as frozen into an exam (and as read from BlueprintRule rows)."""

    count: int
    points: Decimal
    type: str | None = None
    difficulty_min: int = 1
    difficulty_max: int = 5
    tag: str | None = None
    clause_id: int | None = None
    category: str | None = None

    @classmethod
    def of(cls, rule: BlueprintRule) -> RuleSpec:
        return cls(count=rule.count, points=Decimal(rule.points), type=rule.type or None, difficulty_min=rule.difficulty_min,
                   difficulty_max=rule.difficulty_max, tag=rule.tag or None, clause_id=rule.clause_id,
                   category=rule.category or None)

    @classmethod
    def load(cls, data: dict[str, Any]) -> RuleSpec:
        return cls(**{**data, "points": Decimal(str(data.get("points", "1")))})

    def dump(self) -> dict[str, Any]:
        return {"count": self.count, "points": str(self.points.quantize(Decimal("0.01"))), "type": self.type,
                "difficulty_min": self.difficulty_min,
                "difficulty_max": self.difficulty_max, "tag": self.tag, "clause_id": self.clause_id, "category": self.category}

    def matches(self, candidate: Candidate) -> bool:
        if self.type and candidate.type != self.type:
            return False
        if not self.difficulty_min <= candidate.difficulty <= self.difficulty_max:
            return False
        if self.tag and self.tag not in candidate.tags:
            return False
        if self.clause_id is not None and self.clause_id not in candidate.clause_ids:
            return False
        return not (self.category and not candidate.category.startswith(self.category))


@dataclass(frozen=True)
class Candidate:
    question_id: int
    version_id: int
    type: str
    difficulty: int
    tags: tuple[str, ...]
    category: str
    clause_ids: tuple[int, ...]


@dataclass(frozen=True)
class Drawn:
    question_id: int
    version_id: int
    points: Decimal


@dataclass
class RuleCheck:
    rule: RuleSpec
    available: int  # active questions of the bank matching the rule
    assignable: int  # how many it gets in a best assignment of distinct questions to all the rules

    @property
    def ok(self) -> bool:
        return self.assignable >= self.rule.count

    @property
    def shared(self) -> bool:
        """Enough questions match, but other rules need some of the same ones."""
        return self.available >= self.rule.count > self.assignable


@dataclass
class BlueprintCheck:
    rules: list[RuleCheck] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return bool(self.rules) and all(r.ok for r in self.rules)

    @property
    def question_count(self) -> int:
        return sum(r.rule.count for r in self.rules)

    @property
    def total_points(self) -> Decimal:
        return sum((r.rule.points * r.rule.count for r in self.rules), Decimal(0))


# ---------------------------------------------------------------------------------------------
# Authoring


def _require_author(actor: User) -> None:
    if not can_author(actor):
        raise PermissionDenied()


def create_paper(session: Session, actor: User, title: str, *, kind: PaperKind = PaperKind.fixed, bank_id: int | None = None,
                 shuffle_questions: bool = True, shuffle_options: bool = True) -> Paper:
    _require_author(actor)
    title = title.strip()
    if not title:
        raise ValidationFailed(_("A paper needs a title."))
    if kind == PaperKind.blueprint and bank_id is None:
        raise ValidationFailed(_("A blueprint paper draws from a question bank: choose one."))
    if bank_id is not None and session.get(QuestionBank, bank_id) is None:
        raise ValidationFailed(_("No such question bank."))  # not a foreign-key failure (500) at the insert
    paper = Paper(title=title[:200], kind=kind.value, bank_id=bank_id, owner_id=actor.id or 0,
                  shuffle_questions=shuffle_questions, shuffle_options=shuffle_options)
    session.add(paper)
    session.flush()
    return paper


def get_paper(session: Session, paper_id: int) -> Paper:
    paper = session.get(Paper, paper_id)
    if paper is None:
        raise NotFound()
    return paper


def set_items(session: Session, actor: User, paper: Paper, items: Sequence[tuple[int, Decimal | None]]) -> list[PaperItem]:
    """Replace a fixed paper's questions with `items` (question id, points or None for the question's own), in order."""
    _require_author(actor)
    if paper.kind != PaperKind.fixed:
        raise ValidationFailed(_("Only a fixed paper has a list of questions."))
    ids = [qid for qid, _points in items]
    if len(set(ids)) != len(ids):
        raise ValidationFailed(_("A question appears twice on the paper."))
    found = set(session.exec(select(col(Question.id)).where(col(Question.id).in_(ids))).all()) if ids else set()
    if missing := [i for i in ids if i not in found]:
        raise ValidationFailed(_("These questions do not exist: %(ids)s", ids=", ".join(map(str, missing))))
    for old in session.exec(select(PaperItem).where(PaperItem.paper_id == paper.id)).all():
        session.delete(old)
    session.flush()
    rows = [PaperItem(paper_id=paper.id or 0, question_id=qid, position=i, points=points) for i, (qid, points) in enumerate(items)]
    session.add_all(rows)
    session.flush()
    return rows


def add_rule(session: Session, actor: User, paper: Paper, spec: RuleSpec) -> BlueprintRule:
    _require_author(actor)
    if paper.kind != PaperKind.blueprint:
        raise ValidationFailed(_("Only a blueprint paper has rules."))
    if spec.count < 1 or not 1 <= spec.difficulty_min <= spec.difficulty_max <= 5 or spec.points < 0:
        raise ValidationFailed(_("A rule needs a count of at least one, a difficulty range within 1–5 and points of zero or more."))
    if spec.type and spec.type not in qt.REGISTRY:
        raise ValidationFailed(_("Unknown question type %(type)s.", type=spec.type))
    position = len(rules_of(session, paper))
    rule = BlueprintRule(paper_id=paper.id or 0, position=position, count=spec.count, points=spec.points, type=spec.type,
                         difficulty_min=spec.difficulty_min, difficulty_max=spec.difficulty_max, tag=spec.tag,
                         clause_id=spec.clause_id, category=spec.category)
    session.add(rule)
    session.flush()
    return rule


def remove_rule(session: Session, actor: User, paper: Paper, rule_id: int) -> None:
    _require_author(actor)
    rule = session.get(BlueprintRule, rule_id)
    if rule is None or rule.paper_id != paper.id:
        raise NotFound()
    session.delete(rule)
    session.flush()


def rules_of(session: Session, paper: Paper) -> list[BlueprintRule]:
    return list(session.exec(select(BlueprintRule).where(BlueprintRule.paper_id == paper.id)
                             .order_by(col(BlueprintRule.position), col(BlueprintRule.id))).all())


def items_of(session: Session, paper: Paper) -> list[PaperItem]:
    return list(session.exec(select(PaperItem).where(PaperItem.paper_id == paper.id)
                             .order_by(col(PaperItem.position), col(PaperItem.id))).all())


# ---------------------------------------------------------------------------------------------
# Candidates and the matching


def candidates(session: Session, bank_id: int, *, exclude: Iterable[int] = ()) -> list[Candidate]:
    """Active questions of a bank with their current versions, in id order (one query)."""
    excluded = set(exclude)
    rows = session.exec(
        select(Question, QuestionVersion)
        .join(QuestionVersion, col(QuestionVersion.id) == col(Question.current_version_id))
        .where(Question.bank_id == bank_id, Question.status == QuestionStatus.active.value)
        .order_by(col(Question.id))
    ).all()
    return [Candidate(question_id=q.id or 0, version_id=v.id or 0, type=q.type, difficulty=q.difficulty,
                      tags=tuple(q.tags or ()), category=q.category or "", clause_ids=tuple(v.clause_ids or ()))
            for q, v in rows if q.id not in excluded]


def _assign(rules: Sequence[RuleSpec], pool: Sequence[Candidate], rng: random.Random | None) -> list[list[Candidate]]:
    """A maximum assignment of distinct candidates to rules (each rule up to its count): augmenting paths
    over rule slots. With `rng`, candidates are tried in a random order, so the assignment is a random one."""
    options: list[list[int]] = []
    for rule in rules:
        idx = [i for i, c in enumerate(pool) if rule.matches(c)]
        if rng is not None:
            rng.shuffle(idx)
        options.append(idx)
    slots = [r for r, rule in enumerate(rules) for _ in range(rule.count)]
    owner: dict[int, int] = {}  # candidate index -> slot index

    def augment(slot: int, seen: set[int]) -> bool:
        for cand in options[slots[slot]]:
            if cand in seen:
                continue
            seen.add(cand)
            if cand not in owner or augment(owner[cand], seen):
                owner[cand] = slot
                return True
        return False

    for slot in range(len(slots)):
        augment(slot, set())
    assigned: list[list[Candidate]] = [[] for _ in rules]
    for cand, slot in owner.items():
        assigned[slots[slot]].append(pool[cand])
    for group in assigned:
        group.sort(key=lambda c: c.question_id)
    return assigned


def check_rules(session: Session, bank_id: int | None, rules: Sequence[RuleSpec]) -> BlueprintCheck:
    pool = candidates(session, bank_id) if bank_id is not None else []
    assigned = _assign(rules, pool, None)
    return BlueprintCheck([RuleCheck(rule, sum(1 for c in pool if rule.matches(c)), len(group))
                           for rule, group in zip(rules, assigned, strict=True)])


def check_blueprint(session: Session, paper: Paper) -> BlueprintCheck:
    """Whether the bank can satisfy the paper's rules, per rule: available vs needed, overlaps counted."""
    return check_rules(session, paper.bank_id, [RuleSpec.of(r) for r in rules_of(session, paper)])


# ---------------------------------------------------------------------------------------------
# Freezing and drawing


def freeze(session: Session, paper: Paper) -> dict[str, Any]:
    """The paper as an exam keeps it once published. Refuses an empty fixed paper and an unsatisfiable blueprint."""
    base = {"kind": paper.kind, "paper_id": paper.id, "title": paper.title,
            "shuffle_questions": paper.shuffle_questions, "shuffle_options": paper.shuffle_options}
    if paper.kind == PaperKind.fixed:
        rows = session.exec(
            select(PaperItem, Question).join(Question, col(Question.id) == col(PaperItem.question_id))
            .where(PaperItem.paper_id == paper.id).order_by(col(PaperItem.position), col(PaperItem.id))
        ).all()
        if not rows:
            raise ValidationFailed(_("The paper has no questions yet."))
        versions = {v.id: v for v in session.exec(select(QuestionVersion).where(
            col(QuestionVersion.id).in_([q.current_version_id for _i, q in rows]))).all()}
        items = []
        for item, question in rows:
            version = versions.get(question.current_version_id)
            if version is None:
                raise ValidationFailed(_("A question on the paper has no content yet."))
            if question.status != QuestionStatus.active.value:
                raise ValidationFailed(_("Question %(id)s is not active: activate it or take it off the paper.", id=question.id))
            points = item.points if item.points is not None else version.points
            items.append({"question_id": question.id, "version_id": version.id,
                          "points": str(Decimal(points).quantize(Decimal("0.01")))})
        return {**base, "items": items}
    check = check_blueprint(session, paper)
    if not check.rules:
        raise ValidationFailed(_("The blueprint has no rules yet."))
    if not check.feasible:
        raise ValidationFailed(_("The question bank cannot satisfy the blueprint: see the check on the paper page."))
    return {**base, "bank_id": paper.bank_id, "rules": [r.rule.dump() for r in check.rules]}


def snapshot_points(snapshot: dict[str, Any]) -> tuple[int, Decimal]:
    """(number of questions, total points) a frozen paper gives every attempt."""
    if snapshot.get("kind") == PaperKind.fixed:
        items = snapshot.get("items", [])
        return len(items), sum((Decimal(i["points"]) for i in items), Decimal(0))
    rules = [RuleSpec.load(r) for r in snapshot.get("rules", [])]
    count = sum(r.count for r in rules) + int(snapshot.get("practice", {}).get("from_notebook", 0) or 0)
    return count, sum((r.points * r.count for r in rules), Decimal(0))


class DrawFailed(ValidationFailed):
    pass


def draw(session: Session, snapshot: dict[str, Any], rng: random.Random, *, exclude: Iterable[int] = ()) -> list[Drawn]:
    """The questions of one attempt: a fixed paper's items, or a fresh draw satisfying the blueprint,
    without repeats, in presented order (shuffled when the paper says so)."""
    if snapshot.get("kind") == PaperKind.fixed:
        drawn = [Drawn(int(i["question_id"]), int(i["version_id"]), Decimal(i["points"])) for i in snapshot.get("items", [])]
    else:
        rules = [RuleSpec.load(r) for r in snapshot.get("rules", [])]
        pool = candidates(session, int(snapshot["bank_id"]), exclude=exclude) if snapshot.get("bank_id") else []
        assigned = _assign(rules, pool, rng)
        short = [rule for rule, group in zip(rules, assigned, strict=True) if len(group) < rule.count]
        if short:
            raise DrawFailed(_("The question bank no longer has enough questions for this exam. Please tell the exam's author."))
        drawn = [Drawn(c.question_id, c.version_id, rule.points) for rule, group in zip(rules, assigned, strict=True)
                 for c in group]
    if snapshot.get("shuffle_questions", True):
        rng.shuffle(drawn)
    return drawn


# Parsed (validated, sanitized) configs of question versions, which never change after insert: one parse
# per version and process instead of one per trainee's start.
_CONFIGS: ImmutableCache[qt.QuestionConfig] = ImmutableCache("question version configs", maxsize=8192)


def _parsed_config(session: Session, version_id: int) -> qt.QuestionConfig:
    return qt.parse_config(session.exec(select(QuestionVersion.config).where(QuestionVersion.id == version_id)).one())


def present(session: Session, drawn: Sequence[Drawn], rng: random.Random, *, shuffle_options: bool = True) -> list[dict[str, Any]]:
    """Attempt entries for a draw: key (the question id as a string), ids, type, points, the config as
    presented (shuffled, key rewritten) and the mapping from presented option ids to the authored ones."""
    # Which versions still exist is checked every time (a deleted question takes them along); their configs
    # never change after insert, so each is read and parsed once per process.
    existing = set(session.exec(select(QuestionVersion.id).where(
        col(QuestionVersion.id).in_([d.version_id for d in drawn]))).all()) if drawn else set()
    entries = []
    for d in drawn:
        if d.version_id not in existing:
            raise DrawFailed(_("A question of this exam no longer exists. Please tell the exam's author."))
        config = _CONFIGS.get(session, d.version_id, functools.partial(_parsed_config, session, d.version_id))
        mapping: dict[str, str] = {}
        if shuffle_options or config.type in ALWAYS_SHUFFLED:
            shuffled = qt.shuffle(config, rng)
            config, mapping = shuffled.config, shuffled.mapping
        entries.append({"key": str(d.question_id), "question_id": d.question_id, "version_id": d.version_id,
                        "type": config.type, "points": str(d.points), "config": qt.dump_config(config), "mapping": mapping})
    return entries


def authored_papers(session: Session, actor: User) -> list[Paper]:
    query = select(Paper).where(col(Paper.archived_at).is_(None)).order_by(col(Paper.created_at).desc(), col(Paper.id).desc())
    if not actor.has_role("admin"):
        query = query.where(Paper.owner_id == actor.id)
    return list(session.exec(query.limit(300)).all())


def bank_choices(session: Session, actor: User) -> list[QuestionBank]:
    from app.exams import bank

    return bank.list_banks(session, actor, limit=200)[0]


@dataclass
class ItemRow:
    item: PaperItem
    question: Question
    version: QuestionVersion | None

    @property
    def points(self) -> Decimal:
        return Decimal(self.item.points if self.item.points is not None else (self.version.points if self.version else 0))


def item_rows(session: Session, paper: Paper) -> list[ItemRow]:
    rows = session.exec(select(PaperItem, Question, QuestionVersion)
                        .join(Question, col(Question.id) == col(PaperItem.question_id))
                        .join(QuestionVersion, col(QuestionVersion.id) == col(Question.current_version_id), isouter=True)
                        .where(PaperItem.paper_id == paper.id).order_by(col(PaperItem.position))).all()
    return [ItemRow(i, q, v) for i, q, v in rows]
