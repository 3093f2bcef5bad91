"""The journal's reads of step transitions: a step's status, the run's states, its rows.

A mixin of :class:`opsbooks.records.journal.sql.SqlJournal`, kept apart so the core
(runs, writes, gates, hosts) stays readable; it uses only the core's connection and
placeholder. Two reads serve a resume without decoding the whole run (issue 18, row 4):
:meth:`StepReads.step_states` (one grouped query over the ``transitions_by_step``
index, no detail decoded) and :meth:`StepReads.current` (only the rows that still say
something about a step). Both are derived from the same append-only rows as
:meth:`StepReads.transitions`, so there is no second copy of a step's state to drift.
"""

from __future__ import annotations

from opsbooks.plan.state import StepStatus
from opsbooks.records.journal.dialect import Connection
from opsbooks.records.journal.records import (
    Transition,
    field_names,
    step_status_of,
    transition_from_row,
)

__all__ = ["StepReads"]

_TRANSITION = ", ".join(field_names(Transition))

#: How many runs' decoded transitions one journal keeps (a resume reads a few runs).
_CACHED_RUNS = 8

#: each step's first and latest row of one run (the placeholder is the run id)
_STEPS = "SELECT step_id, min(seq) AS first, max(seq) AS last FROM transitions WHERE run_id={q}"


class StepReads:
    """Reads of a run's transitions over the core's connection (see the module)."""

    _db: Connection
    _q: str
    #: each run's transitions as last read, decoded (see ``transitions``)
    _transitions: dict[str, tuple[Transition, ...]]
    #: each run's step states as last read, with the row count and last ``seq`` then
    _states: dict[str, tuple[int, int | None, dict[str, StepStatus]]]

    def step_status(self, run_id: str, step_id: str) -> StepStatus:
        q = self._q
        row = self._db.execute(
            f"SELECT status FROM transitions WHERE run_id={q} AND step_id={q}"
            " ORDER BY seq DESC LIMIT 1",
            (run_id, step_id),
        ).fetchone()
        return step_status_of(row[0]) if row else StepStatus.PENDING

    def step_states(self, run_id: str) -> dict[str, StepStatus]:
        """Every step's latest status, in the order the steps first appear in the run.

        One grouped query on ``transitions_by_step`` the first time (the database finds
        each step's latest row, and only its status crosses into Python), then only the
        rows added since, checked as ``transitions`` checks its rows: a resume asks four
        times, and each ask decoded all 2,000 rows of a run stopped at step 999 of 1,000."""
        q = self._q
        count, last = self._shape(run_id)
        known = self._states.get(run_id)
        if known is not None and known[0] == count and known[1] == last:
            return dict(known[2])
        if known is not None and last is not None and known[1] is not None:
            states = dict(known[2])
            rows = self._db.execute(
                f"SELECT step_id, status FROM transitions WHERE run_id={q} AND seq>{q}"
                " ORDER BY seq",
                (run_id, known[1]),
            ).fetchall()
            states.update((str(step), step_status_of(status)) for step, status in rows)
            if known[0] + len(rows) == count:
                self._keep_states(run_id, count, last, states)
                return dict(states)
        rows = self._db.execute(
            f"SELECT t.step_id, t.status FROM transitions t JOIN ({_STEPS.format(q=q)}"
            " GROUP BY step_id) g ON t.seq = g.last ORDER BY g.first",
            (run_id,),
        ).fetchall()
        states = {str(step): step_status_of(status) for step, status in rows}
        self._keep_states(run_id, count, last, states)
        return dict(states)

    def _shape(self, run_id: str) -> tuple[int, int | None]:
        """The run's row count and last ``seq``: one query on ``transitions_by_run``."""
        shape = self._db.execute(
            f"SELECT count(*), max(seq) FROM transitions WHERE run_id={self._q}", (run_id,)
        ).fetchone()
        return int(shape[0]), None if shape[1] is None else int(shape[1])

    def _keep_states(
        self, run_id: str, count: int, last: int | None, states: dict[str, StepStatus]
    ) -> None:
        self._states.pop(run_id, None)
        self._states[run_id] = (count, last, states)
        if len(self._states) > _CACHED_RUNS:
            del self._states[next(iter(self._states))]

    def current(self, run_id: str) -> list[Transition]:
        """The run's transitions that still say something, in order: every row with a
        detail, and the latest row of each step that has one.

        What a resume's walk and a run's end read from a run (branch routes, outputs,
        per-host outputs, abandoned, continued and marked-done steps, the diagnosis, the
        tainted outputs) is in a row's detail, or in whether that row is its step's
        latest, and is the same from these rows as from every row. A run of steps that
        publish nothing has none, so a resume at step 999 of 1,000 decodes nothing here
        where it decoded 2,000 rows. A step's whole history (``history``, reports, its
        success times for RTO, a SubRun's linked child) needs :meth:`transitions`."""
        q = self._q
        detailed = f"SELECT step_id FROM transitions WHERE run_id={q} AND detail <> '{{}}'"
        rows = self._db.execute(
            f"SELECT {_TRANSITION} FROM transitions WHERE run_id={q} AND (detail <> '{{}}'"
            f" OR seq IN (SELECT max(seq) FROM transitions WHERE run_id={q}"
            f" AND step_id IN ({detailed}) GROUP BY step_id)) ORDER BY seq",
            (run_id, run_id, run_id),
        ).fetchall()
        return [transition_from_row(row) for row in rows]

    def transitions(self, run_id: str) -> list[Transition]:
        """Every transition of ``run_id`` in order, each row decoded once per journal.

        A resume read them several times, and decoding was most of its cost. Rows are
        only ever appended, so the run's count and last ``seq`` (one indexed query) say
        what any process added since: only newer rows are read, and a count that does
        not add up (a row committed out of ``seq`` order) reads all again. The records
        are shared between callers: read them, never change them."""
        count, last = self._shape(run_id)
        found = self._transitions.get(run_id, ())
        if len(found) != count or (found and found[-1].seq != last):
            found += self._read_transitions(run_id, found[-1].seq if found else None)
            if len(found) != count or (found and found[-1].seq != last):
                found = self._read_transitions(run_id, None)  # out of order: read it all
            self._transitions.pop(run_id, None)
            self._transitions[run_id] = found
            if len(self._transitions) > _CACHED_RUNS:  # `stats` reads every run once
                del self._transitions[next(iter(self._transitions))]
        return list(found)

    def _read_transitions(self, run_id: str, after: int | None) -> tuple[Transition, ...]:
        q = self._q
        since, args = (f" AND seq>{q}", (run_id, after)) if after is not None else ("", (run_id,))
        rows = self._db.execute(
            f"SELECT {_TRANSITION} FROM transitions WHERE run_id={q}{since} ORDER BY seq", args
        ).fetchall()
        return tuple(transition_from_row(row) for row in rows)
