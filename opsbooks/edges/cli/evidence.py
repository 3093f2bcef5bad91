"""``opsbooks evidence --since DATE --out DIR``: a compliance evidence bundle for an auditor.

Every run in the window with its report and its audit verification, every signed
approval decision verified again now, the drill results against their targets, the
review dates and reviewers per runbook, the lint results, a README and a manifest with
checksums; exit 1 when a catalog module failed to import (the bundle is written, and
says it is incomplete). ``opsbooks evidence verify DIR`` checks a bundle: exit 0 intact,
1 tampered (the files named), 2 not a bundle. What is computed lives in ``opsbooks.govern``; this
module reads the journal, the audit files and the catalog, and writes the files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.errors import EXIT_FAILED, EXIT_OK, BadInput
from opsbooks.govern import evidence as ev
from opsbooks.records.journal import Journal, RunRecord
from opsbooks.records.redaction import Redactor

DAY = 86_400.0
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "evidence",
        help="write a compliance evidence bundle for an auditor (`evidence verify DIR` checks one)",
        description="Write a bundle: opsbooks evidence --since DATE [--until DATE] --out DIR. "
        "Check one: opsbooks evidence verify DIR (exit 0 intact, 1 tampered, 2 not a bundle).",
    )
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="first day of the window (2026-01-01), or a duration back (90d)",
    )
    parser.add_argument(
        "--until", metavar="DATE", help="last day of the window, inclusive (default: now)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="folder to write; must not exist or be empty"
    )
    parser.set_defaults(handler=evidence_command)
    actions = parser.add_subparsers(dest="evidence_action", metavar="[verify DIR]")
    check = actions.add_parser("verify", help="recompute every checksum of a bundle")
    check.add_argument("bundle", type=Path, help="the bundle's folder")
    check.set_defaults(handler=verify_command)


def window_of(since_text: str | None, until_text: str | None, now: float) -> tuple[float, float]:
    """``--since``/``--until`` as epoch seconds, to the millisecond, the window half-open.

    A date is a day boundary at 00:00 UTC: ``--since`` starts at it, ``--until`` ends
    at the next one, so that day counts whole.
    """
    from opsbooks.edges.cli.stats import since_epoch

    if not since_text:
        raise BadInput(
            "opsbooks evidence needs --since (the first day the auditor asks about, e.g. "
            "--since 2026-01-01) and --out DIR; or run `opsbooks evidence verify DIR`"
        )
    since = _ms(since_epoch(since_text, now))
    until = _ms(now) + 0.001
    if until_text:
        try:
            day = dt.date.fromisoformat(until_text)
        except ValueError:
            raise BadInput(
                f"--until {until_text!r} is not a date; use a day such as --until 2026-06-30 "
                f"(inclusive), or leave it out to end the window now"
            ) from None
        until = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp() + DAY
    if until <= since:
        raise BadInput(
            f"--until {until_text} is before --since {since_text}: the window is empty; "
            f"give an --until on or after the --since day"
        )
    return since, until


def _ms(at: float) -> float:
    return int(at * 1000) / 1000


def empty_folder(path: Path) -> Path:
    """``path`` when it does not exist or is an empty folder; else refuse."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        what = "is not a folder" if not path.is_dir() else "is not empty"
        raise BadInput(
            f"--out {path} {what}; an evidence bundle is written into a new or empty folder "
            f"so that nothing else ends up in it; pass another --out"
        )
    return path


@contextmanager
def _opened(app: App) -> Iterator[Journal]:
    from opsbooks.edges.session import journal_url
    from opsbooks.records.journal import open_journal

    url = journal_url(app.config)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise BadInput(
            f"there is no journal at {url.removeprefix('sqlite:///')}, so there is no run to "
            f"give evidence of; run `opsbooks evidence` in the project whose runs it covers "
            f"(or with --config naming its opsbooks.toml)"
        )
    try:
        journal = open_journal(url)
    except BadInput:
        raise
    except Exception as exc:  # a corrupt file, a server that refuses: bad input, not a bug
        raise BadInput(
            f"the journal {_shown_url(url)} cannot be read ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); check the "
            f"journal setting and the file or server, then run `opsbooks evidence` again"
        ) from None
    try:
        yield journal
    finally:
        journal.close()


