"""What each role may do with each kind of row, by relation: written by hand from /work/notes/policies.md
(the printed declaration of the policies), never computed from the policies themselves, so that the
matrix fails when the code and the declaration part.

EXPECT[kind][action][role] is the set of relations (tests/access/world.py) the role may act on. A role
not listed gets nothing: the row reads as missing (404). How the relations map onto the policies' terms,
given the world (the district administrator administers district A; every other acting user is in the
bureau's department; each bundle's rows belong to its owner and are aimed at the owner's unit):

- "every row" → every relation;
- "their own" → `own`;
- "the district administrator's subtree" → `own` (their unit is district A), `other` (another user of
  district A) and `inside` (unit A1), never `outside` (district B);
- a rule that follows a parent (questions their bank, modules their course, clauses their version,
  answers their attempt) → the parent's sets (the parent belongs to the same bundle);
- exams' audience (take): each bundle's exam is aimed at its owner's unit, so a caller is in the
  audience of the exams of `own` and `other` (their own unit) only;
- an exam's staff reading (district administrator: "audience reaches into their subtree"): the bundles
  of district A (`own`, `other`) and of unit A1 (`inside`) are aimed inside it, district B's not;
- courses readable to learners ("published courses they are enrolled in"): each bundle's owner is
  enrolled in its published course, so `own`;
- enrolments readable to instructors ("rows whose course they may change"): the instructor's own
  enrolment is in their own course, so `own`;
- curricula belong to a unit, not a user: a bundle's curriculum belongs to its owner's unit; the extra
  relation `city` is the city-wide curriculum (no unit);
- org units: `own` is the caller's unit, `inside` unit A1, `outside` unit B1 (no `other`);
- users: `own` is the caller, the other relations the bundle owners;
- standards have no owner: their relations are `in_force`, `draft` and `abolished` (world.py).

OWNABLE skips the `own` cells a role could never hold in practice (an instructor's own attempt, a
trainee's own question bank): the world builds them, but a test of them would say nothing.
"""

from __future__ import annotations

from tests.access.world import RELATIONS, ROLES, STANDARD_RELATIONS

Sets = dict[str, frozenset[str]]

ALL = frozenset(RELATIONS)
OWN = frozenset({"own"})
SUBTREE = frozenset({"own", "other", "inside"})
CITY = frozenset({"city"})
NOTHING: frozenset[str] = frozenset()
STD_ALL = frozenset(STANDARD_RELATIONS)
IN_FORCE = frozenset({"in_force"})

AUTHORS = frozenset({"instructor", "district_admin", "admin"})


def roles(default: frozenset[str] = NOTHING, **by_role: frozenset[str]) -> Sets:
    unknown = set(by_role) - set(ROLES)
    assert not unknown, unknown
    return {role: by_role.get(role, default) for role in ROLES}


def every_role(relations: frozenset[str]) -> Sets:
    return roles(relations)


# "admin: every row; admin,district_admin,instructor: their own; district_admin: their subtree's authors'"
AUTHORED = roles(admin=ALL, instructor=OWN, district_admin=SUBTREE)

