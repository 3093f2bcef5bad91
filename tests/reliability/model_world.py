"""The world the stateful runner model acts on (``test_runner_model.py``).

A generated runbook of local ``Command`` and ``Remote`` steps, a local backend and fake
hosts that apply each command's effect to a reference model, fail where a rule scripted
it, and die (``Killed``, a ``BaseException``) at a chosen call, as SIGKILL would. At
every command they also check what must already be true in the journal at that moment
(invariants 1 and 3 of DESIGN.md) and collect violations for the rule to report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opsbooks as ob
from opsbooks.backends.protocols import CommandResult, CommandSpec, HostBackend, Writer
from opsbooks.backends.rollout import HostResult, tail
from opsbooks.edges.config import Config
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import Journal, open_journal
from opsbooks.testing.fakes import FakeHosts, HostCall

S = StepStatus
CANARY = "mdl-CANARY-7f3a9e01"
LOCAL = "local"
RUNBOOK = "model.book"


class Killed(BaseException):
    """The process died at this call: nothing after it runs, as with SIGKILL."""


def dead_pid() -> int:
    """A pid no process has on this machine (the killed run's process)."""
    pid = 4_194_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


# -- the generated runbook ---------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    """One generated step: where it runs, its undo, and what it publishes or reads."""

    index: int
    remote: bool
    undo: bool
    idempotent: bool
    undo_idempotent: bool
    undo_on_failure: bool
    output: bool
    consumes: int | None = None  # index of an earlier step whose output it reads
    parallel: bool = False

    @property
    def id(self) -> str:
        return f"s{self.index}"

    @property
    def undo_id(self) -> str:
        return f"u{self.index}"


@dataclass(frozen=True)
class Book:
    """A generated runbook: its steps and the hosts of role ``web``."""

    steps: tuple[StepSpec, ...]
    hosts: tuple[str, ...]

    def step(self, step_id: str) -> StepSpec:
        return next(s for s in self.steps if s.id == step_id)

    def targets(self, step_id: str) -> tuple[str, ...]:
        return self.hosts if self.step(step_id).remote else (LOCAL,)

    def runbook(self) -> type[ob.Runbook]:
        """The runbook class, built as a user would write it."""

        class Params(ob.Params):
            token: ob.SecretStr

        attrs: dict[str, Any] = {
            "__doc__": "A generated runbook for the stateful runner model.",
            "__module__": __name__,
            "name": RUNBOOK,
            "scope": "the stateful runner model",
            "owner": "sre",
            "last_reviewed": dt.date(2026, 11, 1),
            "Params": Params,
        }
        for spec in self.steps:
            attrs.update(_definitions(spec))
        return type("ModelBook", (ob.Runbook,), attrs)


def _definitions(spec: StepSpec) -> dict[str, Any]:
    forward = f"fwd {spec.id}"
    if spec.consumes is not None:
        forward += f" use={{outputs.o_s{spec.consumes}}}"
    more: dict[str, Any] = {
        "idempotent": spec.idempotent,
        "undo": spec.undo_id if spec.undo else None,
        "undo_on_failure": spec.undo_on_failure and spec.undo,
    }
    defs: dict[str, Any] = {}
    if spec.remote:
        strategy = "parallel" if spec.parallel else "serial"
        defs[spec.id] = ob.Remote(forward, role="web", strategy=strategy, **more)
        if spec.undo:
            defs[spec.undo_id] = ob.Remote(
                f"undo {spec.id}", role="web", idempotent=spec.undo_idempotent
            )
    else:
        outputs = (f"o_{spec.id}",) if spec.output else ()
        defs[spec.id] = ob.Command(forward, outputs=outputs, **more)
        if spec.undo:
            defs[spec.undo_id] = ob.Command(f"undo {spec.id}", idempotent=spec.undo_idempotent)
    return defs


# -- the world ---------------------------------------------------------------------------


@dataclass
class Script:
    """What one invocation meets: failing commands, and where its process dies."""

    fail: frozenset[tuple[str, str, str]] = frozenset()  # (fwd|undo, step id, place)
    kill_at: int | None = None  # the n-th command of this invocation (1-based)
    kill_after_effect: bool = False  # the command took effect, then the process died


@dataclass
class World:
    """The effects in place on each host (and ``local``), and the checks at each command."""

    book: Book
    root: Path
    effects: dict[str, set[str]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    script: Script = field(default_factory=Script)
    run_id: str | None = None  # the run being resumed (None: the newest running run)
    calls: int = 0
    dead: bool = False
    #: real sshd hosts: each command's effect is also a file on the host (None: fakes only)
    real: RealHosts | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for place in (LOCAL, *self.book.hosts):
            self.effects.setdefault(place, set())
        self.hosts: HostBackend = FakeHosts(self._host_call)
        if self.real is not None:
            self.hosts = self.real.through(self._host_call)
        self.last_real: dict[str, HostResult] = {}
        self.local = _LocalBackend(self)

    def by_hand(self, place: str, step_id: str, *, present: bool) -> None:
        """A person put ``step_id``'s effect in place on ``place`` (or it was never done)."""
        (self.effects[place].add if present else self.effects[place].discard)(step_id)
        if self.real is not None and place != LOCAL:
            self.real.set(place, step_id, present=present)

    def real_mismatches(self) -> list[str]:
        """Hosts whose files disagree with the model's effects (real sshd mode only)."""
        if self.real is None:
            return []
        found = []
        for host in self.book.hosts:
            there = self.real.placed(host)
            if there != self.effects[host]:
                found.append(
                    f"{host}: files {sorted(there)} but model {sorted(self.effects[host])}"
                )
        return found

    @property
    def config(self) -> Config:
        if self.real is not None:
            hosts = {n: self.real.hosts[n] for n in self.book.hosts}
            return Config(root=self.root, hosts=hosts, ssh=self.real.ssh, packages=[])
        hosts = {
            name: {"address": f"{name}.model.invalid", "roles": ["web"]} for name in self.book.hosts
        }
        return Config(root=self.root, hosts=hosts, packages=[])

    @property
    def db_path(self) -> Path:
        return self.root / ".opsbooks" / "journal.db"

    def journal(self, **kwargs: Any) -> Journal:
        return open_journal(f"sqlite:///{self.db_path}", **kwargs)

    def in_place(self, step_id: str) -> dict[str, bool]:
        return {p: step_id in self.effects[p] for p in self.book.targets(step_id)}

    # -- one invocation ------------------------------------------------------------------

    @contextlib.contextmanager
    def invocation(self, script: Script, run_id: str | None) -> Iterator[None]:
        """Script one start or resume (the session reaches ``self.hosts`` for every host)."""
        self.script, self.run_id, self.calls, self.dead = script, run_id, 0, False
        yield

    # -- commands ------------------------------------------------------------------------

    def command(self, place: str, command: str) -> tuple[int, str]:
        """Carry out ``command`` on ``place`` against the model; die where scripted."""
        words = command.split()
        kind, step_id = words[0], words[1]
        with self._lock:
            if self.dead:
                raise Killed(f"{command} on {place}: the process is already dead")
            self.calls += 1
            kill = self.script.kill_at == self.calls
            if kill and not self.script.kill_after_effect:
                self.dead = True
                self.log.append(f"killed before {command} on {place}")
                raise Killed(f"killed before {command} on {place}")
        self._check(place, kind, step_id, command)
        failing = (kind, step_id, place) in self.script.fail
        stdout = f"auth {CANARY}\n"
        if kind == "fwd" and self.book.step(step_id).output:
            stdout += f"::output o_{step_id}=v-{step_id}\n"
        if self.real is not None and place != LOCAL:
            self.last_real[place] = self.real.effect(place, kind, step_id, failing, stdout)
        with self._lock:
            if not failing:
                (self.effects[place].add if kind == "fwd" else self.effects[place].discard)(step_id)
            self.log.append(f"{command} on {place}: {'failed' if failing else 'ok'}")
            if kill:
                self.dead = True
                self.log.append(f"killed after {command} on {place}")
                raise Killed(f"killed after {command} on {place}")
        return (1 if failing else 0), stdout

    def _host_call(self, call: HostCall) -> HostResult | None:
        if call.action != "run":
            return None  # probes succeed
        code, out = self.command(call.host, call.command)
        if self.real is not None:  # what the real host said, checked against the model
            real = self.last_real.pop(call.host)
            if real.exit_code != code:
                self._violate(
                    f"{call.command} on {call.host}: real exit {real.exit_code} != {code}"
                )
            return real
        failed = f"exit code {code} on {call.host}" if code else None
        return HostResult(
            call.host,
            "failed" if code else "ok",
            exit_code=code,
            stdout_tail=tail(out),
            error=failed,
            error_kind="exit" if code else None,
            stdout=out,
        )

    # -- what must be true at each command ----------------------------------------------

    def _check(self, place: str, kind: str, step_id: str, command: str) -> None:
        spec = self.book.step(step_id)
        if kind == "fwd" and spec.consumes is not None:
            want = f"use=v-s{spec.consumes}"
            if want not in command:
                self._violate(f"outputs: {step_id} ran as {command!r}, expected {want!r}")
        journal = self.journal()
        try:
            run_id = self.run_id or _newest_running(journal)
            if run_id is None:
                self._violate(f"invariant 1: {command} on {place} ran with no run `running`")
                return
            states = journal.step_states(run_id)
            due = S.RUNNING if kind == "fwd" else S.COMPENSATING
            if states.get(step_id) is not due:
                self._violate(
                    f"invariant 1: {command} on {place} started while the journal says "
                    f"{step_id} is {states.get(step_id)}, not {due.value}"
                )
            flying = sorted(s for s, st in states.items() if st in (S.RUNNING, S.COMPENSATING))
            if len(flying) > 1:
                self._violate(f"invariant 1: more than one step in flight: {flying}")
            placed = kind == "fwd" and step_id in self.effects[place]
            if placed and _done_there(journal, run_id, spec, place):
                self._violate(
                    f"invariant 3: {step_id} ran again on {place} in run {run_id} "
                    f"although it had succeeded there and is still in place"
                )
        finally:
            journal.close()

    def _violate(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)
            self.log.append(f"VIOLATION {text}")


@dataclass
class RealHosts:
    """Real sshd hosts for the model: a step's effect is a file ``$HOME/<tag>/<step>``.

    Commands go through opsbooks' real SSH backend (connections, sessions, roll-out
    threads, exit codes and output all real); the world still decides, per command,
    whether it fails or where the process dies, and checks the files against its model.
    """

    backend: HostBackend
    homes: dict[str, Path]
    hosts: dict[str, Any]
    ssh: dict[str, Any]
    tag: str
    inventory: Any = None

    def effect(self, host: str, kind: str, step_id: str, failing: bool, stdout: str) -> HostResult:
        folder = f'"$HOME"/{self.tag}'
        say = f"printf %s {shlex.quote(stdout)}"
        if failing:
            command = f"{say}; exit 1"
        elif kind == "fwd":
            command = f"mkdir -p {folder} && touch {folder}/{step_id} && {say}"
        else:
            command = f"rm -f {folder}/{step_id} && {say}"
        return self.backend.run(self.inventory.host(host), command)

    def set(self, host: str, step_id: str, *, present: bool) -> None:
        folder = self.homes[host] / self.tag
        folder.mkdir(exist_ok=True)
        if present:
            (folder / step_id).touch()
        else:
            (folder / step_id).unlink(missing_ok=True)

    def placed(self, host: str) -> set[str]:
        folder = self.homes[host] / self.tag
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def through(self, handler: Any) -> HostBackend:
        """The world's host backend: model bookkeeping first, then the real host."""
        return _ThroughModel(self.backend, handler)


class _ThroughModel:
    """Runs go to the model's handler (which runs the real command); the rest go real."""

    def __init__(self, real: HostBackend, handler: Any) -> None:
        self.real = real
        self.handler = handler

    def run(self, host: Any, command: str, **kwargs: Any) -> HostResult:
        result: HostResult = self.handler(HostCall(host.name, "run", command))
        return result

    def put(self, host: Any, local: str | Path, remote: str) -> HostResult:
        return self.real.put(host, local, remote)

    def get(self, host: Any, remote: str, local: str | Path) -> HostResult:
        return self.real.get(host, remote, local)

    def probe(self, host: Any) -> HostResult:
        return self.real.probe(host)

    def session(self, host: Any) -> Any:
        return self.real.session(host)


class _LocalBackend:
    """The local ``Backend`` of the world."""

    def __init__(self, world: World) -> None:
        self.world = world

    def run(self, spec: CommandSpec, *, out: Writer | None = None) -> CommandResult:
        code, stdout = self.world.command(LOCAL, spec.command)
        if out is not None:
            out.write(stdout)
        return CommandResult(exit_code=code, stdout=stdout)


def _newest_running(journal: Journal) -> str | None:
    runs = [r for r in journal.runs(RUNBOOK, limit=500) if r.outcome == "running"]
    return runs[0].id if runs else None


def _done_there(journal: Journal, run_id: str, spec: StepSpec, place: str) -> bool:
    """Whether the journal of ``run_id`` says ``spec`` succeeded on ``place`` (and was not
    undone there since): the step must not run there again."""
    earlier = [t.status for t in journal.transitions(run_id) if t.step_id == spec.id]
    while earlier and earlier[-1] is S.RUNNING:
        earlier.pop()  # the attempt under way now
    if earlier and earlier[-1] is S.SUCCEEDED:
        return True
    if not spec.remote:
        return False
    done = False
    for record in journal.host_results(run_id):
        if record.host != place:
            continue
        if record.step_id == spec.id:
            done = record.ok
        elif record.step_id == spec.undo_id and record.ok:
            done = False
    return done


def mark_process_dead(db_path: Path, run_id: str, pid: int) -> None:
    """The killed run's process is gone: its lock and run rows name a pid that no longer
    runs, exactly what a SIGKILLed ``opsbooks run`` leaves behind."""
    db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        db.execute("UPDATE locks SET pid=? WHERE run_id=?", (pid, run_id))
        db.execute("UPDATE runs SET pid=? WHERE id=?", (pid, run_id))
    finally:
        db.close()


def scan_for(secret: str, root: Path, *texts: str) -> list[str]:
    """Every state file (journal, its WAL, audit files) and text that holds ``secret``."""
    found = [
        str(p) for p in sorted(root.rglob("*")) if p.is_file() and secret.encode() in p.read_bytes()
    ]
    found.extend(f"console text #{i}" for i, text in enumerate(texts) if secret in text)
    return found
