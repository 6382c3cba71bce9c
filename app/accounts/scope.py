"""Who may see, change and target rows: one declaration per kind of resource, and every load through it.

A domain declares, in its permissions.py, one `Policy` per kind of row a caller can name by id. A policy
maps each action (`READ`, `CHANGE`, `USE`, …) to the terms that grant it; a term grants to callers
holding one of its roles, and says which rows with a SQL condition:

    PAPER = Policy(Paper, {
        READ:   (Anyone(Role.admin), Owner(Paper.owner_id, *AUTHORS), Subtree(owner=Paper.owner_id, roles=DISTRICT)),
        CHANGE: (… the same …),
    })

The condition is the rule: lists add it to their WHERE clause (`PAPER.where(actor, READ)`), and a row
named by id is loaded with it (`PAPER.get(session, actor, paper_id, CHANGE)`), so a row the caller may
not use is simply not found (404, as if it did not exist: existence does not leak). A row that is
already loaded (a paper named in a form, an exam's attempt) is checked with the same condition in one
query (`PAPER.require(...)`). Nothing is written twice: there is no Python copy of a rule to fall out of
step with its SQL.

Terms:
- `Anyone(*roles)`: every row, for callers with one of the roles.
- `Owner(column, *roles)`: rows whose `column` is the caller's id (no roles: every signed-in caller).
- `Subtree(unit=…)` / `Subtree(owner=…)`: rows whose org unit (a unit id column, or the unit of the user in
  a user id column) lies in the subtree the caller administers (`accounts.permissions.scope_path`).
- `Via(policy, column, action)`: rows whose parent (`column` → the other policy's row) the caller may
  `action`: modules follow their course, questions their bank, attempts their exam.
- `Where(build, *roles)`: anything else, built from the caller: a trainee's audience, a published status.

A caller without any granting role gets `false()`: an empty list, a 404 by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import OrgUnit, Role, User
from app.core.errors import NotFound

READ = "read"  # see it (staff pages, the API)
CHANGE = "change"  # edit, publish, archive, delete
USE = "use"  # build on it: draw from a bank, put a question or a paper into something of one's own
TAKE = "take"  # a trainee's own work: save answers, submit
GRADE = "grade"  # mark answers, regrade
TARGET = "target"  # aim something at it: an exam's audience unit, an enrolment rule

T = TypeVar("T")
Clause = ColumnElement[bool]


def scope_path(user: User) -> str | None:
    """The org-unit path prefix a user administers: None means everything (an administrator); a district
    administrator their unit's subtree; anybody else nothing."""
    if Role.admin in user.roles:
        return None
    if Role.district_admin in user.roles:
        return user.org_unit.path
    return user.org_unit.path + "\x00"  # matches nothing: not an administrator


def _has_role(actor: User, roles: frozenset[str]) -> bool:
    return not roles or bool(actor.roles & roles)


def _roles(roles: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(getattr(r, "value", r)) for r in roles)


