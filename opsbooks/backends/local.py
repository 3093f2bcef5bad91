"""Run commands on this machine through invoke, killing the whole process group on timeout.

invoke's ``Local`` runner kills only the shell it started; a grandchild that keeps
the output pipe open then hangs the run. Starting each command in its own session
and killing the group fixes that. Commands get ``/dev/null`` as stdin unless the
step supplies input. This is the only module that imports invoke's runners.
"""

from __future__ import annotations

import io
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Mapping
from subprocess import DEVNULL, PIPE, Popen
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
