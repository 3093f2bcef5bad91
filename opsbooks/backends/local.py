"""Run commands on this machine through invoke, killing the whole process group on timeout.

invoke's ``Local`` runner kills only the shell it started; a grandchild that keeps
the output pipe open then hangs the run. Starting each command in its own session
and killing the group fixes that. Commands get ``/dev/null`` as stdin unless the
step supplies input. This is the only module that imports invoke's runners.
"""

from __future__ import annotations

import errno
import io
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Mapping
from subprocess import DEVNULL, PIPE, Popen, TimeoutExpired
from typing import Any, ClassVar, Protocol

from invoke.config import Config
from invoke.context import Context
from invoke.exceptions import CommandTimedOut
from invoke.runners import Local

from opsbooks.backends.protocols import CommandResult, CommandSpec, Writer


class SpawnWatcher(Protocol):
    """Told of every process group a command starts and ends (to find orphans after a crash)."""

    def started(self, pgid: int, /) -> None: ...

    def ended(self, pgid: int, /) -> None: ...


#: Environment variables that hold a run's secrets: never passed to children by default.
SECRET_ENV_PREFIX = "OPSBOOKS_SECRET_"

#: Longest single wait on a command before checking invoke's output threads again.
WAIT_SLICE = 0.05

_LIVE: set[GroupKillingLocal] = set()
_LIVE_LOCK = threading.Lock()


def kill_running() -> int:
    """Kill the process group of every command running now; how many there were."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for runner in live:
        runner.kill()
    return len(live)


class GroupKillingLocal(Local):
    """invoke's local runner, with its own process group and no inherited stdin."""

    watcher: ClassVar[SpawnWatcher | None] = None

    def start(self, command: str, shell: str, env: dict[str, Any]) -> None:
        if self.using_pty:
            super().start(command, shell, env)
            self._started(self.pid)  # pty.fork makes the child a session leader
            return
        wants_input = self.opts.get("in_stream") is not False
        self.process = Popen(
            command,
            shell=True,
            executable=shell,
            env=env,
            stdout=PIPE,
            stderr=PIPE,
            stdin=PIPE if wants_input else DEVNULL,
            start_new_session=True,
        )
        self._started(self.process.pid)

    def _started(self, pgid: int) -> None:
        self._pgid = pgid
        if self.watcher is not None:
            self.watcher.started(pgid)  # durable before the command gets far
        with _LIVE_LOCK:
            _LIVE.add(self)

    def stop(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)
        super().stop()
        pgid = getattr(self, "_pgid", None)
        if self.watcher is not None and pgid is not None:
            self.watcher.ended(pgid)

    def wait(self) -> None:
        """Wait on the process itself instead of invoke's 10 ms sleep-and-poll loop.

        invoke polls every ``input_sleep`` (10 ms), so a 2 ms command cost about 10 ms
        (bench row 2, "command launch"). ``Popen.wait`` with a timeout polls from 0.5 ms
        with backoff to 50 ms, so a short command returns within about a millisecond of
        its exit and a long one is checked less often than before. The slices keep
        invoke's other exit: a dead output thread (our own output went away) must not
        leave us waiting on a child blocked on a full pipe.
        """
        if self.using_pty:
            super().wait()
            return
        while not self.has_dead_threads:
            try:
                self.process.wait(timeout=WAIT_SLICE)
                return
            except TimeoutExpired:
                continue

    def kill(self) -> None:
        pid = self.pid if self.using_pty else self.process.pid
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            super().kill()


def tool_path(env: Mapping[str, str]) -> str:
    """PATH with this interpreter's bin dir first, so ``python -m ...`` finds our venv."""
    here = os.path.dirname(sys.executable)
    rest = env.get("PATH", os.defpath)
    return here if not rest else f"{here}{os.pathsep}{rest}"


class LocalBackend:
    """The real backend: ``sh -c`` through invoke, output streamed and captured."""

    def __init__(
        self,
        *,
        base_env: Mapping[str, str] | None = None,
        shell: str = "/bin/sh",
        watcher: SpawnWatcher | None = None,
    ):
        given = os.environ if base_env is None else base_env
        # a secret handed to opsbooks is for the steps whose env= names it, not every child
        self._base_env = {k: v for k, v in given.items() if not k.startswith(SECRET_ENV_PREFIX)}
        self._shell = shell
        runner: type[GroupKillingLocal] = GroupKillingLocal
        if watcher is not None:
            runner = type("WatchedLocal", (GroupKillingLocal,), {"watcher": watcher})
        self._context = Context(config=Config(overrides={"runners": {"local": runner}}))

    def run(self, spec: CommandSpec, *, out: Writer | None = None) -> CommandResult:
        env = {**self._base_env, **spec.env}
        env["PATH"] = tool_path(env)
        sink = out if out is not None else io.StringIO()
        started = time.monotonic()
        options: dict[str, Any] = {
            "warn": True,
            "hide": False,
            "out_stream": sink,
            "err_stream": sink,
            "in_stream": io.StringIO(spec.stdin) if spec.stdin is not None else False,
            "env": env,
            "replace_env": True,
            "shell": self._shell,
            "timeout": spec.timeout,
            "echo": False,
        }
        command = spec.command
        if spec.cwd is not None:
            command = f"cd {shlex.quote(spec.cwd)} && {command}"
        try:
            result = self._context.run(command, **options)
        except OSError as exc:
            if exc.errno != errno.E2BIG:
                raise  # EIO/EPIPE: our own output went away; the runner handles that
            return _not_started(command, env, time.monotonic() - started)
        except CommandTimedOut as exc:
            partial = exc.result
            return CommandResult(
                exit_code=-9 if partial is None or partial.exited is None else partial.exited,
                stdout="" if partial is None else partial.stdout,
                stderr="" if partial is None else partial.stderr,
                duration=time.monotonic() - started,
                timed_out=True,
            )
        if result is None:  # only with asynchronous=True, which we never pass
            raise RuntimeError("invoke returned no result for a synchronous run")
        return CommandResult(
            exit_code=int(result.exited),
            stdout=result.stdout,
            stderr=result.stderr,
            duration=time.monotonic() - started,
        )


def _not_started(command: str, env: Mapping[str, str], duration: float) -> CommandResult:
    """A command the kernel would not start (E2BIG): a failed step, not a lost terminal.

    Linux refuses any one argv or environment string over 128 KiB, and the command is one
    ``sh -c`` argument; preflight refuses what it can see, this catches what only the
    run binds (a step's output in a template, a large env value).
    """
    longest = max((len(f"{k}={v}") for k, v in env.items()), default=0)
    return CommandResult(
        exit_code=126,
        stderr=(
            f"opsbooks: the kernel refused to start this command: argument list too long "
            f"(the command is {len(command.encode(errors='surrogateescape'))} bytes, the "
            f"longest environment entry {longest}; Linux allows 131072 for one). Pass "
            f"large values through a file."
        ),
        duration=duration,
    )
