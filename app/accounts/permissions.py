"""Pure predicates about who may do what. No I/O."""

from __future__ import annotations

from app.accounts.models import OrgUnit, Role, User


def is_admin(user: User) -> bool:
    return Role.admin in user.roles


def manages_units(user: User) -> bool:
    return bool(user.roles.intersection({Role.admin, Role.district_admin}))


def scope_path(user: User) -> str | None:
    """The org-unit path prefix a user administers: None means everything (admin)."""
    if Role.admin in user.roles:
        return None
    if Role.district_admin in user.roles:
        return user.org_unit.path
    return user.org_unit.path + "\x00"  # matches nothing: not an administrator


def unit_in_scope(user: User, unit: OrgUnit) -> bool:
    prefix = scope_path(user)
    return prefix is None or unit.path.startswith(prefix)


def can_manage_user(actor: User, target: User) -> bool:
    return manages_units(actor) and unit_in_scope(actor, target.org_unit)


def assignable_roles(actor: User) -> set[str]:
    """A district admin may hand out every role but admin; only an admin makes admins."""
    if Role.admin in actor.roles:
        return {r.value for r in Role}
    if Role.district_admin in actor.roles:
        return {r.value for r in Role} - {Role.admin.value}
    return set()
