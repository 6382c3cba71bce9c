"""The standards library: standards, versions and their lifecycle, clauses, text import and search
(search.py has the dialect-specific matching; citations.py the citations of clauses and the review
worklist). Functions flush, never commit; permission rules are checked here too.

Lifecycle (立/改/废) of a version:

    draft ──publish──▶ in_force ──revise──▶ under_revision
                          │  ╲                    │
                          │   ╲──── a newer version is published ──▶ superseded
                          └──abolish──▶ abolished ◀──abolish──┘

At most one version per standard is *current* (in force or under revision): a partial unique index
says so in the database, and `publish` takes a row lock on the standard (SELECT … FOR UPDATE on
PostgreSQL; SQLite's write transactions are already serialised by BEGIN IMMEDIATE) before it looks
at the versions, so two publishers run one after the other. Every transition records a Transition
row and publishes StandardVersionChanged; citations.py's subscriber turns revisions and abolitions
into review items for the owners of citations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, delete, func, select

from app.accounts.models import User
from app.accounts.scope import READ, related
from app.core import events
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.i18n import gettext as _
from app.core.models import utcnow
from app.core.timeutil import DISPLAY_TZ
from app.standards import parsing, permissions, search
from app.standards.citations import citations_of_version
from app.standards.events import StandardVersionChanged
from app.standards.models import (
    CURRENT_STATUSES,
    Citation,
    Clause,
    SearchEntry,
    Standard,
    StandardStatus,
    StandardVersion,
    Transition,
    VersionStatus,
)
from app.standards.schemas import ClauseIn, ClauseUpdate, StandardCreate, StandardUpdate, VersionCreate


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(DISPLAY_TZ).date()


def _require_author(user: User) -> None:
    if not permissions.can_author(user):
        raise PermissionDenied()


def _require_decider(user: User) -> None:
    if not permissions.can_decide(user):
        raise PermissionDenied(_("Only administrators decide whether a standard takes or loses force."))


def _require_draft(version: StandardVersion) -> None:
    if version.status != VersionStatus.draft:
        raise Conflict(_("Only a draft can be edited; start a new version to change a published one."))


# ---------------------------------------------------------------------------------------------
# Standards


@dataclass
class StandardFilter:
    q: str | None = None
    category: str | None = None
    level: str | None = None
    status: str | None = None


def _visible(user: User) -> Any:
    return permissions.STANDARD.where(user, READ)


def _filtered(stmt: Any, user: User, flt: StandardFilter) -> Any:
    stmt = stmt.where(_visible(user))
    if flt.category:
        stmt = stmt.where(Standard.category == flt.category)
    if flt.level:
        stmt = stmt.where(Standard.level == flt.level)
    if flt.status:
        stmt = stmt.where(Standard.status == flt.status)
    return stmt


def list_standards(session: Session, user: User, flt: StandardFilter, *, limit: int = 50,
                   offset: int = 0) -> tuple[Sequence[Standard], int]:
    stmt = _filtered(select(Standard), user, flt)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(Standard.category, Standard.code).limit(limit).offset(offset)).all()
    return rows, total


def get_standard(session: Session, user: User, standard_id: int, action: str = READ) -> Standard:
    """A standard the user may `action` (STANDARD policy: drafts and abolished ones only authors see)."""
    return permissions.STANDARD.get(session, user, standard_id, action)


def get_standard_by_code(session: Session, code: str) -> Standard | None:
    return session.exec(select(Standard).where(Standard.code == code)).first()


def _code_taken(session: Session, code: str, *, other_than: int | None = None) -> bool:
    stmt = select(Standard.id).where(Standard.code == code)
    if other_than is not None:
        stmt = stmt.where(Standard.id != other_than)
    return session.exec(stmt).first() is not None


def _default_label(code: str) -> str:
    year = code[-4:]
    return _("%(year)s edition", year=year) if year.isdigit() else _("First edition")


def create_standard(session: Session, actor: User, data: StandardCreate) -> Standard:
    _require_author(actor)
    if _code_taken(session, data.code):
        raise Conflict(_("A standard with the code %(code)s already exists.", code=data.code),
                       errors=[{"loc": ["code"], "msg": "taken"}])
    standard = Standard(code=data.code, title=data.title, category=data.category.value, level=data.level.value,
                        summary=data.summary, owner_id=actor.id or 0)
    session.add(standard)
    session.flush()
    version = StandardVersion(standard_id=standard.id or 0, label=data.version_label or _default_label(data.code),
                              code=data.code, created_by_id=actor.id)
    session.add(version)
    session.flush()
    _index_standard(session, standard)
    return standard


def update_standard(session: Session, actor: User, standard: Standard, data: StandardUpdate) -> Standard:
    _require_author(actor)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "code" in changes and _code_taken(session, changes["code"], other_than=standard.id):
        raise Conflict(_("A standard with the code %(code)s already exists.", code=changes["code"]),
                       errors=[{"loc": ["code"], "msg": "taken"}])
    for key, value in changes.items():
        setattr(standard, key, getattr(value, "value", value))
    session.add(standard)
    session.flush()
    _index_standard(session, standard)
    return standard


def _refresh_status(session: Session, standard: Standard) -> None:
    statuses = set(session.exec(select(StandardVersion.status).where(StandardVersion.standard_id == standard.id)
                                .execution_options(populate_existing=True)).all())
    if VersionStatus.in_force in statuses:
        status = StandardStatus.in_force
    elif VersionStatus.under_revision in statuses:
        status = StandardStatus.under_revision
    elif VersionStatus.abolished in statuses:
        status = StandardStatus.abolished
    else:
        status = StandardStatus.draft
    standard.status = status.value
    session.add(standard)
    session.flush()


# ---------------------------------------------------------------------------------------------
# Versions


def versions_of(session: Session, user: User, standard: Standard) -> list[StandardVersion]:
    rows = session.exec(permissions.VERSION.select(user, READ).where(StandardVersion.standard_id == standard.id)
                        .options(selectinload(StandardVersion.transitions))  # type: ignore[arg-type]
                        .order_by(col(StandardVersion.id).desc())).all()
    return list(rows)


def current_version(session: Session, standard_id: int) -> StandardVersion | None:
    return session.exec(select(StandardVersion).where(StandardVersion.standard_id == standard_id,
                                                      col(StandardVersion.status).in_(CURRENT_STATUSES))).first()


def get_version(session: Session, user: User, version_id: int, action: str = READ) -> StandardVersion:
    """A version the user may `action` (VERSION policy)."""
    return permissions.VERSION.get(session, user, version_id, action)


def create_version(session: Session, actor: User, standard: Standard, data: VersionCreate) -> StandardVersion:
    """A new draft; with copy_from_id, a copy of that version's clauses (the usual way to revise)."""
    _require_author(actor)
    if session.exec(select(StandardVersion.id).where(StandardVersion.standard_id == standard.id,
                                                     StandardVersion.label == data.label)).first():
        raise Conflict(_("This standard already has a version labelled %(label)s.", label=data.label),
                       errors=[{"loc": ["label"], "msg": "taken"}])
    source = None
    if data.copy_from_id is not None:
        source = permissions.VERSION.find(session, actor, data.copy_from_id, READ)
        if source is None or source.standard_id != standard.id:
            raise ValidationFailed(_("Copy from a version of the same standard."), errors=[{"loc": ["copy_from_id"], "msg": "invalid"}])
    version = StandardVersion(standard_id=standard.id or 0, label=data.label, code=data.code,
                              based_on_id=source.id if source else None, created_by_id=actor.id)
    session.add(version)
    session.flush()
    if source is not None:
        _insert_clauses(session, version, [(c.number, c.title, c.body) for c in clauses_of(session, source)])
    _refresh_status(session, standard)
    return version


