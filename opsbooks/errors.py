"""The opsbooks error tree.

Every error an operator can meet is an ``OpsbooksError`` whose message says what
happened and what to do next. The CLI maps the branches to exit codes::

    OpsbooksError
    ├── BadInput                      exit 2: nothing ran
    │   ├── DefinitionError           a runbook class is malformed
    │   ├── ParamsError               parameter values failed validation
    │   ├── UnknownRunbook            no runbook by that name
    │   ├── ConfigError               configuration file malformed
    │   │   └── InventoryError        the hosts or ssh tables are malformed
    │   ├── AnswersError              answers file malformed or mismatched
    │   ├── JournalError              journal unreadable, newer schema, unknown run
    │   │   └── LockHeld              another run of the runbook holds the lock
    │   ├── UnknownRole               no host in the inventory has a step's role
    │   ├── UnknownHost               a host name is not in the inventory
    │   ├── MissingKeyFile            a host's SSH key file does not exist
    │   ├── UnknownHostVar            a command uses {host.<var>} a host lacks
    │   ├── HostsUnreachable          more hosts of a role are down than tolerated
    │   ├── SyncError                 files that cannot be synced to hosts safely
    │   └── OrphanRunning             a crashed run's command still runs
    ├── RunFailed                     exit 1: a step failed (rollback may have run)
    │   └── StepFailed                carries step id, exit code, output tail
    └── RunStopped                    exit 3: resumable
        ├── GateStopped               a gate had no answer, was declined or timed out
        └── Interrupted               SIGINT / SIGTERM / SIGHUP at a step boundary
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STOPPED = 3


class OpsbooksError(Exception):
    """Root of every error opsbooks raises on purpose."""

    exit_code = EXIT_FAILED


class BadInput(OpsbooksError):
    """Input was wrong; nothing ran."""

    exit_code = EXIT_BAD_INPUT


class DefinitionError(BadInput):
    """A runbook class is malformed; raised when the class is defined."""

    def __init__(self, runbook: str, message: str, *, step: str | None = None) -> None:
        self.runbook = runbook
        self.step = step
        where = f"runbook {runbook}" + (f", step {step!r}" if step else "")
        super().__init__(f"{where}: {message}")


class ParamsError(BadInput):
    """Parameter values failed validation; one line per field."""

    def __init__(self, runbook: str, problems: list[str]) -> None:
        self.runbook = runbook
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"invalid parameters for {runbook}; nothing was run:\n{lines}\n"
            f"Run `opsbooks show {runbook}` to see every parameter."
        )


class UnknownRunbook(BadInput):
    """No runbook by that name in the catalog."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"no runbook named {name!r}.{hint} Run `opsbooks list` to see the catalog."
        )


class ConfigError(BadInput):
    """Configuration is malformed."""


_INVENTORY_FIX = "fix the hosts and ssh tables of the opsbooks configuration"


class InventoryError(ConfigError):
    """The ``hosts`` or ``ssh`` configuration is malformed; no host was contacted."""

    def __init__(self, problem: str, *, fix: str = _INVENTORY_FIX) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; {fix}")


class AnswersError(BadInput):
    """An answers file does not parse or does not fit the runbook's gates."""


class JournalError(BadInput):
    """The journal cannot be used as asked."""


class LockHeld(JournalError):
    """Another run of the same runbook is in progress."""

    def __init__(
        self,
        runbook: str,
        run_id: str,
        pid: int,
        host: str,
        *,
        alive: bool | None = None,
        forced: bool = False,
        elsewhere: bool = False,
        renewed: tuple[float, float] | None = None,
        hung: bool = False,
    ) -> None:
        self.runbook = runbook
        self.run_id = run_id
        self.pid = pid
        self.host = host
        self.alive = alive
        where = f"pid {pid} on {host}"
        if elsewhere and renewed is not None:
            age, left = renewed
            message = (
                f"runbook {runbook} is held by run {run_id} ({where}, another host); its "
                f"lease was renewed {age:.1f}s ago from {host} and expires in {left:.1f}s "
                f"unless renewed again, so its runner is alive and the lock is not taken, "
                f"with or without --force. Wait for it, or once {host} stops renewing "
                f"(it crashed), `opsbooks resume {run_id}` from here takes the run over."
            )
        elif hung:
            message = (
                f"runbook {runbook} is held by run {run_id} ({where}), whose process is "
                f"alive but last renewed its lease {renewed[0] if renewed else 0:.1f}s "
                f"ago: the runner is hung. The lock is not taken from a live process; "
                f"inspect it (`ps -o stat,wchan:20 -p {pid}`), stop "
                f"it (`kill {pid}`), then resume."
            )
        elif elsewhere:
            message = (
                f"runbook {runbook} is held by run {run_id} ({where}, another host). This "
                f"host cannot tell whether that process still runs, so it does not take "
                f"the lock, with or without --force. Wait for it, or resume it on {host} "
                f"with `opsbooks resume {run_id}`."
            )
        elif alive is False:
            message = (
                f"run {run_id} of {runbook} holds the lock, but its process ({where}) is gone: "
                f"it crashed. Resume it with `opsbooks resume {run_id}`, or pass --force to "
                f"start a new run (the crashed one is then marked interrupted)."
            )
        elif forced:
            message = (
                f"runbook {runbook} is running as run {run_id} ({where}, still alive); "
                f"--force only takes the lock from a run whose process is gone. Wait for "
                f"it, or stop it first."
            )
        else:
            message = (
                f"runbook {runbook} is already running as run {run_id} ({where}). Wait for "
                f"it, or if that process is gone after a crash, pass --force to take the lock."
            )
        super().__init__(message)


