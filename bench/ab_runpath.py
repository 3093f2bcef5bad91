"""What did each run-path fix of issue 18 buy? Undo one at a time, interleaved.

Like ``bench/ab_fixes.py``: the old code of one fix is put back in this process only
(nothing on disk changes), and the same run is timed with and without it, round by
round in alternating order. The variants:

- ``checkpoint``: a WAL checkpoint after every commit, no seal (``records/journal/sqlite.py``
  before the seal of ``sqlite_seal.py``);
- ``anchor``: the audit anchor in its own commit after each step event, not in the
  commit of the transition it goes with (``run/stepping.py`` ``_journaled``);
- ``tail``: a resume re-hashing every audit line before it appends, not the end
  read backwards (``records/audit_tail.py``);
- ``states``: ``step_states`` re-reading every row, not the decoded transitions;
- ``none``: all four old, the run path as it was before.

The resume fixes (engineer C, "What the resume fixes bought" in docs/performance.md):

- ``view``: the walk, the run's end and the taint check read every transition of the
  run, and ``step_states`` comes from them, not from ``current`` and one grouped query;
- ``decode``: a row decoded through a dict, ``fields()`` and ``json.loads`` each, the
  status by the enum's own lookup;
- ``plan``: each planned step built by the frozen ``__init__``, a template with no
  ``{`` scanned by the regex all the same, and ``--start-at`` found by ``ids.index``
  per step;
- ``resume``: all three old: the resume as it was before them.

Round 4 of the resume fixes ("What the round-4 resume fixes bought"):

- ``includes``: ``included_runbooks`` walks the class's members even when it includes
  nothing;
- ``remote``: each of the three host checks walks every step for a ``RemoteSpec``;
- ``round4``: both old;
- ``fresh`` (``resume`` only): not a fix but row 4's baseline, ``start_run`` of a fresh
  1-step run with every fix in, timed in the same rounds.

``run`` prints the engine's cost per step ((t(N) - t(1)) / (N - 1)) in a folder on
disk (``--dir``, default the system temp folder: fsync is what the first two fixes
save), ``resume`` the time to resume an N-step run stopped at step N - 1 (tmpfs, as
row 4), ``read`` the time a fresh journal takes to decode every transition of an
N-step run (``history``, reports), ``plan`` planning it with ``--start-at`` its last
step. Medians and spread; it asserts nothing.

    .venv/bin/python -m bench.ab_runpath run 100 7 all,checkpoint,anchor,none
    .venv/bin/python -m bench.ab_runpath resume 1000 5 all,tail,states,none --cpu
    .venv/bin/python -m bench.ab_runpath resume 1000 7 all,view,decode,plan,resume
    .venv/bin/python -m bench.ab_runpath read 1000 5 all,decode
    .venv/bin/python -m bench.ab_runpath plan 1000 5 all,plan
    .venv/bin/python -m bench.ab_runpath resume 1000 9 all,includes,remote,round4,fresh

``resume`` times ``resume_run`` as ``opsbooks resume`` calls it, not ``Drill.resume``,
whose result reads the whole run back for a test's asserts (``rows_scaling``).
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.bench_audit_anchor import make_runbook
from bench.rows_scaling import SCRATCH, engine_resume, engine_run
from opsbooks.define import hooks as define_hooks
from opsbooks.define import outputs as define_outputs
from opsbooks.define import sections as define_sections
from opsbooks.define import template
from opsbooks.define.specs import RemoteSpec
from opsbooks.edges import hooks as edges_hooks
from opsbooks.edges import preflight
from opsbooks.edges import prepare as edges_prepare
from opsbooks.edges import session as edges_session
from opsbooks.plan import binding
from opsbooks.plan.selection import Selection
from opsbooks.plan.state import StepStatus
from opsbooks.records import audit
from opsbooks.records.journal import records as journal_records
from opsbooks.records.journal import sql as journal_sql
from opsbooks.records.journal import sql_steps as journal_steps
from opsbooks.records.journal import sqlite as journal_sqlite
from opsbooks.records.journal.records import Transition, step_status_of
from opsbooks.run.stepping import StepRunner
from opsbooks.testing import Drill


def _checkpoint_every_commit(self: Any, sql: str, params: Sequence[Any] = (), /) -> Any:
    cursor = self.db.execute(sql, params)
    if sql == "COMMIT":
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return cursor


def _anchor_apart(self: StepRunner, event: Any, record: Callable[[str | None], None]) -> None:
    record(None)
    self.emit(event)


def _every_row(self: Any, run_id: str) -> dict[str, Any]:
    rows = self._db.execute(
        f"SELECT step_id, status FROM transitions WHERE run_id={self._q} ORDER BY seq",
        (run_id,),
    ).fetchall()
    return {step: step_status_of(status) for step, status in rows}


def _decoded_states(self: Any, run_id: str) -> dict[str, Any]:
    return {t.step_id: t.status for t in self.transitions(run_id)}


def _old_status(value: Any) -> StepStatus:
    try:
        return StepStatus(value)
    except ValueError:
        raise journal_records.malformed("step status", value) from None


def _old_decode(row: tuple[Any, ...]) -> Transition:
    data = dict(zip([f.name for f in dataclasses.fields(Transition)], row, strict=True))
    data["status"] = _old_status(data["status"])
    data["detail"] = journal_records.loads_json(data["detail"], "transition detail", dict)
    data["at"] = journal_records.number(data["at"], "transition time")
    return Transition(**data)


def _old_skip_reason(self: Selection, item: Any) -> str | None:
    if self.start_at and self.ids.index(item.id) < self.ids.index(self.start_at):
        return f"before --start-at {self.start_at}"  # the rest as now: no tags, no --skip
    return _NEW["skip_reason"](self, item)  # type: ignore[no-any-return]


def _old_fields(text: str) -> list[str]:
    return [found.name for _, found in template.scan(text) if found is not None]


def _old_remote(bound: Any) -> bool:
    return any(isinstance(p.spec, RemoteSpec) for p in bound.all_steps())


def _old_included(cls: Any) -> tuple[tuple[str, Any], ...]:
    found: list[tuple[str, Any]] = []

    def walk(owner: type, members: dict[str, Any], prefix: str) -> None:
        for attr, value in members.items():
            if isinstance(value, define_sections.Include):
                child = define_sections.included_runbook(owner, value, prefix + attr)
                found.append((prefix + attr, child))
                walk(child, define_sections.entries(child), f"{prefix}{attr}.")
            elif define_sections.is_section(value):
                walk(owner, define_sections.entries(value), f"{prefix}{attr}.")

    walk(cls, define_sections.entries(cls), "")
    return tuple(found)


_NEW: dict[str, Any] = {
    "execute": journal_sqlite._Connection.execute,
    "journaled": StepRunner._journaled,
    "ends_at": audit._ends_at,
    "states": journal_sql.SqlJournal.step_states,
    "current": journal_sql.SqlJournal.current,
    "decode": journal_steps.transition_from_row,  # type: ignore[attr-defined]
    "status": journal_records.step_status_of,
    "new_planned": binding._new_planned,
    "fields": template.fields,
    "skip_reason": Selection.skip_reason,
    "included": define_hooks.included_runbooks,
    "remote": preflight.has_remote_steps,
}


def _without(fix: str) -> None:
    """Put the old code of ``fix`` back (``all``: every fix in; ``none``: every one out)."""
    out = {fix} if fix != "none" else {"checkpoint", "anchor", "tail", "states"}
    old = "checkpoint" in out
    journal_sqlite._Connection.execute = _checkpoint_every_commit if old else _NEW["execute"]  # type: ignore[method-assign]
    StepRunner._journaled = _anchor_apart if "anchor" in out else _NEW["journaled"]  # type: ignore[method-assign]
    audit._ends_at = (lambda path, expected: False) if "tail" in out else _NEW["ends_at"]
    journal_sql.SqlJournal.step_states = _every_row if "states" in out else _NEW["states"]  # type: ignore[method-assign]
    _resume_fixes({fix} if fix != "resume" else {"view", "decode", "plan"})
    _round4_fixes({fix} if fix != "round4" else {"includes", "remote"})


def _round4_fixes(out: set[str]) -> None:
    """Put the old code of the round-4 resume fixes in ``out`` back (see the module)."""
    included = _old_included if "includes" in out else _NEW["included"]
    edges_hooks.included_runbooks = included  # type: ignore[attr-defined]
    edges_prepare.included_runbooks = included  # type: ignore[attr-defined]
    remote = _old_remote if "remote" in out else _NEW["remote"]
    preflight.has_remote_steps = remote
    edges_session.has_remote_steps = remote  # type: ignore[attr-defined]


def _resume_fixes(out: set[str]) -> None:
    """Put the old code of the resume fixes in ``out`` back (see the module)."""
    if "view" in out:
        journal_sql.SqlJournal.step_states = _decoded_states  # type: ignore[method-assign]
    journal_sql.SqlJournal.current = (  # type: ignore[method-assign]
        journal_sql.SqlJournal.transitions if "view" in out else _NEW["current"]
    )
    old = "decode" in out
    journal_steps.transition_from_row = _old_decode if old else _NEW["decode"]  # type: ignore[attr-defined]
    journal_steps.step_status_of = _old_status if old else _NEW["status"]  # type: ignore[attr-defined]
    journal_records.step_status_of = _old_status if old else _NEW["status"]
    old = "plan" in out
    binding._new_planned = binding.PlannedStep if old else _NEW["new_planned"]  # type: ignore[assignment]
    define_outputs.fields = _old_fields if old else _NEW["fields"]  # type: ignore[attr-defined,assignment]
    Selection.skip_reason = _old_skip_reason if old else _NEW["skip_reason"]  # type: ignore[method-assign]


#: what is timed: ``wall`` (the default), or ``cpu`` (this process's, ``--cpu``), which a
#: loaded machine disturbs less; the fsyncs the first two fixes save are wall time only
CLOCK = {"now": time.perf_counter}


def _timed(action: Callable[[], object]) -> float:
    started = CLOCK["now"]()
    action()
    return CLOCK["now"]() - started


def per_step_ms(steps: int, where: str | None) -> float:
    one, many = make_runbook(1, "python"), make_runbook(steps, "python")
    times = []
    for runbook in (one, many):
        with tempfile.TemporaryDirectory(dir=where) as folder:
            drill = Drill(root=Path(folder), runbooks=(runbook,))
            name = runbook.name
            times.append(_timed(lambda: drill.run(name).assert_succeeded()))  # noqa: B023
    return (times[1] - times[0]) / (steps - 1) * 1000


def resume_ms(steps: int, where: str | None) -> float:
    runbook = make_runbook(steps, "python")
    with tempfile.TemporaryDirectory(dir=where or SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        stopped = drill.run(runbook.name, fail={f"step_{steps - 2:03d}": "bench"}, no_rollback=True)
        if CLOCK["now"] is time.perf_counter:
            return engine_resume(drill, stopped.run_id) * 1000
        return _timed(lambda: engine_resume(drill, stopped.run_id)) * 1000


def fresh_ms(steps: int, where: str | None) -> float:
    """``start_run`` of a fresh 1-step run (row 4's baseline), every fix in: the
    ``fresh`` variant of ``resume``, so the ratio comes from the same rounds."""
    runbook = make_runbook(1, "python")
    with tempfile.TemporaryDirectory(dir=where or SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        if CLOCK["now"] is time.perf_counter:
            return engine_run(drill, runbook.name) * 1000
        return _timed(lambda: engine_run(drill, runbook.name)) * 1000


def read_ms(steps: int, where: str | None) -> float:
    """A fresh journal's ``transitions`` of an N-step run (what ``history`` and reports
    decode), the run made once per call."""
    runbook = make_runbook(steps, "python")
    with tempfile.TemporaryDirectory(dir=where or SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        done = drill.run(runbook.name)
        journal = drill.journal()
        try:
            return _timed(lambda: journal.transitions(done.run_id)) * 1000
        finally:
            journal.close()


def plan_ms(steps: int, where: str | None) -> float:
    """Planning an N-step runbook with ``--start-at`` its last step (what a resume of
    such a run plans again)."""
    runbook = make_runbook(steps, "python")
    last = f"step_{steps - 1:03d}"
    return _timed(lambda: binding.plan(runbook, runbook.Params(), start_at=last)) * 1000


def main(argv: list[str]) -> None:
    where = None
    if "--cpu" in argv:
        CLOCK["now"], argv = time.process_time, [a for a in argv if a != "--cpu"]
    if "--dir" in argv:
        at = argv.index("--dir")
        where, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    mode, steps, rounds = argv[0], int(argv[1]), int(argv[2])
    variants = argv[3].split(",") if len(argv) > 3 else ["all", "checkpoint", "anchor"]
    measure = {"run": per_step_ms, "resume": resume_ms, "read": read_ms, "plan": plan_ms}[mode]
    figures: dict[str, list[float]] = {v: [] for v in variants}
    _without("all")
    per_step_ms(10, where)  # warm-up: imports, page cache
    for number in range(rounds):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            _without(variant)
            fresh = mode == "resume" and variant == "fresh"  # the 1-step run, not a fix
            figures[variant].append((fresh_ms if fresh else measure)(steps, where))
    _without("all")
    what = {"run": "ms per step", "resume": "ms to resume", "read": "ms to read"}.get(
        mode, "ms to plan"
    )
    what += " (CPU)" if CLOCK["now"] is time.process_time else ""
    base = statistics.median(figures["fresh"]) if "fresh" in figures else None
    for variant, values in figures.items():
        label = {"all": "every fix in", "none": "every fix out"}.get(variant, f"without {variant}")
        label = "without the resume's" if variant == "resume" else label
        label = "without round 4's" if variant == "round4" else label
        label = "fresh 1-step run" if variant == "fresh" else label
        print(
            f"{mode} {steps} steps, {label:18s} {statistics.median(values):9.2f} {what}"
            f"  (spread {min(values):.2f}-{max(values):.2f})"
            + (f", {statistics.median(values) / base:.2f}x the fresh run" if base else "")
        )


if __name__ == "__main__":
    main(sys.argv[1:])