def _record(session: Session, actor: User | None, version: StandardVersion, to_status: VersionStatus, note: str,
            now: datetime) -> None:
    from_status = version.status
    version.status = to_status.value
    session.add(version)
    session.add(Transition(version_id=version.id or 0, from_status=from_status, to_status=to_status.value,
                           actor_id=actor.id if actor else None, at=now, note=note))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the one-current index: somebody else got there first
        raise Conflict(_("Another version of this standard is already in force. Reload the page and try again.")) from exc
    events.publish(session, StandardVersionChanged(standard_id=version.standard_id, version_id=version.id or 0,
                                                   from_status=from_status, to_status=to_status.value,
                                                   actor_id=actor.id if actor else None, at=now, note=note))


def _lock(session: Session, version: StandardVersion) -> tuple[Standard, StandardVersion]:
    """Lock the standard's row, then re-read the version as it is now (another publisher may have
    changed it while we waited)."""
    standard = session.exec(select(Standard).where(Standard.id == version.standard_id).with_for_update()
                            .execution_options(populate_existing=True)).one()
    fresh = session.exec(select(StandardVersion).where(StandardVersion.id == version.id)
                         .execution_options(populate_existing=True)).one()
    return standard, fresh


def publish(session: Session, actor: User, version: StandardVersion, *, effective_from: date | None = None,
            note: str = "", now: datetime | None = None) -> StandardVersion:
    """draft → in force; the version in force so far (or under revision) becomes superseded."""
    _require_decider(actor)
    now = now or utcnow()
    standard, version = _lock(session, version)
    if version.status != VersionStatus.draft:
        raise Conflict(_("Only a draft can be published; this version is %(status)s.",
                         status=VersionStatus(version.status).label))
    if not session.exec(select(Clause.id).where(Clause.version_id == version.id)).first():
        raise ValidationFailed(_("A version without clauses cannot be published."))
    start = effective_from or today(now)
    previous = session.exec(select(StandardVersion).where(StandardVersion.standard_id == standard.id,
                                                          col(StandardVersion.status).in_(CURRENT_STATUSES))
                            .execution_options(populate_existing=True)).first()
    if previous is not None:
        previous.effective_to = start
        _record(session, actor, previous, VersionStatus.superseded,
                _("Superseded by %(label)s", label=version.label), now)
    version.effective_from = start
    version.effective_to = None
    _record(session, actor, version, VersionStatus.in_force, note, now)
    if standard.code != version.code and not _code_taken(session, version.code, other_than=standard.id):
        standard.code = version.code  # the standard goes by the code of its edition in force
        _index_standard(session, standard)
    _refresh_status(session, standard)
    return version