def _shown_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def evidence_command(args: argparse.Namespace, app: App) -> int:
    now = time.time()
    since, until = window_of(args.since, args.until, now)
    if args.out is None:
        raise BadInput("opsbooks evidence needs --out DIR: the new folder to write the bundle to")
    out = empty_folder(app.cwd / args.out)
    window = ev.window_record(args.since, args.until, since, until)
    redactor = Redactor(patterns=app.config.secret_patterns)
    files: dict[str, str] = {}
    with _opened(app) as journal:
        runs = _runs(journal, since, until)
        broken = _runs_files(app, journal, runs, files)
        signers, approvals = _approvals(app, journal, runs, redactor)
    files["approvals.json"] = _json(
        {"window": window, "allowed_signers": signers, "approvals": approvals}
    )
    drills = _drills(app, since, until - 0.001)  # stats count [since, until]
    files["drills.json"] = _json({"window": window, "drills": drills})
    reviews = _reviews(app, now)
    errors = [{"module": m, "error": e} for m, e in sorted(app.catalog().broken.items())]
    files["reviews.json"] = _json(
        {"as_of": _day(now), "runbooks": reviews, "catalog_errors": errors}
    )
    from opsbooks.edges.cli.lint import lint_findings

    findings = [f.to_dict() for f in lint_findings(app)[1]]
    files["lint.json"] = json.dumps(findings, indent=2) + "\n"
    totals = ev.Totals(
        runs=dict(Counter(r.outcome for r in runs)),
        audits_intact=len(runs) - len(broken),
        audits_broken=broken,
        approvals=len(approvals),
        approvals_accepted=sum(1 for a in approvals if a["accepted"]),
        approvals_unverified=sum(1 for a in approvals if not a["verified_now"]),
        drills=len(drills),
        drills_missed=sum(1 for d in drills if False in (d["rto_met"], d["rpo_met"])),
        runbooks=len(reviews),
        reviews_overdue=sum(1 for r in reviews if r["overdue"]),
        lint_errors=sum(1 for f in findings if f["severity"] == "error"),
        lint_warnings=sum(1 for f in findings if f["severity"] != "error"),
        catalog_errors=dict(app.catalog().broken),
    )
    files["README.md"] = ev.readme(
        window=window,
        by=_who(app),
        at=_stamp(now),
        version=_version(),
        totals=totals,
        signers=signers,
    )
    written = _write(out, {path: redactor.text(text) for path, text in files.items()}, window)
    app.say(
        f"wrote the evidence bundle {out}: {len(runs)} run(s), {len(approvals)} approval "
        f"decision(s), {len(drills)} drill(s), {len(reviews)} runbook(s), {written} files "
        f"and the manifest; "
        f"check it with `opsbooks evidence verify {args.out}`"
    )
    if errors:
        print(
            f"opsbooks: the bundle is INCOMPLETE: {len(errors)} catalog module(s) failed to "
            f"import, so their runbooks are missing from reviews.json and lint.json (the "
            f"README lists them); fix the module(s) and write the bundle again",
            file=app.err,
        )
        return EXIT_FAILED
    return EXIT_OK


def _runs(journal: Journal, since: float, until: float) -> list[RunRecord]:
    from opsbooks.edges.governance import RUN_LIMIT

    found = [r for r in journal.runs(limit=RUN_LIMIT) if since <= r.started_at < until]
    return sorted(found, key=lambda r: (r.started_at, r.id))


def _runs_files(
    app: App, journal: Journal, runs: list[RunRecord], files: dict[str, str]
) -> list[str]:
    """Each run's report and audit result into ``files``; the runs whose audit breaks."""
    from opsbooks.edges.cli.records import audit_of, run_report

    broken = []
    for run in runs:
        if not _SAFE_ID.fullmatch(run.id):
            raise BadInput(f"the journal holds a run id {run.id!r} that is not a safe file name")
        files[f"runs/{run.id}/report.md"] = run_report(app, journal, run.id)
        result = audit_of(app, journal, run)
        if not result.ok:
            broken.append(run.id)
        files[f"runs/{run.id}/audit.json"] = _json(
            {
                "run": run.id,
                "runbook": run.runbook,
                "intact": result.ok,
                "lines": result.lines,
                "anchor": run.audit_head,
                "problems": list(result.problems),
            }
        )
    return broken


