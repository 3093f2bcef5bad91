"""The compliance evidence bundle: its records, its README and its manifest, as data.

Pure: the command (``opsbooks.edges.cli.evidence``) reads the journal, the audit files
and the catalog, and writes the files; this module turns what it read into the
documents an auditor gets, and checks a bundle's files against its manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsbooks.plan import RunbookInfo
from opsbooks.records.journal import ApprovalRecord

#: what ``manifest.json`` says it is, so ``evidence verify`` knows a bundle
FORMAT = "opsbooks-evidence/1"
MANIFEST = "manifest.json"
DIGESTS = "manifest.sha256"
#: the decisions people sign (the journal also holds the waiting run's own rows)
DECISIONS = ("approve", "deny")
#: a ``Change`` that ``opsbooks review`` wrote starts with this
REVIEWED = "Reviewed"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S(?:.*\S)?)$")


@dataclass(frozen=True)
class Entry:
    """One file of the bundle: its path relative to the bundle, its digest and size."""

    path: str
    sha256: str
    size: int

    @classmethod
    def of(cls, path: str, data: bytes) -> Entry:
        return cls(path, hashlib.sha256(data).hexdigest(), len(data))


def manifest_text(entries: Iterable[Entry], window: Mapping[str, str]) -> str:
    """``manifest.json``: every file with its sha256 and size, sorted by path."""
    files = [
        {"path": e.path, "sha256": e.sha256, "size": e.size}
        for e in sorted(entries, key=lambda e: e.path)
    ]
    return json.dumps({"format": FORMAT, "window": dict(window), "files": files}, indent=2) + "\n"


def digests_text(entries: Iterable[Entry], manifest: bytes) -> str:
    """``manifest.sha256`` in ``sha256sum`` format: every file, then the manifest itself."""
    lines = [f"{e.sha256}  {e.path}" for e in sorted(entries, key=lambda e: e.path)]
    lines.append(f"{hashlib.sha256(manifest).hexdigest()}  {MANIFEST}")
    return "\n".join(lines) + "\n"


class NotABundle(ValueError):
    """The folder has no readable manifest: it is not an evidence bundle."""


@dataclass(frozen=True)
class Check:
    """What ``evidence verify`` found: files missing, extra, or changed since writing.

    ``manifest`` is ``"changed"`` when the manifest's own digest line fails (one of the
    two manifest files was edited, so which file's digest is right cannot be told),
    ``"missing"`` when ``manifest.sha256`` is gone; ``digests`` names the files whose
    line in ``manifest.sha256`` disagrees with an intact ``manifest.json`` and the file.
    """

    files: int
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    manifest: str = ""
    digests: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.manifest or self.digests)


def parse_manifest(text: str) -> dict[str, Entry]:
    """The entries of a ``manifest.json`` text, by path; raise ``NotABundle``."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise NotABundle(f"{MANIFEST} does not say format {FORMAT!r}")
        entries = [Entry(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in data["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, NotABundle):
            raise
        raise NotABundle(f"{MANIFEST} is not a manifest this version writes ({exc})") from None
    return {e.path: e for e in entries}


def parse_digests(text: str) -> tuple[dict[str, str], bool]:
    """The ``sha256sum`` lines of ``manifest.sha256`` (path -> digest), and whether every
    non-blank line was one."""
    found: dict[str, str] = {}
    clean = True
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            found[match.group(2)] = match.group(1)
        elif line.strip():
            clean = False
    return found, clean


def check(manifest: bytes, digests: str | None, found: Mapping[str, Entry]) -> Check:
    """Compare the files ``found`` in the bundle (not the two manifest files) with it.

    ``digests`` is the text of ``manifest.sha256``, ``None`` when it is missing. Its
    line for ``manifest.json`` guards the manifest. When that line holds, a file line
    that disagrees with the manifest means ``manifest.sha256`` was edited, not the file;
    when it fails, such a file is named changed too, since either may be the forgery.
    """
    try:
        listed = parse_manifest(manifest.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotABundle(f"{MANIFEST} is not UTF-8 text") from None
    lines, clean = parse_digests(digests or "")
    state = "missing" if digests is None else ""
    if not state and lines.get(MANIFEST) != hashlib.sha256(manifest).hexdigest():
        state = "changed"
    changed: list[str] = []
    wrong_lines: list[str] = []
    for path in sorted(set(listed) & set(found)):
        entry, line = listed[path], lines.get(path)
        if found[path] != entry:
            changed.append(path)
        elif digests is not None and line != entry.sha256:
            (changed if state == "changed" and line else wrong_lines).append(path)
    unknown = sorted(set(lines) - set(listed) - {MANIFEST})
    if not clean or unknown:
        wrong_lines.extend(unknown or ["(a line that is not `DIGEST  PATH`)"])
    missing = sorted(set(listed) - set(found))
    extra = sorted(set(found) - set(listed))
    return Check(
        len(listed), tuple(missing), tuple(extra), tuple(changed), state, tuple(wrong_lines)
    )


def problems(result: Check) -> list[str]:
    """``evidence verify``'s lines for a bundle that does not verify, each naming a file."""
    said = []
    if result.manifest == "missing":
        said.append(
            f"missing: {DIGESTS} (the digest file; without it the manifest itself cannot "
            f"be checked, so only {MANIFEST}'s own listing was compared)"
        )
    elif result.manifest == "changed":
        said.append(
            f"changed: {MANIFEST} or {DIGESTS} (the manifest's own digest line no longer "
            f"matches {MANIFEST}: one of the two was edited, so trust neither)"
        )
    if result.digests:
        said.append(
            f"changed: {DIGESTS} (its line for {', '.join(result.digests)} disagrees with "
            f"the intact {MANIFEST}; the file itself matches the manifest)"
        )
    for label, paths in (
        ("missing", result.missing),
        ("extra", result.extra),
        ("changed", result.changed),
    ):
        said.extend(f"{label}: {path}" for path in paths)
    return said


@dataclass(frozen=True)
class Reverified:
    """An approval decision checked again now: the principal, or why it does not verify."""

    record: ApprovalRecord
    principal: str = ""
    problem: str = ""
    #: False when the payload would reveal a secret, so it stays out of the bundle
    shareable: bool = True

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        verified = not self.problem
        return {
            "run": r.run_id,
            "gate": r.step_id,
            "decision": r.decision,
            "principal": r.principal,
            "accepted": r.accepted,
            "why": r.why,
            "reason": r.reason,
            "at": _stamp(r.at),
            "verified_now": verified,
            "verified_principal": self.principal or None,
            "signer_matches": verified and self.principal == r.principal,
            "verification_problem": self.problem or None,
            "payload": r.payload if self.shareable else None,
            "signature": r.signature if self.shareable else None,
        }


def review_entry(info: RunbookInfo, today: dt.date) -> dict[str, Any]:
    """One runbook's review dates and reviewers, from its definition and change log."""
    reviews = [c for c in info.changelog if c.summary.startswith(REVIEWED)]
    due = info.next_review
    return {
        "runbook": info.name,
        "owner": info.owner,
        "last_reviewed": info.reviewed_on.isoformat() if info.reviewed_on else None,
        "review_every_days": info.review_every_days,
        "next_review": due.isoformat() if due else None,
        "overdue": due is None or due < today,
        "reviews": [{"date": c.date, "reviewer": c.author, "notes": c.summary} for c in reviews],
        "reviewers": sorted({c.author for c in reviews if c.author}),
        "changelog": [
            {"date": c.date, "author": c.author, "summary": c.summary} for c in info.changelog
        ],
    }


@dataclass(frozen=True)
class Totals:
    """The figures the bundle's README leads with."""

    runs: Mapping[str, int] = field(default_factory=dict)
    audits_intact: int = 0
    audits_broken: Sequence[str] = ()
    approvals: int = 0
    approvals_accepted: int = 0
    approvals_unverified: int = 0
    drills: int = 0
    drills_missed: int = 0
    runbooks: int = 0
    reviews_overdue: int = 0
    lint_errors: int = 0
    lint_warnings: int = 0
    #: module -> its import error: runbooks missing from reviews.json and lint.json
    catalog_errors: Mapping[str, str] = field(default_factory=dict)


def instant(at: float) -> str:
    """``at`` as an ISO 8601 UTC instant, milliseconds shown when there are any."""
    stamp = dt.datetime.fromtimestamp(at, dt.UTC)
    text = stamp.isoformat(timespec="milliseconds" if stamp.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def window_record(
    since_text: str, until_text: str | None, since: float, until: float
) -> dict[str, str]:
    """The window as the bundle states it: the exact instants, and what was given."""

    def given(flag: str, text: str | None) -> str:
        if text is None:
            return f"{flag} not given: the time of generation"
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return f"{flag} {text}: a duration back from the time of generation"
        edge = "the start" if flag == "--since" else "the end"
        return f"{flag} {text}: a date, so {edge} of that day, 00:00Z"

    return {
        "since": instant(since),
        "until": instant(until),
        "since_given": given("--since", since_text),
        "until_given": given("--until", until_text),
    }


def window_text(window: Mapping[str, str]) -> str:
    """The README's sentence on the window: the exact instants and what was given."""
    return (
        f"Window: runs started from {window['since']} (inclusive; {window['since_given']}) "
        f"until {window['until']} (exclusive; {window['until_given']}), UTC. These are the "
        f"exact instants every file of the bundle was filtered by."
    )


def readme(
    *,
    window: Mapping[str, str],
    by: str,
    at: str,
    version: str,
    totals: Totals,
    signers: Mapping[str, str | None] | None = None,
) -> str:
    """The bundle's ``README.md``: what each file is, the window, who, when, the totals."""
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(totals.runs.items())) or "none"
    broken = ", ".join(totals.audits_broken) or "none"
    return f"""# Operational evidence: {window["since"]} to {window["until"]}

Generated by {by} at {at} with opsbooks {version} (`opsbooks evidence`).
Check it with `opsbooks evidence verify DIR`, or `sha256sum -c manifest.sha256` in it.

{window_text(window)}
{_incomplete(totals.catalog_errors)}
## Totals

- Runs started in the window: {sum(totals.runs.values())} ({outcomes})
- Audit trails: {totals.audits_intact} intact; broken: {broken}
- Approval decisions: {totals.approvals} ({totals.approvals_accepted} accepted when made;
  {totals.approvals_unverified} whose signature does not verify now)
- Drills with RTO/RPO measured: {totals.drills} ({totals.drills_missed} missed a target)
- Runbooks: {totals.runbooks} ({totals.reviews_overdue} with the review overdue)
- Lint findings: {totals.lint_errors} error(s), {totals.lint_warnings} warning(s)

## Files

- `runs/<run>/report.md`: the run's report, as `opsbooks report RUN` renders it
  (secrets redacted).
- `runs/<run>/audit.json`: the run's audit trail checked as `opsbooks audit verify RUN`
  does: intact, or where it breaks.
- `approvals.json`: every signed decision, accepted and refused: the principal, the
  reason, and its signature verified again at generation against allowed_signers.
- `drills.json`: drill and DR runs: measured RTO/RPO against the targets (`opsbooks stats`).
- `reviews.json`: per runbook: last reviewed, review interval, overdue, and the reviewers
  and dates from its change log.
- `lint.json`: `opsbooks lint --format json` at generation.
- `manifest.json`: every other file with its sha256 and size.
- `manifest.sha256`: the same digests and the manifest's own, in `sha256sum` format.

{_signers_text(signers)}
"""


def _incomplete(errors: Mapping[str, str]) -> str:
    if not errors:
        return ""
    listed = "\n".join(f"- `{module}`: {error}" for module, error in sorted(errors.items()))
    return f"""
## INCOMPLETE: {len(errors)} catalog module(s) failed to import

Their runbooks are missing from `reviews.json` and `lint.json`; `reviews.json` lists
the modules under `catalog_errors`. Fix the module(s) and write the bundle again.

{listed}
"""


def _signers_text(signers: Mapping[str, str | None] | None) -> str:
    path, namespace = "ALLOWED_SIGNERS", "NAMESPACE"
    if not signers:
        where = "nothing: no allowed_signers file is configured, so none verifies"
    else:
        path, namespace = str(signers["path"]), str(signers["namespace"])
        where = (
            f"the allowed_signers file `{signers['path']}` (sha256 `{signers['sha256']}`) "
            f"in namespace `{signers['namespace']}`"
        )
    return f"""## Re-verifying an approval

The signatures in `approvals.json` were verified again at generation against {where}.
A payload is verified byte-exact, its trailing newline included, so keep it unchanged
(`jq -j`, not `jq -r`). To check one decision by hand:

```sh
jq -j '.approvals[0].payload' approvals.json > payload
jq -j '.approvals[0].signature' approvals.json > payload.sig
ssh-keygen -Y verify -f {path} -I PRINCIPAL -n {namespace} -s payload.sig < payload
```

A payload that would reveal a secret is withheld (`null`) and cannot be checked here.
"""


def _stamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
