"""Citations of standard clauses, the one way other domains cite a clause (course materials and exam
questions now, scenario steps once they exist), and the review worklist they feed: when a version goes
under revision, is superseded or is abolished, every citation of one of its clauses gets an open review
item for its owner, until the owner marks it reviewed. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, delete, func, select

from app.accounts.models import User
from app.accounts.scope import CHANGE, READ
from app.core import events
from app.core.models import utcnow
from app.standards import permissions
from app.standards.events import StandardVersionChanged
from app.standards.models import (
    REVIEW_TRANSITIONS,
    Citation,
    Clause,
    ReviewItem,
    ReviewStatus,
)

# ---------------------------------------------------------------------------------------------
# Citations: the one way other domains cite a clause


def cite(session: Session, clause: Clause, *, target_type: str, target_id: str | int, owner: User | None,
         label: str = "", url: str = "") -> Citation:
    """Record that target (e.g. ("lesson", "123")) cites the clause. Idempotent: citing again updates
    the owner, label and link of the existing citation."""
    target_id = str(target_id)
    citation = session.exec(select(Citation).where(Citation.clause_id == clause.id, Citation.target_type == target_type,
                                                   Citation.target_id == target_id)).first()
    if citation is None:
        citation = Citation(clause_id=clause.id or 0, target_type=target_type, target_id=target_id)
    citation.owner_id = owner.id if owner else None
    citation.label, citation.url = label[:300], url[:500]
    session.add(citation)
    session.flush()
    return citation


def uncite(session: Session, clause: Clause, *, target_type: str, target_id: str | int) -> bool:
    result = session.execute(delete(Citation).where(col(Citation.clause_id) == clause.id, col(Citation.target_type) == target_type,
                                                    col(Citation.target_id) == str(target_id)))
    session.flush()
    return bool(getattr(result, "rowcount", 0))


def citations_for(session: Session, target_type: str, target_id: str | int) -> list[Citation]:
    return list(session.exec(select(Citation).where(Citation.target_type == target_type, Citation.target_id == str(target_id))
                             .order_by(col(Citation.id))).all())


def citations_of_clause(session: Session, clause: Clause) -> list[Citation]:
    return list(session.exec(select(Citation).where(Citation.clause_id == clause.id).order_by(col(Citation.id))).all())


def citations_of_version(session: Session, version_id: int) -> list[Citation]:
    return list(session.exec(select(Citation).join(Clause, col(Clause.id) == Citation.clause_id)
                             .where(Clause.version_id == version_id)).all())


# ---------------------------------------------------------------------------------------------
# Review worklist, built from StandardVersionChanged


@events.subscriber(StandardVersionChanged)
def open_review_items(session: Session, event: StandardVersionChanged) -> None:
    """When a version goes under revision, is superseded or is abolished, every citation of one of its
    clauses gets an open review item for its owner (once per version and transition)."""
    if event.to_status not in REVIEW_TRANSITIONS:
        return
    existing = set(session.exec(select(ReviewItem.citation_id).where(ReviewItem.version_id == event.version_id,
                                                                     ReviewItem.transition == event.to_status)).all())
    for citation in citations_of_version(session, event.version_id):
        if citation.id in existing:
            continue
        session.add(ReviewItem(citation_id=citation.id or 0, version_id=event.version_id, transition=event.to_status,
                               owner_id=citation.owner_id, created_at=event.at))
    session.flush()


def review_items(session: Session, user: User, *, status: str | None = ReviewStatus.open.value, everyone: bool = False,
                 limit: int = 50, offset: int = 0) -> tuple[Sequence[ReviewItem], int]:
    stmt = permissions.REVIEW_ITEM.select(user, READ)
    if not (everyone and permissions.can_see_all_reviews(user)):
        stmt = stmt.where(ReviewItem.owner_id == user.id)
    if status:
        stmt = stmt.where(ReviewItem.status == status)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.options(selectinload(ReviewItem.citation), selectinload(ReviewItem.version))  # type: ignore[arg-type]
                        .order_by(col(ReviewItem.created_at).desc(), col(ReviewItem.id).desc()).limit(limit).offset(offset)).all()
    return rows, total


def mark_reviewed(session: Session, actor: User, item_id: int, *, note: str = "", now: datetime | None = None) -> ReviewItem:
    item = permissions.REVIEW_ITEM.get(session, actor, item_id, CHANGE)
    if item.status == ReviewStatus.reviewed:
        return item
    item.status = ReviewStatus.reviewed.value
    item.reviewed_by_id = actor.id
    item.reviewed_at = now or utcnow()
    item.note = note[:500]
    session.add(item)
    session.flush()
    return item


def open_review_count(session: Session, user: User) -> int:
    return session.exec(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.owner_id == user.id, ReviewItem.status == ReviewStatus.open.value)).one()
