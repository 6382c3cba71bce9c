"""Who may see and manage media assets (pure predicates; the viewer hook lives in service.py)."""

from __future__ import annotations

from app.accounts.models import Role, User
from app.media.models import MediaAsset

MANAGER_ROLES = (Role.instructor, Role.admin)


def can_upload(user: User) -> bool:
    return bool(user.roles & {r.value for r in MANAGER_ROLES})


def can_manage_all(user: User) -> bool:
    """Instructors and administrators see every asset (they build courses from each other's material)."""
    return can_upload(user)


def can_change(user: User, asset: MediaAsset) -> bool:
    """Retry, cancel and rename: the owner, or an administrator."""
    return asset.owner_id == user.id or Role.admin.value in user.roles
