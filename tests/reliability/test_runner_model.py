"""The stateful model test of the runner (issue 13): random runbooks of local and remote
steps driven through run, failure, rollback, kills (during undo too), resume, --force,
--mark-done and abandon, against a reference model of each step's effect on each host.

The model (``model_world.World``) holds, per host and ``local``, the set of steps whose
effect is in place: a step's command that ran ok adds it, its undo that ran ok takes it
away, a person's ``--mark-done`` puts it in place by hand. After every rule, and at
every command, the invariants 1-6 of DESIGN.md are checked as far as they can be seen.

Counts: ``OPSBOOKS_MODEL_EXAMPLES`` (50 by default, in the fast tier; ``make torture``
runs 1000), in process against fakes and a real SQLite journal; and
``OPSBOOKS_MODEL_SSHD_EXAMPLES`` (12 by default, slow tier; torture runs 100) with every
remote command run for real on three sshd hosts on 127.0.0.1, whose files must agree
with the model after every rule.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from model_world import (
    CANARY,
    LOCAL,
    Book,
    Killed,
    RealHosts,
    Script,
    StepSpec,
    World,
    dead_pid,
    mark_process_dead,
    scan_for,
)

from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.identity import LocalIdentity
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.errors import BadInput, OpsbooksError
from opsbooks.plan.state import MARKABLE, StepStatus
from opsbooks.records.audit import verify
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

try:  # ``opsbooks abandon`` (issue 13 item 11); the rule is skipped where it is missing
    from opsbooks.edges.resuming import abandon
except ImportError:  # pragma: no cover
    abandon = None

S = StepStatus
EXAMPLES = int(os.environ.get("OPSBOOKS_MODEL_EXAMPLES", "50"))
SSHD_EXAMPLES = int(os.environ.get("OPSBOOKS_MODEL_SSHD_EXAMPLES", "12"))
DEAD = dead_pid()
CLOSED = ("succeeded", "abandoned")
STATS: Counter[str] = Counter()
ERRORS: Counter[str] = Counter()


@st.composite
def books(draw: st.DrawFn) -> Book:
    hosts = tuple(f"web{i}" for i in range(1, draw(st.integers(2, 3)) + 1))
    specs: list[StepSpec] = []
    for index in range(1, draw(st.integers(2, 5)) + 1):
        remote = draw(st.booleans())
        undo = draw(st.booleans())
        outputs = [s.index for s in specs if s.output]
        consumes = draw(st.sampled_from([None, *outputs])) if outputs and not remote else None
        specs.append(
            StepSpec(
                index=index,
                remote=remote,
                undo=undo,
                idempotent=draw(st.booleans()),
                undo_idempotent=draw(st.booleans()),
                undo_on_failure=undo and remote and draw(st.booleans()),
                output=not remote and draw(st.booleans()),
                consumes=consumes,
                parallel=remote and draw(st.booleans()),
            )
        )
    return Book(tuple(specs), hosts)


#: (fwd|undo, step number, place number): resolved against the book when the rule runs
failures = st.lists(
    st.tuples(st.sampled_from(["fwd", "undo"]), st.integers(0, 4), st.integers(0, 3)),
    max_size=2,
)
kills = st.none() | st.tuples(st.integers(1, 14), st.booleans())


class RunnerModel(RuleBasedStateMachine):
    """Drive one generated runbook through the runner's recovery paths."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="opsbooks-model-"))
        self.world: World | None = None
        self.runs: list[str] = []  # every run started, oldest first
        self.consoles: list[str] = []

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def w(self) -> World:
        assert self.world is not None
        return self.world

    #: real sshd hosts for the slow-tier variant (None: fakes only)
    real: ClassVar[Callable[[Path], RealHosts] | None] = None

    @initialize(book=books())
    def build(self, book: Book) -> None:
        real = type(self).real
        self.world = World(book, self.root, real=real(self.root) if real else None)
        self.runbook = book.runbook()
        note(f"book: {book}")

    # -- rules ---------------------------------------------------------------------------

    @rule(fail=failures, kill=kills, no_rollback=st.booleans(), force=st.booleans())
    def start(self, fail: list[Any], kill: Any, no_rollback: bool, force: bool) -> None:
        """A new run, failing where scripted, rolled back or not, killed or not."""
        options = RunOptions(no_rollback=no_rollback, force=force)
        invocation = Invocation(runbook=self.runbook.name, options=options)
        before = {r.id for r in self._journal_runs()}

        def call(surroundings: Surroundings) -> RunReport | None:
            return start_run(invocation, self.w.config, surroundings, Catalog([self.runbook]))

        self._invoke(self._script(fail, kill), None, call, answers={})
        self.runs.extend(r.id for r in reversed(self._journal_runs()) if r.id not in before)

    @precondition(lambda self: bool(self.runs))
    @rule(
        pick=st.integers(0, 50),
        fail=failures,
        kill=kills,
        force=st.booleans(),
        mark=st.lists(st.integers(0, 4), max_size=2, unique=True),
        newer_ok=st.booleans(),
    )
    def resume(
        self,
        pick: int,
        fail: list[Any],
        kill: Any,
        force: bool,
        mark: list[int],
        newer_ok: bool,
    ) -> None:
        """Resume a run (any: closed ones must be refused), maybe marking steps done."""
        open_runs = [r.id for r in self._journal_runs() if r.outcome not in CLOSED]
        pool = open_runs if open_runs and pick % 5 else self.runs
        run_id = pool[-1 - pick % len(pool)]
        steps = self.w.book.steps
        marked = tuple(steps[i % len(steps)].id for i in mark)
        options = RunOptions(
            force=force, mark_done=marked, reason="done by hand" if marked else None
        )
        answers: dict[str, Any] = {"resume:superseded": "yes" if newer_ok else "no"}
        for spec in steps:  # truthful answers about a step or undo cut off in flight
            placed = self.w.in_place(spec.id).values()
            answers[f"resume:{spec.id}"] = "mark-done" if all(placed) else "re-run"
            answers[f"resume:undo:{spec.id}"] = "mark-done" if not any(placed) else "re-run"
        by_hand = {s: {p: s in self.w.effects[p] for p in self.w.book.targets(s)} for s in marked}
        for step_id in marked:  # the person did these by hand before resuming
            for place in self.w.book.targets(step_id):
                self.w.by_hand(place, step_id, present=True)
        before = self._run_view(run_id)

        def call(surroundings: Surroundings) -> RunReport:
            request = ResumeRequest(run_id=run_id, options=options)
            return resume_run(request, self.w.config, surroundings, Catalog([self.runbook]))

        error = self._invoke(self._script(fail, kill), run_id, call, answers=answers)
        recorded = self._marked_in_journal(run_id)
        for step_id, was in by_hand.items():
            if before["marks"].get(step_id, 0) == recorded.get(step_id, 0):
                for place, there in was.items():  # refused: nothing was done by hand
                    self.w.by_hand(place, step_id, present=there)
        if isinstance(error, BadInput):  # a refusal leaves the run exactly as it was
            after = self._run_view(run_id)
            assert after == before, f"invariant 4: refused resume ({error}) changed the run"
        else:
            illegal = [s for s in marked if before["states"].get(s, S.PENDING) not in MARKABLE]
            assert not illegal, f"--mark-done of {illegal} was not refused"

    @precondition(lambda self: bool(self.runs) and abandon is not None)
    @rule(pick=st.integers(0, 50))
    def abandon_run(self, pick: int) -> None:
        """``opsbooks abandon RUN --reason``: closed for good, or a clear refusal."""
        run_id = self.runs[-1 - pick % len(self.runs)]
        before = self._run_view(run_id)
        identity = LocalIdentity()
        journal = self.w.journal(identity=identity)
        try:
            abandon(journal, run_id, reason="model", who="model", at=0.0, identity=identity)
        except BadInput as exc:
            assert self._run_view(run_id) == before, f"refused abandon ({exc}) changed the run"
            assert before["outcome"] in ("succeeded", "abandoned") or "still running" in str(exc)
            return
        except OpsbooksError:
            pass
        finally:
            journal.close()
        assert self._run_view(run_id)["outcome"] == "abandoned"

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def journal_and_records_hold(self) -> None:
        if self.world is None or not self.w.db_path.exists():
            return
        assert not self.w.violations, "\n".join(self.w.violations)
        mismatched = self.w.real_mismatches()
        assert not mismatched, f"the real hosts disagree with the model: {mismatched}"
        journal = self.w.journal()
        try:
            for record in journal.runs(self.runbook.name, limit=500):
                states = journal.step_states(record.id)
                flying = [s for s, st in states.items() if st in (S.RUNNING, S.COMPENSATING)]
                assert len(flying) <= 1, f"invariant 1: {record.id} has {flying} in flight"
                if record.outcome == "running":  # only a crashed run, holding its lock
                    holder = journal.lock_holder(record.runbook)
                    assert holder is not None and holder.run_id == record.id, (
                        f"invariant 4: run {record.id} is `running` but holds no lock "
                        f"(holder: {holder})"
                    )
                    assert holder.pid == DEAD, f"invariant 4: {record.id} running, pid alive"
                path = self.w.config.state_path / "runs" / f"{record.id}.jsonl"
                result = verify(path, record.audit_head)
                assert result.ok, f"invariant 6: audit of {record.id}: {result.problems}"
        finally:
            journal.close()
        leaks = scan_for(CANARY, self.w.config.state_path, *self.consoles)
        assert not leaks, f"invariant 5: the secret canary is in {leaks}"

    # -- helpers -------------------------------------------------------------------------

    def _script(self, fail: list[Any], kill: Any) -> Script:
        steps, places = self.w.book.steps, (LOCAL, *self.w.book.hosts)
        chosen = set()
        for kind, step, place in fail:
            spec = steps[step % len(steps)]
            targets = self.w.book.targets(spec.id)
            chosen.add((kind, spec.id, targets[place % len(targets)]))
        del places
        if kill is None:
            return Script(frozenset(chosen))
        return Script(frozenset(chosen), kill_at=kill[0], kill_after_effect=kill[1])

    def _invoke(
        self, script: Script, run_id: str | None, call: Any, *, answers: dict[str, Any]
    ) -> OpsbooksError | None:
        """One start or resume; check its report; a kill leaves a dead process behind."""
        out = io.StringIO()
        surroundings = Surroundings(
            stdin=io.StringIO(),
            stdout=out,
            environ={"OPSBOOKS_USER": "model", "OPSBOOKS_SECRET_TOKEN": CANARY},
            interactive=False,
            backend=self.w.local,
            hosts=self.w.hosts,
            scripted=answers,
            install_signal_handlers=False,
        )
        note(f"  script: {script}, run: {run_id}")
        error: OpsbooksError | None = None
        report: RunReport | None = None
        try:
            with self.w.invocation(script, run_id):
                report = call(surroundings)
        except Killed:
            self._after_kill(run_id)
        except OpsbooksError as exc:
            error = exc
            note(f"  refused: {type(exc).__name__}: {exc}")
            ERRORS[str(exc)[:70]] += 1
        except Exception as exc:  # invariant 4: an internal error escaped
            raise AssertionError(
                f"invariant 4: {type(exc).__name__} escaped as a traceback: {exc}"
            ) from exc
        finally:
            self.consoles.append(out.getvalue())
        STATS[
            f"{'resume' if run_id else 'start'}:"
            + (
                "killed"
                if report is None and error is None
                else type(error).__name__
                if error
                else report.outcome.value
                if report
                else "none"
            )
        ] += 1
        if report is not None:
            note(f"  -> {report.outcome.value} {report.failed_step or ''} {report.reason}")
            assert report.outcome.value != "running"
            if report.outcome.value == "succeeded":
                self._check_succeeded(report)
        return error

    def _after_kill(self, run_id: str | None) -> None:
        note("  killed")
        journal = self.w.journal()
        try:
            running = [
                r for r in journal.runs(self.runbook.name, limit=500) if r.outcome == "running"
            ]
        finally:
            journal.close()
        victim = run_id or (running[0].id if running else None)
        if victim is not None:
            mark_process_dead(self.w.db_path, victim, DEAD)

    def _check_succeeded(self, report: RunReport) -> None:
        """Invariant 2: every step's effect is in place on every host it targets."""
        for spec in self.w.book.steps:
            status = report.steps.get(spec.id)
            assert status is S.SUCCEEDED, f"invariant 2: succeeded, but {spec.id} is {status}"
            missing = [p for p, there in self.w.in_place(spec.id).items() if not there]
            assert not missing, (
                f"invariant 2: run {report.run_id} succeeded but the effect of {spec.id} "
                f"is not in place on {missing}"
            )

    def _journal_runs(self) -> list[Any]:
        if not self.w.db_path.exists():
            return []
        journal = self.w.journal()
        try:
            return journal.runs(self.runbook.name, limit=500)
        finally:
            journal.close()

    def _run_view(self, run_id: str) -> dict[str, Any]:
        journal = self.w.journal()
        try:
            record = journal.get_run(run_id)
            holder = journal.lock_holder(record.runbook)
            return {
                "outcome": record.outcome,
                "transitions": len(journal.transitions(record.id)),
                "hosts": len(journal.host_results(record.id)),
                "states": journal.step_states(record.id),
                "holder": holder,
                "marks": self._marked_in_journal(run_id, journal),
            }
        finally:
            journal.close()

    def _marked_in_journal(self, run_id: str, journal: Any = None) -> dict[str, int]:
        own = journal is None
        journal = journal or self.w.journal()
        try:
            marks: dict[str, int] = {}
            for t in journal.transitions(run_id):
                if t.detail.get("mark_done") and t.status is S.SUCCEEDED:
                    marks[t.step_id] = marks.get(t.step_id, 0) + 1
            return marks
        finally:
            if own:
                journal.close()


