"""Crash torture: SIGKILL a real ``opsbooks run`` at seeded random moments, resume each time.

A generated 30-step runbook appends each step's id to a ledger file (not idempotent;
some steps sleep before and after the append so kills land mid-step). After every
kill a simulated operator checks the ledger: a step left in flight is answered
``re-run`` only if its line is missing, else ``mark-done``. When a run completes the
ledger must hold every step exactly once, the journal must pass ``PRAGMA
integrity_check`` and ``opsbooks audit verify`` must pass. When a run completes
before the kill budget is spent, a fresh run (fresh ledger) takes the next kills.

``OPSBOOKS_TORTURE_KILLS`` (default 15) and ``OPSBOOKS_TORTURE_SEED`` (default 7)
set the count and the seed; ``scripts/torture.sh`` runs the full 100.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from reliability_helpers import (
    cli,
    integrity,
    latest_states,
    make_project,
    query,
    spawn,
    tagged_pids,
)

KILLS = int(os.environ.get("OPSBOOKS_TORTURE_KILLS", "15"))
SEED = int(os.environ.get("OPSBOOKS_TORTURE_SEED", "7"))
STEPS = 30
#: wall-clock bound for the whole torture; generous per kill, so it never hangs CI.
BUDGET = 20 + 4.0 * KILLS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(BUDGET) + 60)]


def torture_runbook(seed: int, tag: str) -> str:
    rng = random.Random(seed)
    lines = [
        "class Ledger(ob.Runbook):",
        '    """Append each step id to a ledger file, once per step."""',
        "",
        '    name = "torture.ledger"',
        '    scope = "A ledger file in the project directory."',
        '    owner = "Reliability"',
        '    last_reviewed = "2026-11-01"',
        "",
    ]
    for number in range(1, STEPS + 1):
        before, after = rng.choice([0, 0, 0.05, 0.1]), rng.choice([0, 0, 0.05, 0.15])
        command = f"sleep {before}; printf '%s\\n' s{number:02d} >> ledger.txt; sleep {after}"
        lines.append(
            f"    s{number:02d} = ob.Command({command!r}, env={{'OPSBOOKS_TORTURE_TAG': {tag!r}}})"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Tally:
    kills: int = 0
    runs_completed: int = 0
    in_flight_rerun: int = 0
    in_flight_marked: int = 0
    fresh_starts_after_early_kill: int = 0
    orphans_killed: int = 0
    notes: list[str] = field(default_factory=list)


def wait_for_orphans(tag: str, timeout: float = 10.0) -> None:
    """A killed runner's command keeps running in its own session: let it finish."""
    deadline = time.monotonic() + timeout
    while tagged_pids(tag):
        assert time.monotonic() < deadline, f"orphaned step commands still running: {tag}"
        time.sleep(0.02)


def ledger_lines(root: Path) -> list[str]:
    path = root / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


def newest_run(root: Path) -> tuple[str, str] | None:
    rows = query(root, "SELECT id, outcome FROM runs ORDER BY started_at DESC LIMIT 1")
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


def operator_answers(root: Path, run_id: str, tally: Tally) -> Path | None:
    """Decide, like an operator checking the ledger, what to do with an in-flight step."""
    states = latest_states(root, run_id)
    in_flight = [step for step, status in states.items() if status == "running"]
    assert len(in_flight) <= 1, f"more than one step in flight: {in_flight}"
    if not in_flight:
        return None
    step = in_flight[0]
    seen = ledger_lines(root).count(step)
    assert seen <= 1, f"{step} appended {seen} times"
    choice = "mark-done" if seen == 1 else "re-run"
    if seen:
        tally.in_flight_marked += 1
    else:
        tally.in_flight_rerun += 1
    path = root / "answers.yaml"
    path.write_text(f"'resume:{step}': {choice}\n")
    return path


def campaign(root: Path, tag: str, rng: random.Random, tally: Tally, deadline: float) -> None:
    """Run the ledger runbook to completion, killing it while kills remain."""
    (root / "ledger.txt").unlink(missing_ok=True)
    before = newest_run(root)
    run_id: str | None = None
    force = False
    while True:
        assert time.monotonic() < deadline, f"torture exceeded its time budget: {tally}"
        if run_id is None:
            args = ["run", "torture.ledger", *(["--force"] if force else [])]
        else:
            answers = operator_answers(root, run_id, tally)
            args = ["resume", run_id, *(["--answers", str(answers)] if answers else [])]
        proc = spawn(root, *args)
        if tally.kills < KILLS:
            early = rng.random() < 0.15  # some kills land while it is still starting
            time.sleep(rng.uniform(0.05, 0.4) if early else rng.uniform(0.4, 1.6))
        if tally.kills < KILLS and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            tally.kills += 1
            if rng.random() < 0.5:  # the machine died too: its commands die with it
                for pid in tagged_pids(tag):
                    os.kill(pid, signal.SIGKILL)
                    tally.orphans_killed += 1
            wait_for_orphans(tag)
            newest = newest_run(root)
            if run_id is None:
                if newest is not None and (before is None or newest[0] != before[0]):
                    run_id = newest[0]
                else:
                    force = True  # killed before the run was recorded: start again
                    tally.fresh_starts_after_early_kill += 1
                    continue
            if dict(query(root, "SELECT id, outcome FROM runs")).get(run_id) == "succeeded":
                break
            continue
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{out}\n{err}"
        newest = newest_run(root)
        assert newest is not None
        run_id = run_id or newest[0]
        break
    assert run_id is not None
    ledger = ledger_lines(root)
    assert sorted(ledger) == [f"s{n:02d}" for n in range(1, STEPS + 1)], ledger
    assert integrity(root) == "ok"
    verified = cli(root, "audit", "verify", run_id)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    tally.runs_completed += 1


def test_sigkill_torture(tmp_path: Path) -> None:
    tag = f"torture-{SEED}-{os.getpid()}"
    root, _ = make_project(tmp_path / "project", {"torture/ledger": torture_runbook(SEED, tag)})
    rng = random.Random(SEED)
    tally = Tally()
    deadline = time.monotonic() + BUDGET
    started = time.monotonic()
    while tally.kills < KILLS:
        campaign(root, tag, rng, tally, deadline)
    # every run of the journal is intact and verifies
    for (run_id,) in query(root, "SELECT id FROM runs"):
        verified = cli(root, "audit", "verify", str(run_id))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    report = (
        f"torture seed={SEED}: {tally.kills} SIGKILLs survived over {tally.runs_completed} "
        f"completed runs in {time.monotonic() - started:.1f}s; in-flight steps re-run "
        f"{tally.in_flight_rerun}, marked done {tally.in_flight_marked}; fresh starts after "
        f"an early kill {tally.fresh_starts_after_early_kill}; orphaned commands killed "
        f"{tally.orphans_killed}"
    )
    print(report)
    figures = os.environ.get("OPSBOOKS_TORTURE_REPORT")
    if figures:
        with open(figures, "a", encoding="utf-8") as handle:
            handle.write(report + "\n")
    assert tally.kills == KILLS


def test_torture_runbook_is_deterministic() -> None:
    assert torture_runbook(3, "t") == torture_runbook(3, "t")