EXPECT: dict[str, dict[str, Sets]] = {
    # org unit: read/change admin every row, district_admin their subtree; target + instructor every row
    "org_unit": {
        "read": roles(admin=ALL, district_admin=SUBTREE),
        "change": roles(admin=ALL, district_admin=SUBTREE),
        "target": roles(admin=ALL, instructor=ALL, district_admin=SUBTREE),
    },
    # user: admin every row; district_admin users of their subtree
    "user": {
        "read": roles(admin=ALL, district_admin=SUBTREE),
        "change": roles(admin=ALL, district_admin=SUBTREE),
    },
    # job: whoever started it
    "job": {"read": every_role(OWN)},
    # curriculum: read admin,instructor every row, district_admin city-wide + subtree; change admin, district_admin
    # subtree; use instructor, admin every row, district_admin subtree
    "curriculum": {
        "read": roles(admin=ALL | CITY, instructor=ALL | CITY, district_admin=SUBTREE | CITY),
        "change": roles(admin=ALL | CITY, district_admin=SUBTREE),
        "use": roles(admin=ALL | CITY, instructor=ALL | CITY, district_admin=SUBTREE),
    },
    # course: read authors every row, anyone published+enrolled; change admin every row, instructor own,
    # district_admin through the curriculum; use (enrol people) admin, district_admin every row
    "course": {
        "read": roles(OWN, admin=ALL, district_admin=ALL, instructor=ALL),
        "change": roles(admin=ALL, instructor=OWN, district_admin=SUBTREE),
        "use": roles(admin=ALL, district_admin=ALL),
    },
    # module, lesson, material: change follows the course
    "module": {"change": roles(admin=ALL, instructor=OWN, district_admin=SUBTREE)},
    "lesson": {"change": roles(admin=ALL, instructor=OWN, district_admin=SUBTREE)},
    "material": {"change": roles(admin=ALL, instructor=OWN, district_admin=SUBTREE)},
    # enrolment: read own, admin every row, district_admin subtree, instructor of a course they may change;
    # take: own
    "enrolment": {
        "read": roles(OWN, admin=ALL, district_admin=SUBTREE, instructor=OWN),
        "take": every_role(OWN),
    },
    # standards: authors (admin, instructor) everything; everybody reads what is in force
    "standard": {
        "read": roles(IN_FORCE, admin=STD_ALL, instructor=STD_ALL),
        "change": roles(admin=STD_ALL, instructor=STD_ALL),
    },
    "version": {
        "read": roles(IN_FORCE, admin=STD_ALL, instructor=STD_ALL),
        "change": roles(admin=STD_ALL, instructor=STD_ALL),
    },
    "clause": {
        "read": roles(IN_FORCE, admin=STD_ALL, instructor=STD_ALL),
        "change": roles(admin=STD_ALL, instructor=STD_ALL),
    },
    # review item: its owner; admin every row
    "review_item": {
        "read": roles(OWN, admin=ALL),
        "change": roles(OWN, admin=ALL),
    },
    # media asset: read own, admin and instructor every row; change own, admin every row
    "media": {
        "read": roles(OWN, admin=ALL, instructor=ALL),
        "change": roles(OWN, admin=ALL),
    },
    "upload": {"change": every_role(OWN)},
    "bank": {"read": AUTHORED, "change": AUTHORED, "use": AUTHORED},
    "question": {
        "read": AUTHORED, "change": AUTHORED, "use": AUTHORED,
        "grade": roles(admin=ALL, examiner=ALL, instructor=ALL),
    },
    "paper": {"read": AUTHORED, "change": AUTHORED, "use": AUTHORED},
    "schedule": {"read": AUTHORED, "change": AUTHORED},
    # exam: change authored; read + examiner every row, district_admin audience reaching the subtree;
    # take: published and in the audience (every bundle's exam is published, aimed at its owner's unit)
    "exam": {
        "change": AUTHORED,
        "read": roles(admin=ALL, instructor=OWN, examiner=ALL, district_admin=SUBTREE),
        "take": every_role(frozenset({"own", "other"})),
    },
    # attempt: read own, graders every row, district_admin subtree; take own; grade graders
    "attempt": {
        "read": roles(OWN, admin=ALL, examiner=ALL, instructor=ALL, district_admin=SUBTREE),
        "take": every_role(OWN),
        "grade": roles(admin=ALL, examiner=ALL, instructor=ALL),
    },
    "answer": {"grade": roles(admin=ALL, examiner=ALL, instructor=ALL)},
    "notebook": {"read": every_role(OWN), "take": every_role(OWN)},
}

# The relations each kind is tested on.
RELATIONS_OF: dict[str, tuple[str, ...]] = {
    **{kind: RELATIONS for kind in EXPECT},
    "org_unit": ("own", "inside", "outside"),
    "curriculum": (*RELATIONS, "city"),
    "standard": STANDARD_RELATIONS,
    "version": STANDARD_RELATIONS,
    "clause": STANDARD_RELATIONS,
}

# Who can own a row of the kind at all (the `own` cell of anybody else is skipped).
_LEARNERS = frozenset({"trainee"})
_UPLOADERS = frozenset({"instructor", "admin"})
OWNABLE: dict[str, frozenset[str]] = {
    **{kind: frozenset(ROLES) for kind in EXPECT},
    **{kind: AUTHORS for kind in ("bank", "question", "paper", "schedule", "exam", "review_item")},
    **{kind: _UPLOADERS for kind in ("media", "upload")},
    **{kind: _LEARNERS for kind in ("attempt", "answer", "notebook")},
}