class Term:
    roles: frozenset[str]

    def clause(self, actor: User) -> Clause | None:
        """The rows this term grants to `actor`, or None when it grants nothing to them."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def _who(self) -> str:
        return ",".join(sorted(self.roles)) or "signed in"


@dataclass(frozen=True, init=False)
class Anyone(Term):
    roles: frozenset[str]

    def __init__(self, *roles: Any) -> None:
        object.__setattr__(self, "roles", _roles(roles))

    def clause(self, actor: User) -> Clause | None:
        return sa.true() if _has_role(actor, self.roles) else None

    def describe(self) -> str:
        return f"{self._who()}: every row"


@dataclass(frozen=True, init=False)
class Owner(Term):
    column: Any
    roles: frozenset[str]

    def __init__(self, column: Any, *roles: Any) -> None:
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "roles", _roles(roles))

    def clause(self, actor: User) -> Clause | None:
        if not _has_role(actor, self.roles) or actor.id is None:
            return None
        return col(self.column) == actor.id

    def describe(self) -> str:
        return f"{self._who()}: their own ({self.column.key})"


def unit_in_subtree(unit_column: Any, prefix: str) -> Clause:
    """The unit named by `unit_column` lies in the subtree whose path starts with `prefix` (aliased, so
    that the condition also correlates when the outer query is on org units themselves)."""
    unit = aliased(OrgUnit)
    return select(col(unit.id)).where(col(unit.id) == col(unit_column), col(unit.path).startswith(prefix, autoescape=True)).exists()


def user_in_subtree(user_column: Any, prefix: str) -> Clause:
    """The user named by `user_column` belongs to a unit of the subtree whose path starts with `prefix`."""
    user, unit = aliased(User), aliased(OrgUnit)
    return (select(col(user.id)).join(unit, col(unit.id) == col(user.org_unit_id))
            .where(col(user.id) == col(user_column), col(unit.path).startswith(prefix, autoescape=True)).exists())


@dataclass(frozen=True, init=False)
class Subtree(Term):
    """Rows that belong to the org-unit subtree the caller administers: through a unit id column
    (`unit=`), or the unit of the user in a user id column (`owner=`, e.g. the author of a bank)."""

    unit: Any
    owner: Any
    roles: frozenset[str]

    def __init__(self, *, roles: Sequence[Any], unit: Any = None, owner: Any = None) -> None:
        if (unit is None) == (owner is None):
            raise ValueError("Subtree needs exactly one of unit= or owner=")
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "owner", owner)
        object.__setattr__(self, "roles", _roles(roles))

    def clause(self, actor: User) -> Clause | None:
        if not _has_role(actor, self.roles):
            return None
        prefix = scope_path(actor)
        if prefix is None:
            return sa.true()
        return unit_in_subtree(self.unit, prefix) if self.unit is not None else user_in_subtree(self.owner, prefix)

    def describe(self) -> str:
        through = f"unit ({self.unit.key})" if self.unit is not None else f"{self.owner.key}'s unit"
        return f"{self._who()}: rows whose {through} lies in their org-unit subtree"


@dataclass(frozen=True, init=False)
class Via(Term):
    """Rows whose parent row (the `column` → `policy.model.id`) the caller may `action`."""

    policy: Policy[Any]
    column: Any
    action: str
    roles: frozenset[str]

    def __init__(self, policy: Policy[Any], column: Any, action: str, *roles: Any) -> None:
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "roles", _roles(roles))

    def clause(self, actor: User) -> Clause | None:
        if not _has_role(actor, self.roles):
            return None
        parent = self.policy.where(actor, self.action)
        if is_false(parent):
            return None
        model = self.policy.model
        # The parent's table is always the subquery's own (never the enclosing query's, which may join it too).
        return select(col(model.id)).where(col(model.id) == col(self.column), parent).correlate_except(model).exists()

    def describe(self) -> str:
        return f"{self._who()}: rows whose {self.policy.name} ({self.column.key}) they may {self.action}"


@dataclass(frozen=True, init=False)
class Where(Term):
    """A condition built from the caller (e.g. a trainee's audience); `label` says what it grants."""

    build: Callable[[User], Clause | None]
    label: str
    roles: frozenset[str]

    def __init__(self, build: Callable[[User], Clause | None], label: str, *roles: Any) -> None:
        object.__setattr__(self, "build", build)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "roles", _roles(roles))

    def clause(self, actor: User) -> Clause | None:
        return self.build(actor) if _has_role(actor, self.roles) else None

    def describe(self) -> str:
        return f"{self._who()}: {self.label}"


def is_true(clause: Clause) -> bool:
    return isinstance(clause, sa.sql.elements.True_)


def is_false(clause: Clause) -> bool:
    return isinstance(clause, sa.sql.elements.False_)


