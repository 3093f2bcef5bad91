"""What newer runs changed since a run stopped: facts carried into it before it resumes.

A run's journal says which steps it did, but it is not the only run of its runbook.
Run A fails and stops; run B starts, does some steps again and rolls them back; then
an operator resumes A. A's record says "s1 done on web1" while B's rollback undid s1
there, so A would skip s1 and end ``succeeded`` with web1 in the undone state (the
stateful model test found exactly this). The converse, B doing a step A had not done,
would make A do a non-idempotent step twice.

So before a resume the journal's facts about each step (and each host of a remote
step) are read across every run of the runbook since this run began, and the newest
one wins: a success puts the effect in place, a successful undo takes it away. Where
a newer run's fact disagrees with this run's record, the fact is written into this
run (a transition or a host record naming the run it came from), so the usual resume
rules then re-run what was undone and skip what is in place. Computing the facts is a
read; writing them happens only once every check of the resume has passed, so a
refused resume changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opsbooks.define.outputs import TAINTED
from opsbooks.define.specs import RemoteSpec
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.state import ALLOWED, DONE, StepStatus
from opsbooks.records.journal.protocol import Journal
from opsbooks.records.journal.records import HostRecord, RunRecord, Transition

S = StepStatus
#: the newest fact about a step's effect: (when, in place, the run it came from, its detail)
Fact = tuple[float, bool, str, dict[str, Any]]


@dataclass(frozen=True)
class StepFact:
    """One step's status to write into the resumed run, learned from ``source``."""

    step_id: str
    status: StepStatus
    source: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostFact:
    """One host's result to copy into the resumed run, learned from ``source``."""

    step_id: str
    host: str
    undo: bool
    source: str


@dataclass(frozen=True)
class Reconciliation:
    """The facts a resume writes first, and the run's step states once they are written."""

    run_id: str
    steps: tuple[StepFact, ...] = ()
    hosts: tuple[HostFact, ...] = ()
    states: dict[str, StepStatus] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.steps or self.hosts)

    def notices(self) -> list[str]:
        said = [f"{f.host}: {'undone' if f.undo else 'done'} by run {f.source}" for f in self.hosts]
        return [*(f"{f.step_id}: {f.reason}" for f in self.steps), *said]

    def apply(self, journal: Journal, *, at: float) -> None:
        for fact in self.hosts:
            journal.record_host(
                HostRecord(
                    run_id=self.run_id,
                    step_id=fact.step_id,
                    host=fact.host,
                    ok=True,
                    exit_code=0,
                    duration=None,
                    output_tail=f"reconciled from run {fact.source}",
                    error="",
                    at=at,
                )
            )
        for step in self.steps:
            journal.record(
                self.run_id,
                step.step_id,
                step.status,
                at=at,
                reason=step.reason,
                detail={**step.detail, "reconciled_from": step.source},
            )


def reconcile(journal: Journal, plan: Plan, record: RunRecord) -> Reconciliation:
    """Read what other runs of ``plan``'s runbook did since ``record`` began."""
    others = [
        r.id
        for r in journal.runs(record.runbook, limit=500)
        if r.id != record.id and _active_since(r, record.started_at)
    ]
    states = journal.step_states(record.id)
    if not others:
        return Reconciliation(record.id, states=dict(states))
    own = journal.transitions(record.id)
    foreign = [t for run_id in others for t in journal.transitions(run_id)]
    own_hosts = journal.host_results(record.id)
    foreign_hosts = [h for run_id in others for h in journal.host_results(run_id)]
    steps: list[StepFact] = []
    hosts: list[HostFact] = []
    for planned in plan.steps:
        if isinstance(planned.spec, RemoteSpec):
            found = _host_facts(planned, record.started_at, own_hosts, foreign_hosts)
            hosts.extend(found)
            fact = _remote_step_fact(planned, states, found)
        else:
            fact = _local_step_fact(planned, states, own, foreign, record.started_at)
        if fact is not None:
            steps.append(fact)
            states[planned.id] = fact.status
    for parked in _park_cut_off(plan, states, steps):
        steps.append(parked)
        states[parked.step_id] = parked.status
    return Reconciliation(record.id, tuple(steps), tuple(hosts), dict(states))


def _park_cut_off(
    plan: Plan, states: dict[str, StepStatus], carried: list[StepFact]
) -> Iterable[StepFact]:
    """Park a step cut off in flight when a step before it must run again first.

    Without a newer run, every step before the one in flight is done, so the resume
    settles it first. A newer run's rollback can undo an earlier step: the resume then
    re-runs that step while the journal still says the later one is ``running``: two
    steps in flight (the stateful model found it). The later one is recorded stopped
    with the ``abandoned`` mark, which the walk treats exactly as a step cut off in
    flight (re-run if idempotent, else asked) when it reaches it, in order.
    """
    if not carried:
        return
    source = carried[0].source
    first_again: str | None = None
    for planned in plan.steps:
        status = states.get(planned.id, S.PENDING)
        if first_again is None and status not in DONE and status is not S.RUNNING:
            first_again = planned.id
        elif first_again is not None and status is S.RUNNING:
            yield StepFact(
                planned.id,
                S.STOPPED,
                source,
                f"was in flight when this run stopped; {first_again}, before it, runs "
                f"again first, so it is settled when the resume reaches it",
                {"abandoned": True},
            )


