"""Moving questions in and out of a bank: import, export, and the clause references ("DB3204/T
1001—2021 5.2.1") both use (bank.py has banks, questions and their versions).

Import. `import_file` parses (app/exams/importers), resolves "DB3204/T 1001—2021 5.2.1" references
against the standards library (an unknown one is that item's error), flags duplicates against the bank
(warnings; `skip_duplicates` leaves them out) and stores nothing unless the whole file is clean. Files
with more than SYNC_IMPORT_MAX questions go to the `exams.import_questions` job (bank_jobs.py), which runs
the same function again inside the worker's transaction. Images embedded in imported files are not
stored (the media layer processes uploads through its own job and guards who may view them; a question
image needs both wired for exam takers): they are dropped with a warning naming the file, and `<img>`
tags pointing at them are removed from the stem.

Export. A question whose current version fails today's checks (an option stored empty before texts
were checked after sanitising, see question_checks) is left out of the file rather than written in a
form no importer, ours included, would take back; `Export.skipped` names those questions (the API sends
them in the X-Skipped-Questions header, the bank page lists them above its questions).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.scope import CHANGE, related
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.core.jobs import Job, enqueue
from app.core.models import utcnow
from app.exams import question_checks
from app.exams import question_types as qt
from app.exams.bank import (
    IMPORT_JOB,
    SYNC_IMPORT_MAX,
    QuestionFilter,
    QuestionRow,
    insert_question,
    require_open,
    search_questions,
)
from app.exams.drafts import QuestionDraft, SourceRef, split_clause_ref
from app.exams.exporters import EXPORTERS
from app.exams.importers import ImportIssue, find_duplicates, parse_import
from app.exams.models import Question, QuestionBank, QuestionStatus
from app.exams.permissions import BANK
from app.standards import service as standards
from app.standards.models import Clause, Standard, StandardVersion

Progress = Callable[[int, str], None]


# ---------------------------------------------------------------------------------------------
# Clause references ("DB3204/T 1001—2021 5.2.1")

_DASHES = re.compile(r"[-‐‑‒–—―－~～]")


def _norm_code(code: str) -> str:
    return _DASHES.sub("—", "".join(code.replace("／", "/").split())).upper()


def resolve_clause_refs(session: Session, refs: Sequence[str]) -> dict[str, Clause]:
    """Clause reference → clause. The code names an edition (a version's code) or a standard (its
    current edition); the number a clause of that edition. Unknown references are left out."""
    wanted: dict[str, tuple[str, str]] = {}
    for ref in refs:
        try:
            code, number = split_clause_ref(ref)
        except qt.ConfigError:
            continue
        wanted[ref] = (_norm_code(code), number)
    if not wanted:
        return {}
    codes = {c for c, _n in wanted.values()}
    by_code: dict[str, int] = {}
    current_rank = {"in_force": 0, "under_revision": 1, "superseded": 2, "abolished": 3, "draft": 4}
    versions = session.exec(select(StandardVersion.id, StandardVersion.code, StandardVersion.status, Standard.code)
                            .join(Standard, col(Standard.id) == StandardVersion.standard_id)).all()
    ranked = sorted(versions, key=lambda v: current_rank.get(v[2], 9))
    for version_id, version_code, _status, _std in ranked:  # an edition's own code first …
        if (key := _norm_code(version_code)) in codes:
            by_code.setdefault(key, version_id or 0)
    for version_id, _code, status, std_code in ranked:  # … then a standard's code for its current edition
        if (key := _norm_code(std_code)) in codes and status in ("in_force", "under_revision"):
            by_code.setdefault(key, version_id or 0)
    version_ids = set(by_code.values())
    numbers = {n for _c, n in wanted.values()}
    clauses = {(c.version_id, c.number): c for c in session.exec(select(Clause).where(
        col(Clause.version_id).in_(version_ids), col(Clause.number).in_(numbers))).all()} if version_ids else {}
    found: dict[str, Clause] = {}
    for ref, (code, number) in wanted.items():
        clause = clauses.get((by_code.get(code, -1), number))
        if clause is not None:
            found[ref] = clause
    return found


def clause_refs(session: Session, clause_ids: Sequence[int]) -> dict[int, str]:
    """Clause id → "<edition code> <number>" (exports, the editor)."""
    clauses = standards.clauses_by_id(session, set(clause_ids))
    versions = {v.id: v for v in session.exec(select(StandardVersion).where(
        col(StandardVersion.id).in_({c.version_id for c in clauses.values()}))).all()} if clauses else {}
    return {cid: f"{versions[c.version_id].code} {c.number}" for cid, c in clauses.items() if c.version_id in versions}


# ---------------------------------------------------------------------------------------------
# Import

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def _without_local_images(html: str) -> str:
    """Drop <img> tags that point into the imported file (relative names, @@PLUGINFILE@@)."""
    def keep(match: re.Match[str]) -> str:
        src = _SRC.search(match.group(0))
        url = src.group(1) if src else ""
        return match.group(0) if url.startswith(("http://", "https://", "/")) else ""
    return _IMG.sub(keep, html)


@dataclass
class ImportOutcome:
    """What an import found and did. `errors` non-empty ⇒ nothing was stored."""

    format: str
    drafts: list[QuestionDraft] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    duplicates: dict[int, str] = field(default_factory=dict)  # draft index → "bank" | "file"
    skipped: set[int] = field(default_factory=set)
    created: int = 0  # stored (or, for a dry run, that would be)
    question_ids: list[int] = field(default_factory=list)
    job: Job | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def kept(self) -> list[QuestionDraft]:
        return [d for i, d in enumerate(self.drafts) if i not in self.skipped]

    def warnings_for(self, draft: QuestionDraft) -> list[str]:
        loc = draft.source.loc
        return [w.msg for w in self.warnings if w.loc == loc and loc != ""]

    def errors_as_api(self) -> list[dict[str, Any]]:
        return [e.as_error() for e in self.errors]


def _report(progress: Progress | None, percent: int, message: str) -> None:
    if progress is not None:
        progress(percent, message)


def import_file(session: Session, actor: User, bank: QuestionBank, data: bytes, fmt: str, *, dry_run: bool = False,
                filename: str = "", skip_duplicates: bool = False, status: str = QuestionStatus.active.value,
                background: bool = True, progress: Progress | None = None, now: datetime | None = None) -> ImportOutcome:
    """Parse, check and (unless dry_run or any error) store a file's questions, all or nothing.

    With `background` and more than SYNC_IMPORT_MAX questions to store, a job is queued instead (in
    the caller's transaction) and `outcome.job` is set; the job calls this again without `background`."""
    BANK.require(session, actor, bank, CHANGE)
    require_open(bank)
    now = now or utcnow()
    parsed = parse_import(data, fmt, filename=filename)
    outcome = ImportOutcome(parsed.format, drafts=list(parsed.drafts), errors=list(parsed.errors),
                            warnings=list(parsed.warnings), dry_run=dry_run)
    _report(progress, 10, _("Read %(n)s questions", n=len(outcome.drafts)))
    refs = [r for d in outcome.drafts for r in d.clauses]
    resolved = resolve_clause_refs(session, refs)
    for draft in outcome.drafts:
        for ref in draft.clauses:
            if ref not in resolved:
                outcome.errors.append(ImportIssue(draft.source.loc, _("The standard clause %(ref)s is not in the standards library.",
                                                                      ref=ref)))
        if draft.attachments:
            names = "、".join(a.name for a in draft.attachments)
            outcome.warnings.append(ImportIssue(draft.source.loc, _("Embedded images are not imported: %(names)s.", names=names)))
    existing = session.exec(select(Question.fingerprint).where(Question.bank_id == bank.id)).all()
    outcome.duplicates = find_duplicates(outcome.drafts, existing)
    for index, where in sorted(outcome.duplicates.items()):
        loc = outcome.drafts[index].source.loc
        outcome.warnings.append(ImportIssue(loc, _("The same question is already in this bank.") if where == "bank"
                                            else _("The same question appears earlier in this file.")))
        if skip_duplicates:
            outcome.skipped.add(index)
    if not outcome.drafts and not outcome.errors:
        outcome.errors.append(ImportIssue("", _("The file contains no questions.")))
    if outcome.errors:
        return outcome
    kept = outcome.kept
    outcome.created = len(kept)
    if dry_run:
        return outcome
    if background and len(kept) > SYNC_IMPORT_MAX:
        outcome.created = 0
        outcome.job = enqueue(session, IMPORT_JOB, {
            "bank_id": bank.id, "actor_id": actor.id, "format": fmt, "filename": filename[:200], "count": len(kept),
            "skip_duplicates": skip_duplicates, "status": status, "data": base64.b64encode(data).decode("ascii")},
            created_by_id=actor.id, now=now)
        return outcome
    owner = related(session, User, bank.owner_id)
    clause_by_id = {c.id or 0: c for c in resolved.values()}
    for number, draft in enumerate(kept, start=1):
        if draft.attachments:
            draft = draft.model_copy(update={"stem": _without_local_images(draft.stem) or draft.stem,
                                             "explanation": _without_local_images(draft.explanation), "attachments": []})
        clause_ids = list(dict.fromkeys(resolved[r].id or 0 for r in draft.clauses))
        row = insert_question(session, actor, bank, draft, clause_ids, clause_by_id, status=status, tier=None, owner=owner, now=now)
        outcome.question_ids.append(row.question.id or 0)
        if number % 50 == 0:
            _report(progress, 10 + int(85 * number / len(kept)), _("Stored %(i)s of %(n)s questions", i=number, n=len(kept)))
    bank.updated_at = now
    session.add(bank)
    session.flush()
    return outcome


# ---------------------------------------------------------------------------------------------
# Export


def draft_of(row: QuestionRow, refs: dict[int, str]) -> QuestionDraft:
    """A stored question as the exporters (and the importers) see it."""
    version, question = row.version, row.question
    return QuestionDraft(type=version.type, stem=version.stem, config=qt.parse_config(version.config), points=float(version.points),
                         difficulty=version.difficulty, explanation=version.explanation, tags=list(question.tags),
                         category=question.category, clauses=[refs[c] for c in version.clause_ids if c in refs],
                         external_id=question.external_id[:100] or f"q{question.id}", source=SourceRef(item=str(question.id)))


@dataclass(frozen=True)
class Export:
    data: bytes
    skipped: list[int]  # ids of questions left out because their content needs fixing


def export_bank(session: Session, actor: User, bank: QuestionBank, fmt: str, *, flt: QuestionFilter | None = None) -> Export:
    """The bank's questions (retired ones left out unless the filter asks for them) as an xlsx,
    moodle-xml or qti file; questions whose content fails today's checks are skipped and named."""
    if fmt not in EXPORTERS:
        raise ValidationFailed(_("Unknown export format %(format)s.", format=fmt), errors=[{"loc": ["query", "format"], "msg": fmt}])
    rows, _total = search_questions(session, actor, bank, flt, limit=100_000)
    if not (flt and flt.status):
        rows = [r for r in rows if r.question.status != QuestionStatus.retired.value]
    rows.reverse()  # oldest first, as they were written
    skipped = [r.question.id or 0 for r in rows if not question_checks.is_valid(session, r.version)]
    rows = [r for r in rows if r.question.id not in skipped]
    refs = clause_refs(session, [c for r in rows for c in r.version.clause_ids])
    return Export(EXPORTERS[fmt]([draft_of(r, refs) for r in rows]), sorted(skipped))
