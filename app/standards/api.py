"""JSON API of the standards library under /api/v1/standards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.accounts.access import CurrentUser, allow, signed_in
from app.accounts.models import User
from app.core.pagination import Page
from app.core.routing import DbSession, body_limit, make_router
from app.core.types import Line, Offset
from app.standards import citations, permissions, service
from app.standards.dependencies import VisibleStandard, VisibleVersion
from app.standards.models import Clause, ReviewItem, Standard, StandardVersion
from app.standards.schemas import (
    IMPORT_BODY_LIMIT,
    ClauseOut,
    ImportIn,
    ReviewItemOut,
    SearchHitOut,
    StandardCreate,
    StandardDetailOut,
    StandardOut,
    TransitionIn,
    TransitionOut,
    UserRef,
    VersionCreate,
    VersionOut,
)

router = make_router(prefix="/api/v1/standards", tags=["standards"])
AUTHORS = permissions.AUTHOR_ROLES
MAX_SEARCH = 500


def user_ref(user: User | None) -> UserRef | None:
    return UserRef(id=str(user.id), display_name=user.display_name) if user else None


def standard_out(standard: Standard, owner: User | None) -> StandardOut:
    return StandardOut(id=str(standard.id), code=standard.code, title=standard.title, category=standard.category,
                       level=standard.level, status=standard.status, summary=standard.summary,
                       owner=user_ref(owner) or UserRef(id=str(standard.owner_id), display_name=""))


def version_out(version: StandardVersion) -> VersionOut:
    return VersionOut(id=str(version.id), label=version.label, code=version.code, status=version.status,
                      effective_from=version.effective_from, effective_to=version.effective_to,
                      based_on_id=str(version.based_on_id) if version.based_on_id else None,
                      transitions=[TransitionOut(from_status=t.from_status, to_status=t.to_status, at=t.at, actor=user_ref(t.actor),
                                                 note=t.note) for t in version.transitions])


def clause_out(clause: Clause) -> ClauseOut:
    return ClauseOut(id=str(clause.id), number=clause.number, parent_id=str(clause.parent_id) if clause.parent_id else None,
                     depth=clause.depth, title=clause.title, body=clause.body)


@router.get("", name="api:standards", response_model=Page[StandardOut], dependencies=[signed_in()])
def list_standards(
    db: DbSession, user: CurrentUser, q: Line = "", category: Line | None = None, level: Line | None = None,
    status: Line | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[StandardOut]:
    """Standards the caller may read. With `q`, those matching it (in their code, title or clauses), best first."""
    flt = service.StandardFilter(category=category, level=level, status=status)
    if q.strip():
        hits, _ = service.search_standards(db, user, q, flt, limit=MAX_SEARCH)
        ranked = list({h.standard.id: h.standard for h in hits}.values())
        rows, total = ranked[offset:offset + limit], len(ranked)
    else:
        found, total = service.list_standards(db, user, flt, limit=limit, offset=offset)
        rows = list(found)
    owners = {u.id: u for u in service.users_by_id(db, {s.owner_id for s in rows}).values()}
    return Page(items=[standard_out(s, owners.get(s.owner_id)) for s in rows], total=total)


@router.get("/search", name="api:standards_search", response_model=Page[SearchHitOut], dependencies=[signed_in()])
def search(
    db: DbSession, user: CurrentUser, q: Line, category: Line | None = None, level: Line | None = None, status: Line | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[SearchHitOut]:
    """Standards and clauses matching every word of `q`, best first, with a highlighted snippet."""
    hits, total = service.search_standards(db, user, q, service.StandardFilter(category=category, level=level, status=status),
                                           limit=limit, offset=offset)
    owners = service.users_by_id(db, {h.standard.owner_id for h in hits})
    return Page(items=[SearchHitOut(standard=standard_out(h.standard, owners.get(h.standard.owner_id)),
                                    clause=clause_out(h.clause) if h.clause else None,
                                    version_id=str(h.version.id) if h.version else None,
                                    snippet=str(h.snippet_html or h.title_html)) for h in hits], total=total)


@router.post("", name="api:standards_create", status_code=201, response_model=StandardOut, dependencies=[allow(*AUTHORS)])
def create_standard(db: DbSession, user: CurrentUser, body: StandardCreate) -> StandardOut:
    return standard_out(service.create_standard(db, user, body), user)


@router.get("/reviews", name="api:standards_reviews", response_model=Page[ReviewItemOut], dependencies=[signed_in()])
def reviews(
    db: DbSession, user: CurrentUser, status: Line | None = "open", everyone: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[Offset, Query(ge=0)] = 0,
) -> Page[ReviewItemOut]:
    """The caller's review worklist (administrators: `everyone=true` for all owners)."""
    rows, total = citations.review_items(db, user, status=status or None, everyone=everyone, limit=limit, offset=offset)
    clauses = service.clauses_by_id(db, {r.citation.clause_id for r in rows})
    standards = service.standards_by_id(db, {r.version.standard_id for r in rows})
    return Page(items=[review_out(r, clauses[r.citation.clause_id], standards[r.version.standard_id]) for r in rows], total=total)


def review_out(item: ReviewItem, clause: Clause, standard: Standard) -> ReviewItemOut:
    return ReviewItemOut(id=str(item.id), status=item.status, transition=item.transition, created_at=item.created_at,
                         citation_label=item.citation.label, citation_url=item.citation.url, target_type=item.citation.target_type,
                         target_id=item.citation.target_id, clause_number=clause.number, standard_code=standard.code,
                         version_id=str(item.version_id))


@router.get("/{standard_id}", name="api:standard", response_model=StandardDetailOut, dependencies=[signed_in()])
def get_standard(db: DbSession, user: CurrentUser, standard: VisibleStandard) -> StandardDetailOut:
    owner = service.users_by_id(db, {standard.owner_id}).get(standard.owner_id)
    base = standard_out(standard, owner)
    return StandardDetailOut(**base.model_dump(), versions=[version_out(v) for v in service.versions_of(db, user, standard)])


@router.post("/{standard_id}/versions", name="api:standards_version_create", status_code=201, response_model=VersionOut,
             dependencies=[allow(*AUTHORS)])
def create_version(db: DbSession, user: CurrentUser, standard: VisibleStandard, body: VersionCreate) -> VersionOut:
    return version_out(service.create_version(db, user, standard, body))


@router.get("/versions/{version_id}/clauses", name="api:standards_clauses", response_model=Page[ClauseOut],
            dependencies=[signed_in()])
def clauses(db: DbSession, version: VisibleVersion) -> Page[ClauseOut]:
    rows = service.clauses_of(db, version)
    return Page(items=[clause_out(c) for c in rows], total=len(rows))


@router.post("/versions/{version_id}/import", name="api:standards_import", response_model=Page[ClauseOut],
             dependencies=[allow(*AUTHORS), body_limit(IMPORT_BODY_LIMIT)])
def import_text(db: DbSession, user: CurrentUser, version: VisibleVersion, body: ImportIn) -> Page[ClauseOut]:
    rows = service.import_text(db, user, version, body.text)
    return Page(items=[clause_out(c) for c in rows], total=len(rows))


@router.post("/versions/{version_id}/transition", name="api:standards_transition", response_model=VersionOut,
             dependencies=[allow(*AUTHORS)])
def transition(db: DbSession, user: CurrentUser, version: VisibleVersion, body: TransitionIn) -> VersionOut:
    """publish (administrators), revise (authors; returns the draft to work on) or abolish (administrators)."""
    result = service.transition(db, user, version, body.action, effective=body.effective, note=body.note)
    db.refresh(result, ["transitions"])
    return version_out(result)
