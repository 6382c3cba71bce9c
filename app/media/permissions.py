"""Who may see and manage media assets (pure predicates; the viewer hook lives in service.py)."""

from __future__ import annotations

from app.accounts.models import Role, User
from app.accounts.scope import CHANGE, READ, Anyone, Owner, Policy, register
from app.media.models import MediaAsset, MediaUpload

MANAGER_ROLES = (Role.instructor, Role.admin)


def can_upload(user: User) -> bool:
    return bool(user.roles & {r.value for r in MANAGER_ROLES})


# Staff see every asset (they build courses from each other's material); the owner and administrators
# change one (retry, cancel, rename). Trainees reach an asset only through what embeds it: a higher
# domain's viewer hook (service.register_viewer_check), e.g. courses for the lessons they may open.
ASSET: Policy[MediaAsset] = Policy(MediaAsset, {
    READ: (Owner(MediaAsset.owner_id), Anyone(*MANAGER_ROLES)),
    CHANGE: (Owner(MediaAsset.owner_id), Anyone(Role.admin)),
}, name="media asset")

# A resumable upload is its uploader's alone.
UPLOAD: Policy[MediaUpload] = Policy(MediaUpload, {CHANGE: (Owner(MediaUpload.owner_id),)}, name="media upload")

register(ASSET, UPLOAD)