def _approvals(
    app: App, journal: Journal, runs: list[RunRecord], redactor: Redactor
) -> tuple[dict[str, str | None] | None, list[dict[str, Any]]]:
    """The allowed_signers used, and every signed decision of the runs verified again now."""
    from opsbooks.backends.signing import BadSignature, SigningFailed, SshKeygenVerifier
    from opsbooks.define.approvals import load_approval_settings

    settings = load_approval_settings(app.config.approvals)
    signers = app.config.path(settings.allowed_signers) if settings.allowed_signers else None
    verifier = SshKeygenVerifier(signers, settings.namespace) if signers else None
    used = _signers_used(signers, settings.namespace)
    found = []
    for run in runs:
        for record in journal.approvals(run.id):
            if record.decision not in ev.DECISIONS:
                continue
            principal, problem = "", ""
            if verifier is None:
                problem = "no allowed_signers is configured ([tool.opsbooks.approvals])"
            else:
                try:
                    principal = verifier.verify(record.payload, record.signature)
                except (BadSignature, SigningFailed) as exc:
                    problem = str(exc)
            shareable = not redactor.tainted(record.payload)
            item = ev.Reverified(record, principal, problem, shareable).to_dict()
            item["reason"], item["why"] = redactor.text(record.reason), redactor.text(record.why)
            found.append(item)
    return used, found


def _signers_used(path: Path | None, namespace: str) -> dict[str, str | None] | None:
    """The allowed_signers file the approvals were verified against: path, sha256."""
    if path is None:
        return None
    try:
        digest: str | None = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"path": str(path), "sha256": digest, "namespace": namespace}


def _drills(app: App, since: float, until: float) -> list[dict[str, Any]]:
    from opsbooks.edges.governance import book_facts, read_history
    from opsbooks.govern.settings import StatsSettings, load
    from opsbooks.govern.stats import compute

    settings: StatsSettings = load(StatsSettings, app.config.stats, "stats")
    books = {rb.name: book_facts(rb) for rb in app.catalog()}
    history = read_history(app.config, since=since)
    stats = compute(history, books, since=since, until=until, settings=settings)
    return [d.to_dict() for d in stats.drills]


def _reviews(app: App, now: float) -> list[dict[str, Any]]:
    from opsbooks.plan import plan

    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return [ev.review_entry(plan(rb).info, today) for rb in app.catalog().all()]


def _write(out: Path, texts: dict[str, str], window: dict[str, str]) -> int:
    entries = []
    for relative, text in sorted(texts.items()):
        data = text.encode("utf-8")
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append(ev.Entry.of(relative, data))
    manifest = ev.manifest_text(entries, window).encode("utf-8")
    (out / ev.MANIFEST).write_bytes(manifest)
    (out / ev.DIGESTS).write_text(ev.digests_text(entries, manifest), encoding="utf-8")
    return len(entries)


def verify_command(args: argparse.Namespace, app: App) -> int:
    bundle = app.cwd / args.bundle
    try:
        manifest = _manifest_of(bundle)
        try:
            digests: str | None = (bundle / ev.DIGESTS).read_text("utf-8", errors="replace")
        except FileNotFoundError:
            digests = None
        found = {
            rel: ev.Entry.of(rel, path.read_bytes())
            for path, rel in _files(bundle)
            if rel not in (ev.MANIFEST, ev.DIGESTS)
        }
        result = ev.check(manifest, digests, found)
    except (OSError, ev.NotABundle) as exc:
        why = str(exc)
        if isinstance(exc, OSError):
            why = f"{exc.filename or bundle}: {exc.strerror or exc}"
        raise BadInput(
            f"{args.bundle} is not an evidence bundle: {why}; pass the folder "
            f"`opsbooks evidence --out` wrote, with its {ev.MANIFEST} and {ev.DIGESTS}"
        ) from None
    if result.intact:
        app.say(
            f"evidence bundle {args.bundle} verifies: {result.files} files and "
            f"the manifest, checksums intact"
        )
        return EXIT_OK
    app.say(f"evidence bundle {args.bundle} does NOT verify:")
    for line in ev.problems(result):
        app.say(f"  {line}")
    return EXIT_FAILED


def _manifest_of(bundle: Path) -> bytes:
    if not bundle.is_dir():
        raise ev.NotABundle(f"{bundle} is not a folder")
    try:
        return (bundle / ev.MANIFEST).read_bytes()
    except FileNotFoundError:
        raise ev.NotABundle(f"no {ev.MANIFEST} in {bundle}") from None


def _files(bundle: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(bundle.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path, path.relative_to(bundle).as_posix()


def _who(app: App) -> str:
    from opsbooks.edges.operator import approver

    return approver(app.environ)


def _version() -> str:
    from opsbooks.edges.cli.main import version

    return version()


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _day(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).date().isoformat()


def _stamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