def start_revision(session: Session, actor: User, version: StandardVersion, *, note: str = "",
                   now: datetime | None = None) -> StandardVersion:
    """in force → under revision (still in force), and a draft copy to work on unless one exists."""
    _require_author(actor)
    now = now or utcnow()
    standard, version = _lock(session, version)
    if version.status != VersionStatus.in_force:
        raise Conflict(_("Only a version in force can be put under revision."))
    _record(session, actor, version, VersionStatus.under_revision, note, now)
    draft = session.exec(select(StandardVersion).where(StandardVersion.standard_id == standard.id,
                                                       StandardVersion.status == VersionStatus.draft)
                         .order_by(col(StandardVersion.id).desc())).first()
    if draft is None:
        label = _("Revision %(date)s", date=today(now).isoformat())
        draft = create_version(session, actor, standard, VersionCreate(label=label, code=version.code, copy_from_id=version.id))
    _refresh_status(session, standard)
    return draft


def abolish(session: Session, actor: User, version: StandardVersion, *, effective_to: date | None = None,
            note: str = "", now: datetime | None = None) -> StandardVersion:
    """in force / under revision → abolished: the standard no longer applies (废止)."""
    _require_decider(actor)
    now = now or utcnow()
    standard, version = _lock(session, version)
    if version.status not in CURRENT_STATUSES:
        raise Conflict(_("Only the version in force can be abolished."))
    version.effective_to = effective_to or today(now)
    _record(session, actor, version, VersionStatus.abolished, note, now)
    _refresh_status(session, standard)
    return version


TRANSITIONS = ("publish", "revise", "abolish")


def transition(session: Session, actor: User, version: StandardVersion, action: str, *, effective: date | None = None,
               note: str = "", now: datetime | None = None) -> StandardVersion:
    if action == "publish":
        return publish(session, actor, version, effective_from=effective, note=note, now=now)
    if action == "revise":
        return start_revision(session, actor, version, note=note, now=now)
    if action == "abolish":
        return abolish(session, actor, version, effective_to=effective, note=note, now=now)
    raise ValidationFailed(_("Unknown action."))


def delete_draft(session: Session, actor: User, version: StandardVersion) -> None:
    _require_author(actor)
    _require_draft(version)
    if citations_of_version(session, version.id or 0):
        raise Conflict(_("Clauses of this draft are cited elsewhere; remove those citations first."))
    standard = version.standard
    if len(standard.versions) == 1:
        raise Conflict(_("A standard needs at least one version."))
    _delete_clauses(session, version)
    session.delete(version)
    session.flush()
    session.expire(standard, ["versions"])
    _refresh_status(session, standard)


# ---------------------------------------------------------------------------------------------
# Clauses


def clauses_of(session: Session, version: StandardVersion) -> list[Clause]:
    return list(session.exec(select(Clause).where(Clause.version_id == version.id).order_by(Clause.sort_key)).all())


@dataclass
class ClauseNode:
    clause: Clause
    children: list[ClauseNode] = field(default_factory=list)


