"""Loaders that 404 what the caller may not see (visibility rules in permissions.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.accounts.access import CurrentUser
from app.core.routing import DbSession
from app.core.types import Id
from app.standards import service
from app.standards.models import Clause, Standard, StandardVersion


def standard_or_404(db: DbSession, user: CurrentUser, standard_id: Id) -> Standard:
    return service.get_standard(db, user, standard_id)


def version_or_404(db: DbSession, user: CurrentUser, version_id: Id) -> StandardVersion:
    return service.get_version(db, user, version_id)


def clause_or_404(db: DbSession, user: CurrentUser, clause_id: Id) -> Clause:
    return service.get_clause(db, user, clause_id)


VisibleStandard = Annotated[Standard, Depends(standard_or_404)]
VisibleVersion = Annotated[StandardVersion, Depends(version_or_404)]
VisibleClause = Annotated[Clause, Depends(clause_or_404)]
