"""Who may do what with org units and users: pure predicates and the policies (app/accounts/scope.py).

- Org units and users: administrators all of them; a district administrator the units of their subtree
  and the users who belong to them. Anybody else: none (404).
- A background job's progress (an import): whoever started it.
- Aiming something at a unit (an exam's audience, a schedule, an enrolment rule — `TARGET`):
  administrators and instructors (base-wide staff) any unit or the whole city; a district administrator
  only a unit of their subtree, never the whole city (`may_target_everyone`).
"""

from __future__ import annotations

from app.accounts.models import OrgUnit, Role, User
from app.accounts.scope import CHANGE, READ, TARGET, Anyone, Owner, Policy, Subtree, register, scope_path
from app.core.i18n import gettext as _
from app.core.jobs import Job

__all__ = ["scope_path"]

MANAGERS = (Role.admin, Role.district_admin)
DISTRICT = (Role.district_admin,)


def is_admin(user: User) -> bool:
    return Role.admin in user.roles


def manages_units(user: User) -> bool:
    return bool(user.roles.intersection({Role.admin, Role.district_admin}))


def assignable_roles(actor: User) -> set[str]:
    """A district admin may hand out every role but admin; only an admin makes admins."""
    if Role.admin in actor.roles:
        return {r.value for r in Role}
    if Role.district_admin in actor.roles:
        return {r.value for r in Role} - {Role.admin.value}
    return set()


def may_target_everyone(user: User) -> bool:
    """Whether the caller may aim something at the whole city (no unit): not a district administrator."""
    return user.has_role(Role.admin, Role.instructor) or not user.has_role(Role.district_admin)


def _not_found_unit() -> str:
    return _("The organisation unit does not exist or is outside your scope.")


def _not_found_user() -> str:
    return _("The user does not exist or is outside your scope.")


_UNIT_TERMS = (Anyone(Role.admin), Subtree(unit=OrgUnit.id, roles=DISTRICT))
ORG_UNIT: Policy[OrgUnit] = Policy(OrgUnit, {
    READ: _UNIT_TERMS,
    CHANGE: _UNIT_TERMS,
    TARGET: (Anyone(Role.admin, Role.instructor), Subtree(unit=OrgUnit.id, roles=DISTRICT)),
}, name="org unit", not_found=_not_found_unit)

_USER_TERMS = (Anyone(Role.admin), Subtree(owner=User.id, roles=DISTRICT))
USER: Policy[User] = Policy(User, {READ: _USER_TERMS, CHANGE: _USER_TERMS}, name="user", not_found=_not_found_user)

# A background job's progress page (an import) is for whoever started it; administrators see every job
# on the operations page.
JOB: Policy[Job] = Policy(Job, {READ: (Owner(Job.created_by_id),)}, name="job")

register(ORG_UNIT, USER, JOB)