class UnknownRole(BadInput):
    """No host in the inventory has the role a step asked for."""

    def __init__(self, role: str, known: list[str]) -> None:
        self.role = role
        self.known = known
        super().__init__(
            f"no host has role {role!r}; known roles: {', '.join(known) or 'none'}. "
            f"Add the role to a host's roles in [tool.opsbooks.hosts] or fix the step."
        )


class UnknownHost(BadInput):
    """A host name is not in the inventory."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"no host named {name!r} in the inventory; known hosts: "
            f"{', '.join(known) or 'none'}. Add it under [tool.opsbooks.hosts] or fix the name."
        )


class MissingKeyFile(BadInput):
    """A host's SSH key file does not exist; nothing was contacted."""

    def __init__(self, missing: Mapping[str, str]) -> None:
        self.missing = dict(missing)
        lines = "\n".join(f"  {host}: {path}" for host, path in self.missing.items())
        super().__init__(
            f"SSH key file(s) not found; no host was contacted:\n{lines}\n"
            f"Fix key_file in the inventory or create the key."
        )


class UnknownHostVar(BadInput):
    """A command uses ``{host.<var>}`` that a host does not define."""

    def __init__(self, host: str, var: str, known: list[str]) -> None:
        self.host = host
        self.var = var
        self.known = known
        super().__init__(
            f"host {host!r} has no variable {var!r} (used as {{host.{var}}}); it has: "
            f"{', '.join(known)}. Add it under the host's vars."
        )


class HostsUnreachable(BadInput):
    """More hosts of a role cannot be reached than its remote steps tolerate."""

    def __init__(self, runbook: str, problems: list[str]) -> None:
        self.runbook = runbook
        self.problems = problems
        super().__init__(
            f"{runbook} cannot start; nothing was run:\n  "
            + "\n  ".join(problems)
            + "\nCheck that the hosts are up and their address, port, user and key in the "
            "hosts configuration, or take them out of the role."
        )


class SyncError(BadInput):
    """Files or names that cannot be synced safely; no host was contacted."""


class OrphanRunning(BadInput):
    """A command of a crashed run still runs; resuming now would run a second copy."""


class RunFailed(OpsbooksError):
    """The run failed; see the journal for what was rolled back."""

    exit_code = EXIT_FAILED


class StepFailed(RunFailed):
    """A step did not succeed."""

    def __init__(
        self,
        step: str,
        reason: str,
        *,
        exit_code: int | None = None,
        output_tail: str = "",
        attempts: int = 1,
    ) -> None:
        self.step = step
        self.reason = reason
        self.returncode = exit_code
        self.output_tail = output_tail
        self.attempts = attempts
        super().__init__(f"step {step!r} failed: {reason}")


class RunStopped(OpsbooksError):
    """The run stopped and can be resumed."""

    exit_code = EXIT_STOPPED


class GateStopped(RunStopped):
    """A gate was not approved (no answer, declined, or timed out)."""

    def __init__(self, step: str, reason: str, *, rollback: bool = False) -> None:
        self.step = step
        self.reason = reason
        self.rollback = rollback
        super().__init__(f"stopped at gate {step!r}: {reason}")


class Interrupted(RunStopped):
    """A signal stopped the run between steps."""

    def __init__(self, signal_name: str) -> None:
        self.signal_name = signal_name
        super().__init__(f"interrupted by {signal_name}")
