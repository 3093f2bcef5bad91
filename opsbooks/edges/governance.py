"""Border I/O for ``lint``, ``stats`` and ``review``: the journal, git and the catalog.

The rules and figures in ``opsbooks.govern`` are pure; this module reads what they are
computed from. A SQLite journal that does not exist yet is an empty history (``lint``
in CI on a fresh clone must not create one); git facts are empty outside a repository.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from opsbooks.define.policies import seconds
from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Config
from opsbooks.edges.session import journal_url
from opsbooks.errors import BadInput
from opsbooks.govern.lint_rules import Exercise
from opsbooks.govern.stats import SUCCEEDED, BookFacts, RunHistory
from opsbooks.plan import plan
from opsbooks.records.journal import open_journal

#: how many runs ``stats`` and ``lint`` read back from the journal at most
RUN_LIMIT = 100_000


def read_history(config: Config, *, since: float = 0.0, detail: bool = True) -> list[RunHistory]:
    """Every run that started at or after ``since``, with its transitions and gates."""
    url = journal_url(config)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    journal = open_journal(url)
    try:
        found = []
        for record in journal.runs(limit=RUN_LIMIT):
            if record.started_at < since:
                continue
            if detail:
                transitions = tuple(journal.transitions(record.id))
                gates = tuple(journal.gates(record.id))
                facts = tuple(journal.facts(record.id))
                found.append(RunHistory(record, transitions, gates, facts))
            else:
                found.append(RunHistory(record))
        return found
    finally:
        journal.close()


def exercised(history: Iterable[RunHistory]) -> dict[str, Exercise]:
    """When each runbook last succeeded, and was last drilled, by its runs' end dates."""
    found: dict[str, Exercise] = {}
    for item in history:
        run = item.record
        if run.outcome not in SUCCEEDED or run.ended_at is None:
            continue
        day = dt.datetime.fromtimestamp(run.ended_at, dt.UTC).date()
        seen = found.get(run.runbook, Exercise())
        drilled = "rto_seconds" in run.metrics or "rpo_seconds" in run.metrics
        found[run.runbook] = Exercise(
            last_success=max(filter(None, (seen.last_success, day))),
            last_drill=max(filter(None, (seen.last_drill, day if drilled else None)), default=None),
        )
    return found


def book_facts(runbook: type[Runbook]) -> BookFacts:
    """What the statistics need of one runbook's definition, read from its plan."""
    the_plan = plan(runbook)
    info = the_plan.info
    return BookFacts(
        severity=info.severity,
        related=info.related,
        automated={s.id: s.automated and s.kind != "gate" for s in the_plan.all_steps()},
        rto_target=seconds(info.rto) if info.rto else None,
        rpo_target=seconds(info.rpo) if info.rpo else None,
    )


def module_file(runbook: type[Runbook]) -> Path:
    """The source file that defines ``runbook``."""
    module = sys.modules.get(runbook.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        raise BadInput(f"{runbook.name} has no source file to read (module {runbook.__module__})")
    return Path(filename).resolve()


def _git(folder: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def commits_since(path: Path, since: float) -> int:
    """Commits touching ``path`` (following renames) since ``since``: update frequency."""
    stamp = dt.datetime.fromtimestamp(since, dt.UTC).isoformat()
    out = _git(path.parent, "log", "--follow", "--format=%H", f"--since={stamp}", "--", path.name)
    return len([line for line in out.splitlines() if line.strip()])


def last_author(path: Path) -> str:
    """The author name of the newest commit touching ``path`` ('' when not in git)."""
    return _git(path.parent, "log", "-1", "--follow", "--format=%an", "--", path.name).strip()