def clause_tree(clauses: Sequence[Clause]) -> list[ClauseNode]:
    nodes = {c.id: ClauseNode(c) for c in clauses}
    roots: list[ClauseNode] = []
    for c in clauses:
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent.children if parent else roots).append(nodes[c.id])
    return roots


def get_clause(session: Session, user: User, clause_id: int, action: str = READ) -> Clause:
    """A clause the user may `action` (CLAUSE policy: it follows its version)."""
    return permissions.CLAUSE.get(session, user, clause_id, action)


def _clause_entry(clause: Clause, standard_id: int) -> dict[str, Any]:
    return {"standard_id": standard_id, "version_id": clause.version_id, "clause_id": clause.id,
            "title_terms": search.index_terms(f"{clause.number} {clause.title}"), "body_terms": search.index_terms(clause.body)}


def _insert_clauses(session: Session, version: StandardVersion, rows: Sequence[tuple[str, str, str]]) -> list[Clause]:
    """Insert clauses given as (number, title, body), parents before children (one flush per level)."""
    by_number: dict[str, Clause] = {c.number: c for c in clauses_of(session, version)}
    created: list[Clause] = []
    levels: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        levels[len(parsing.number_parts(row[0]))].append(row)
    for depth in sorted(levels):
        batch = []
        for number, title, body in levels[depth]:
            parent_number = number.rpartition(".")[0]
            parent = by_number.get(parent_number) if parent_number else None
            if parent_number and parent is None:
                raise ValidationFailed(_("Clause %(number)s needs its parent clause %(parent)s first.",
                                         number=number, parent=parent_number), errors=[{"loc": ["number"], "msg": "no parent"}])
            clause = Clause(version_id=version.id or 0, parent_id=parent.id if parent else None, number=number,
                            sort_key=parsing.sort_key(number), depth=depth - 1, title=title, body=body)
            session.add(clause)
            batch.append(clause)
            by_number[number] = clause
        session.flush()
        created.extend(batch)
    if created:
        session.execute(sa.insert(SearchEntry), [_clause_entry(c, version.standard_id) for c in created])
    return created


def _delete_clauses(session: Session, version: StandardVersion) -> None:
    session.execute(delete(SearchEntry).where(col(SearchEntry.version_id) == version.id))
    # children first: SQLite checks the self-reference row by row
    for clause in sorted(clauses_of(session, version), key=lambda c: -c.depth):
        session.delete(clause)
        session.flush()


def add_clause(session: Session, actor: User, version: StandardVersion, data: ClauseIn) -> Clause:
    _require_author(actor)
    _require_draft(version)
    if not parsing.valid_number(data.number):
        raise ValidationFailed(_("Clause numbers look like 5, 5.2 or 5.2.1."), errors=[{"loc": ["number"], "msg": "invalid"}])
    if session.exec(select(Clause.id).where(Clause.version_id == version.id, Clause.number == data.number)).first():
        raise Conflict(_("Clause %(number)s already exists in this version.", number=data.number),
                       errors=[{"loc": ["number"], "msg": "taken"}])
    return _insert_clauses(session, version, [(data.number, data.title, data.body)])[0]


def update_clause(session: Session, actor: User, clause: Clause, data: ClauseUpdate) -> Clause:
    _require_author(actor)
    version = related(session, StandardVersion, clause.version_id)  # the version of a clause in hand
    assert version is not None
    _require_draft(version)
    clause.title, clause.body = data.title, data.body
    session.add(clause)
    session.flush()
    session.execute(sa.update(SearchEntry).where(col(SearchEntry.clause_id) == clause.id).values(
        title_terms=search.index_terms(f"{clause.number} {clause.title}"), body_terms=search.index_terms(clause.body)))
    return clause


def delete_clause(session: Session, actor: User, clause: Clause) -> None:
    _require_author(actor)
    version = related(session, StandardVersion, clause.version_id)  # the version of a clause in hand
    assert version is not None
    _require_draft(version)
    if session.exec(select(Clause.id).where(Clause.parent_id == clause.id)).first():
        raise Conflict(_("Delete the sub-clauses of %(number)s first.", number=clause.number))
    if session.exec(select(Citation.id).where(Citation.clause_id == clause.id)).first():
        raise Conflict(_("Clause %(number)s is cited elsewhere; remove those citations first.", number=clause.number))
    session.execute(delete(SearchEntry).where(col(SearchEntry.clause_id) == clause.id))
    session.delete(clause)
    session.flush()