@dataclass(frozen=True)
class Policy(Generic[T]):
    """Who may do what with rows of `model` (one declaration per kind; see the module docstring)."""

    model: type[T]
    rules: Mapping[str, Sequence[Term]]
    name: str = ""
    not_found: Callable[[], str] | None = None  # the (translated) NotFound detail
    id_column: Any = field(default=None)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", getattr(self.model, "__tablename__", self.model.__name__))
        if self.id_column is None:
            object.__setattr__(self, "id_column", self.model.id)  # type: ignore[attr-defined]

    # -- conditions -------------------------------------------------------------------------------

    def where(self, actor: User | None, action: str) -> Clause:
        """The rows of this kind `actor` may `action`, as a WHERE condition (false() for none)."""
        if actor is None:
            return sa.false()
        try:
            terms = self.rules[action]
        except KeyError:
            raise ValueError(f"{self.name}: no rule for {action!r}") from None
        clauses = [c for c in (term.clause(actor) for term in terms) if c is not None]
        if not clauses:
            return sa.false()
        if any(is_true(c) for c in clauses):
            return sa.true()
        return sa.or_(*clauses) if len(clauses) > 1 else clauses[0]

    def select(self, actor: User | None, action: str = READ) -> SelectOfScalar[T]:
        """`SELECT model WHERE <the rule>`, to add filters and ordering to."""
        return select(self.model).where(self.where(actor, action))

    # -- loading ----------------------------------------------------------------------------------

    def _missing(self) -> NotFound:
        return NotFound(self.not_found() if self.not_found else None)

    def find(self, session: Session, actor: User | None, row_id: int | None, action: str = READ, *,
             lock: bool = False) -> T | None:
        """The row `row_id` if the caller may `action` it, else None. `lock`: FOR UPDATE (PostgreSQL)."""
        if row_id is None or actor is None:
            return None
        rule = self.where(actor, action)
        if is_false(rule):
            return None
        stmt = select(self.model).where(col(self.id_column) == row_id, rule)
        if lock:
            stmt = stmt.with_for_update(of=self.model).execution_options(populate_existing=True)
        return session.exec(stmt).first()

    def get(self, session: Session, actor: User | None, row_id: int | None, action: str = READ, *,
            lock: bool = False) -> T:
        """The row `row_id` if the caller may `action` it; otherwise NotFound, missing or not."""
        row = self.find(session, actor, row_id, action, lock=lock)
        if row is None:
            raise self._missing()
        return row

    def allows(self, session: Session, actor: User | None, row: T | None, action: str) -> bool:
        """Whether the caller may `action` a row already loaded (one query, the same condition)."""
        row_id = getattr(row, "id", None) if row is not None else None
        if row_id is None or actor is None:
            return False
        rule = self.where(actor, action)
        if is_false(rule):
            return False
        if is_true(rule):
            return True
        session.flush()
        found = session.exec(select(col(self.id_column)).where(col(self.id_column) == row_id, rule)).first()
        return found is not None

    def require(self, session: Session, actor: User | None, row: T | None, action: str) -> T:
        """`row` if the caller may `action` it, else NotFound (the same answer as for a missing row)."""
        if row is None or not self.allows(session, actor, row, action):
            raise self._missing()
        return row

    def allowed_ids(self, session: Session, actor: User | None, ids: Iterable[Any], action: str) -> set[Any]:
        """Which of `ids` the caller may `action` (one query; ids of the kind's own type, int or str)."""
        wanted = set(ids)
        if not wanted or actor is None:
            return set()
        rule = self.where(actor, action)
        if is_false(rule):
            return set()
        stmt = select(col(self.id_column)).where(col(self.id_column).in_(wanted))
        if not is_true(rule):
            stmt = stmt.where(rule)
        return set(session.exec(stmt).all())

    def owner_column(self, action: str) -> Any:
        """For a hand-built hot statement: the column whose value must be the caller's id, when the rule
        for `action` is exactly "their own" for every signed-in caller (raises otherwise, so that the
        statement cannot drift from a rule that changes)."""
        terms = self.rules[action]
        if len(terms) != 1 or not isinstance(terms[0], Owner) or terms[0].roles:
            raise ValueError(f"{self.name}: the rule for {action!r} is not owner-only")
        return terms[0].column

    # -- documentation ----------------------------------------------------------------------------

    def describe(self) -> dict[str, list[str]]:
        return {action: [t.describe() for t in terms] for action, terms in self.rules.items()}


def related(session: Session, model: type[T], row_id: int | None) -> T | None:
    """A row the caller reaches through one already loaded by its policy: the exam of an attempt they may
    read, the bank of a question they may change. Not for an id a caller names: that goes through the
    policy of its kind (`Policy.get`)."""
    return session.get(model, row_id) if row_id is not None else None


REGISTRY: dict[str, Policy[Any]] = {}


def register(*policies: Policy[Any]) -> None:
    """Make the policies known to the access-matrix test and the docs (`REGISTRY`, keyed by name)."""
    for policy in policies:
        REGISTRY[policy.name] = policy