RunnerModel.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=8,
    deadline=None,
    # shrinking a failure costs minutes: the fast tier reports it unshrunk, torture shrinks
    phases=list(Phase) if EXAMPLES > 100 else [Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.timeout(120 + 3 * EXAMPLES)
def test_runner_model() -> None:
    """The runner keeps DESIGN.md invariants 1-6 on every recovery path the model drives."""
    try:
        RunnerModel.TestCase("runTest").runTest()
    finally:
        print(sorted(STATS.items()))
        print("\n".join(f"{n} {e}" for e, n in ERRORS.most_common(12)))


class RealSshdModel(RunnerModel):
    """The same model, its remote steps run over real sshd on 127.0.0.1."""


RealSshdModel.TestCase.settings = settings(
    RunnerModel.TestCase.settings,
    max_examples=SSHD_EXAMPLES,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.fixture(scope="module")
def model_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path_factory.mktemp("model-sshd"), names=("web1", "web2", "web3")) as c:
        yield c


@pytest.mark.slow
@pytest.mark.timeout(120 + 20 * SSHD_EXAMPLES)
def test_runner_model_on_real_sshd(model_hosts: SshdCluster) -> None:
    """A smaller count of the model with every remote command run on a real sshd host."""
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.backends.ssh.executor import RemoteExecutor

    shape = model_hosts.inventory_config(roles=("web",), command_timeout=30.0)
    inventory = Inventory.from_config(Config(hosts=shape["hosts"], ssh=shape["ssh"], packages=[]))
    backend = RemoteExecutor(inventory)

    def real(root: Path) -> RealHosts:
        homes = {h.name: h.home for h in model_hosts.hosts}
        return RealHosts(backend, homes, shape["hosts"], shape["ssh"], root.name, inventory)

    RealSshdModel.real = real
    try:
        RealSshdModel.TestCase("runTest").runTest()
    finally:
        RealSshdModel.real = None
        print(sorted(STATS.items()))