def import_text(session: Session, actor: User, version: StandardVersion, text: str) -> list[Clause]:
    """Replace a draft's clauses with those parsed from the pasted text (parsing.py explains the format)."""
    _require_author(actor)
    _require_draft(version)
    parsed = parsing.parse_clauses(text)  # raises ValidationFailed with every problem and its line
    if citations_of_version(session, version.id or 0):
        raise Conflict(_("Clauses of this draft are cited elsewhere; an import would remove them."))
    _delete_clauses(session, version)
    return _insert_clauses(session, version, [(p.number, p.title, p.body) for p in parsed])


# ---------------------------------------------------------------------------------------------
# Search


def _index_standard(session: Session, standard: Standard) -> None:
    values: dict[str, Any] = {"title_terms": search.index_terms(f"{standard.code} {standard.title}"),
                              "body_terms": search.index_terms(standard.summary)}
    entry = session.exec(select(SearchEntry).where(SearchEntry.standard_id == standard.id,
                                                   col(SearchEntry.clause_id).is_(None))).first()
    if entry is None:
        entry = SearchEntry(standard_id=standard.id or 0, **values)
    else:
        entry.sqlmodel_update(values)
    session.add(entry)
    session.flush()


@dataclass
class SearchHit:
    standard: Standard
    version: StandardVersion | None
    clause: Clause | None
    title_html: Markup
    snippet_html: Markup


def search_standards(session: Session, user: User, query: str, flt: StandardFilter | None = None, *,
                     limit: int = 20, offset: int = 0) -> tuple[list[SearchHit], int]:
    """Standards and clauses matching every term of the query, best first (see search.py)."""
    flt = flt or StandardFilter()
    terms = search.query_terms(query)
    if not terms:
        return [], 0
    dialect = session.get_bind().dialect.name
    clause_statuses = list(CURRENT_STATUSES) + ([VersionStatus.draft.value] if permissions.can_author(user) else [])
    stmt = (select(SearchEntry.id, SearchEntry.standard_id, SearchEntry.version_id, SearchEntry.clause_id)
            .join(Standard, col(Standard.id) == SearchEntry.standard_id)
            .outerjoin(StandardVersion, col(StandardVersion.id) == SearchEntry.version_id)
            .where(sa.or_(col(SearchEntry.clause_id).is_(None), col(StandardVersion.status).in_(clause_statuses))))
    stmt = _filtered(stmt, user, flt)
    stmt, rank = search.apply_match(stmt, dialect, terms, SearchEntry.id)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()  # type: ignore[call-overload]
    rows = session.exec(stmt.add_columns(rank.label("rank")).order_by(sa.text("rank"), SearchEntry.id)  # type: ignore[call-overload]
                        .limit(limit).offset(offset)).all()
    standards = {s.id: s for s in session.exec(select(Standard).where(col(Standard.id).in_({r[1] for r in rows}))).all()}
    versions = {v.id: v for v in session.exec(select(StandardVersion).where(
        col(StandardVersion.id).in_({r[2] for r in rows if r[2]}))).all()}
    clauses = {c.id: c for c in session.exec(select(Clause).where(col(Clause.id).in_({r[3] for r in rows if r[3]}))).all()}
    hits = []
    for _id, standard_id, version_id, clause_id, _rank in rows:
        standard = standards[standard_id]
        clause = clauses.get(clause_id) if clause_id else None
        if clause is None:
            hits.append(SearchHit(standard, None, None, search.highlight(f"{standard.code} {standard.title}", query, width=200),
                                  search.highlight(standard.summary, query)))
        else:
            hits.append(SearchHit(standard, versions.get(version_id), clause,
                                  search.highlight(f"{clause.number} {clause.title}", query, width=200),
                                  search.highlight(clause.body, query)))
    return hits, total


# ---------------------------------------------------------------------------------------------
# Lookups by id


def versions_by_id(session: Session, ids: set[int]) -> dict[int, StandardVersion]:
    """Versions by id, for clauses already in hand (their labels); no visibility rule applies to a label."""
    if not ids:
        return {}
    return {v.id or 0: v for v in session.exec(select(StandardVersion).where(col(StandardVersion.id).in_(ids))).all()}


def clauses_by_id(session: Session, ids: set[int]) -> dict[int, Clause]:
    if not ids:
        return {}
    return {c.id or 0: c for c in session.exec(select(Clause).where(col(Clause.id).in_(ids))).all()}


def standards_by_id(session: Session, ids: set[int]) -> dict[int, Standard]:
    if not ids:
        return {}
    return {s.id or 0: s for s in session.exec(select(Standard).where(col(Standard.id).in_(ids))).all()}


def users_by_id(session: Session, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id or 0: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}