def _active_since(other: RunRecord, since: float) -> bool:
    """Whether ``other`` may hold facts newer than ``since`` (facts are filtered by time too)."""
    if other.started_at > since or other.ended_at is None:
        return True
    return other.ended_at > since


def _local_step_fact(
    planned: PlannedStep,
    states: dict[str, StepStatus],
    own: list[Transition],
    foreign: list[Transition],
    since: float,
) -> StepFact | None:
    """A newer run's success or undo of a local step, where it disagrees with this run."""
    newest = _newest(_effects(t for t in own if t.step_id == planned.id))
    theirs = _newest(_effects(t for t in foreign if t.step_id == planned.id and t.at > since))
    if theirs is None or (newest is not None and newest[0] >= theirs[0]):
        return None
    _, in_place, source, detail = theirs
    current = states.get(planned.id, S.PENDING)
    if in_place and current not in (S.SUCCEEDED, S.SKIPPED):
        if S.SUCCEEDED not in ALLOWED[current]:
            return None
        kept = {k: v for k, v in detail.items() if k in ("outputs", TAINTED)}
        why = f"done by run {source} since this run stopped"
        return StepFact(planned.id, S.SUCCEEDED, source, why, kept)
    if not in_place and current is S.SUCCEEDED:
        why = f"undone by the rollback of run {source} since this run stopped; it runs again"
        return StepFact(planned.id, S.COMPENSATED, source, why, {"undo": planned.undo})
    if not in_place and current is S.RUNNING:
        why = f"cut off, then undone by the rollback of run {source}; it runs again"
        return StepFact(planned.id, S.FAILED, source, why)
    return None


def _effects(transitions: Iterable[Transition]) -> list[Fact]:
    """Success puts a step's effect in place; an undo takes it away.

    An undo cut off in flight (``compensating``, the run killed during it) counts as
    taken away: it may have run, and a run resumed after it that kept the step as done
    would end ``succeeded`` without the effect (the stateful model found it). The step
    runs again, as after an undo that failed.
    """
    found: list[Fact] = []
    for t in transitions:
        if t.status is S.SUCCEEDED:
            found.append((t.at, True, t.run_id, dict(t.detail)))
        elif t.status in (S.COMPENSATED, S.COMPENSATING):
            found.append((t.at, False, t.run_id, dict(t.detail)))
    return found


def _newest(facts: list[Fact]) -> Fact | None:
    return max(facts, key=lambda f: f[0]) if facts else None


def _host_facts(
    planned: PlannedStep, since: float, own: list[HostRecord], foreign: list[HostRecord]
) -> list[HostFact]:
    """Per host, a newer run's successful step or undo that this run has not seen."""
    names = {planned.id, planned.undo}
    found: list[HostFact] = []
    for host in sorted({h.host for h in foreign if h.step_id in names}):
        mine = [h.at for h in own if h.host == host and h.step_id in names and h.ok]
        theirs = [
            h for h in foreign if h.host == host and h.step_id in names and h.ok and h.at > since
        ]
        if not theirs:
            continue
        latest = max(theirs, key=lambda h: h.at)
        if mine and max(mine) >= latest.at:
            continue
        undo = latest.step_id != planned.id
        if _in_place_on(own, planned, host) != undo:
            continue  # this run already sees the host that way
        found.append(HostFact(latest.step_id, host, undo, latest.run_id))
    return found


def _in_place_on(records: list[HostRecord], planned: PlannedStep, host: str) -> bool:
    """Whether this run's own records leave ``planned``'s effect in place on ``host``."""
    in_place = False
    for record in records:
        if record.host != host or not record.ok:
            continue
        if record.step_id == planned.id:
            in_place = True
        elif record.step_id == planned.undo:
            in_place = False
    return in_place


def _remote_step_fact(
    planned: PlannedStep, states: dict[str, StepStatus], found: list[HostFact]
) -> StepFact | None:
    """A remote step this run counts as done, no longer in place on some host: re-run it."""
    undone = [f for f in found if f.undo]
    if states.get(planned.id) is not S.SUCCEEDED or not undone:
        return None
    where = ", ".join(f.host for f in undone)
    source = undone[0].source
    why = f"undone on {where} by the rollback of run {source} since this run stopped; it runs again"
    return StepFact(planned.id, S.COMPENSATED, source, why, {"undo": planned.undo})
