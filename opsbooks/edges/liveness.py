"""Before a resume touches a run: is its runner, or a command it started, still alive?

Two refusals (exit 2), both found before any lock is taken or any line is journaled:

- The run's runner still holds the lock (on this host, alive; or from another host):
  ``--force`` never takes it, so say so before anything is asked or written.
- The runner died (SIGKILL, power, OOM) while a command ran: the command runs in a
  session of its own, so it outlived the runner and may still be running. Every
  command's process group is recorded durably when it starts and when it ends
  (:class:`ProcessLog`, one JSON line each, fsynced, in ``runs/RUN.procs``); a group
  started but never ended and still alive is refused, with how to wait or stop it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from opsbooks.errors import BadInput, OrphanRunning
from opsbooks.records.files import private_dir
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import Journal, RunRecord
from opsbooks.records.journal.locks import Requester, decide, holder_liveness

__all__ = [
    "OrphanRunning",
    "ProcessLog",
    "check_crashed_holder",
    "check_not_live",
    "check_orphans",
    "procs_path",
]


def procs_path(state_path: Path, run_id: str) -> Path:
    return state_path / "procs" / f"{run_id}.procs"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass
class ProcessLog:
    """A :class:`~opsbooks.backends.local.SpawnWatcher` writing one durable line per event."""

    path: Path

    def started(self, pgid: int, /) -> None:
        self._append({"event": "started", "pgid": pgid, "start": _start_time(pgid), "at": _now()})

    def ended(self, pgid: int, /) -> None:
        self._append({"event": "ended", "pgid": pgid, "at": _now()})

    def _append(self, entry: dict[str, object]) -> None:
        private_dir(self.path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
        fd = os.open(self.path, flags, 0o600)
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def in_flight(self) -> dict[int, str | None]:
        """Groups started and never ended: pgid -> the leader's start time."""
        try:
            lines = self.path.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        flying: dict[int, str | None] = {}
        for line in lines:
            try:
                entry = json.loads(line)
                pgid = int(entry["pgid"])
            except (ValueError, TypeError, KeyError):
                continue  # a line torn by the crash
            if entry.get("event") == "started":
                flying[pgid] = entry.get("start")
            else:
                flying.pop(pgid, None)
        return flying


def _now() -> float:
    return time.time()


def group_alive(pgid: int, start: str | None) -> bool:
    """Whether the recorded group still has a live process (and its pid was not reused).

    Zombies do not count: with the runner gone, nobody may reap them (PID 1 of a
    container often does not), yet ``kill(-pgid, 0)`` still succeeds for them.
    """
    if pgid < 2:
        return False
    now = _start_time(pgid)
    if now is not None and start is not None and now != start:
        return False  # the leader's pid now names another process
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def check_not_live(
    journal: Journal, record: RunRecord, identity: HostIdentity, *, force: bool
) -> None:
    """Refuse a resume of a run whose runner holds its lock and lives (``--force`` or not)."""
    holder = journal.lock_holder(record.runbook)
    if holder is None or holder.run_id != record.id:
        return
    requester = Requester(record.id, identity.pid(), identity.name())
    alive = holder_liveness(holder, identity)
    lease = journal.lock_lease(record.runbook)  # another host's crash shows as an old beat
    decision = decide(holder, requester, force=force, holder_alive=alive, lease=lease)
    if not decision.taken:
        raise decision.error(record.runbook)


def check_orphans(journal: Journal, record: RunRecord, log: ProcessLog) -> None:
    """Refuse while a command the crashed runner started still runs."""
    alive = [pgid for pgid, start in log.in_flight().items() if group_alive(pgid, start)]
    if not alive:
        return
    states = journal.step_states(record.id)
    steps = [step for step, status in states.items() if status.value == "running"]
    step = f"step {steps[-1]}" if steps else "a step"
    groups = " ".join(f"-{pgid}" for pgid in alive)
    raise OrphanRunning(
        f"run {record.id}: the runner died while {step} ran, and its command is still "
        f"running (process group {', '.join(map(str, alive))}). Resuming (or a new run "
        f"with --force) now would run a second copy at the same time. Wait for it to "
        f"end (`while kill -0 -- {groups}; do sleep 1; done`) "
        f"or stop it (`kill -TERM -- {groups}`), then resume again."
    )


def check_crashed_holder(
    journal: Journal, runbook: str, state_path: Path, identity: HostIdentity
) -> None:
    """A new run taking a crashed run's lock (``--force``) waits for its orphans too."""
    holder = journal.lock_holder(runbook)
    if holder is None or holder_liveness(holder, identity) is not False:
        return  # no holder, a live one (the lock refuses it), or another host's
    try:
        record = journal.get_run(holder.run_id)
    except BadInput:
        return
    check_orphans(journal, record, ProcessLog(procs_path(state_path, record.id)))
