"""The remote step kinds: a command, an upload or a download on every host of a role.

Where a step runs is ``role=`` or ``hosts=`` (a comma list of inventory names); either
may be a template over params (``role="{target_role}"``), bound when the run is
planned and checked against the inventory before any step runs. How it runs on each
host is its *context*: ``cwd``, ``umask``, ``env`` (sent over the session's stdin,
never on any command line) and ``become`` (``sudo`` to that user).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from opsbooks.define.policies import Poll, human, seconds
from opsbooks.define.specs import Binding, RemoteSpec
from opsbooks.define.steps import Step, bind_command
from opsbooks.define.template import bind

Strategy = Literal["parallel", "serial", "batches"]


@dataclass(frozen=True)
class Remote(Step):
    """Run a command on every host of a role, rolling out by ``strategy``.

    ``max_failures`` is a count (``1``) or a share of hosts (``"25%"``); ``workers``
    caps how many hosts run at the same time in any strategy (SSH connections are
    not free, and a fleet of 500 should not be hit at once).
    """

    kind: ClassVar[str] = "remote"

    command: str
    #: the inventory role to run on (a template over params: ``"{target_role}"``)
    role: str = field(default="", kw_only=True)
    #: or the hosts by name, a comma list (a template: ``"{hosts}"``); not with ``role``
    hosts: str = field(default="", kw_only=True)
    strategy: Strategy = field(default="serial", kw_only=True)
    batch_size: int = field(default=1, kw_only=True)
    max_failures: int | str = field(default=0, kw_only=True)
    canary: bool = field(default=False, kw_only=True)
    #: ``True``: an operator confirms between batches; a duration (``"30s"``): a timed wait
    pause_between_batches: bool | str | float = field(default=False, kw_only=True)
    workers: int = field(default=10, kw_only=True)
    #: variables the command sees on each host, sent over the session, never on argv:
    #: the way to hand a host a secret (``env={"TOKEN": "{token}"}``, read ``$TOKEN``)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    #: the directory the command runs in on each host (a template over params, host)
    cwd: str | None = field(default=None, kw_only=True)
    #: the file mode mask the command runs with, in octal (``"077"``)
    umask: str | None = field(default=None, kw_only=True)
    #: run as this user through ``sudo`` (non-interactive, or the run's sudo password)
    become: str | None = field(default=None, kw_only=True)

    def templates(self) -> list[str]:
        return [self.command, *self.env.values(), *([self.cwd] if self.cwd else [])]

    def target_templates(self) -> list[str]:
        """``role`` and ``hosts``: bound from params only, when the run is planned."""
        return [t for t in (self.role, self.hosts) if t]

    transfer: ClassVar[str] = ""

    @property
    def pause_seconds(self) -> float | None:
        """The timed wait between batches, if ``pause_between_batches`` is a duration."""
        pause = self.pause_between_batches
        return None if isinstance(pause, bool) else seconds(pause)

    def shape(self) -> dict[str, Any]:
        """The new keywords, only when set: a step that uses none keeps its fingerprint."""
        shape: dict[str, Any] = {}
        for name in ("hosts", "cwd", "umask", "become"):
            if getattr(self, name):
                shape[name] = getattr(self, name)
        if "{" in self.role:
            shape["role"] = self.role
        if self.pause_seconds is not None:
            shape["pause_between_batches"] = self.pause_seconds
        return shape

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        spec = RemoteSpec(
            role=bind(self.role, values, shell=False).text,
            command=self.command,
            transfer=self.transfer,  # type: ignore[arg-type]
            local=getattr(self, "local", ""),
            remote=getattr(self, "remote", ""),
            strategy=self.strategy,
            batch_size=self.batch_size,
            max_failures=self.max_failures,
            canary=self.canary,
            pause_between_batches=self.pause_between_batches is True,
            workers=self.workers,
            rollout=self.describe_rollout(),
            timeout_seconds=self.timeout_seconds,
            env=dict(self.env),
            hosts=bind(self.hosts, values, shell=False).text,
            cwd=self.cwd,
            umask=self.umask,
            become=self.become,
            pause_seconds=self.pause_seconds,
            outputs=tuple(self.outputs),
            **self.check_spec(values),
        )
        return Binding(command=bind_command(self.command, values), spec=spec)

    def check_spec(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """What a check on hosts adds to the spec (``RemoteVerify``, ``RemoteWait``)."""
        return {}

    def describe_rollout(self) -> str:
        how = {
            "parallel": f"all hosts at once, at most {self.workers} at a time",
            "serial": "one host at a time",
            "batches": f"batches of {self.batch_size}"
            + (f", at most {self.workers} at a time" if self.batch_size > self.workers else ""),
        }[self.strategy]
        limit = str(self.max_failures).strip()
        if limit == "0":
            tolerated = "any host fails"
        elif limit.endswith("%"):
            tolerated = f"more than {limit} of the hosts fail"
        else:
            tolerated = f"more than {limit} host(s) fail"
        extras = [f"stop when {tolerated}"]
        if self.canary:
            extras.insert(0, "canary host first")
        if self.pause_seconds is not None:
            extras.append(f"waits {human(self.pause_seconds)} between batches")
        elif self.pause_between_batches:
            extras.append("operator confirms between batches")
        return f"{how}; " + "; ".join(extras)


@dataclass(frozen=True)
class Upload(Remote):
    """Copy a local file to every host of a role over SFTP, rolling out like ``Remote``.

    ``local`` and ``remote`` are templates over params and ``{host.*}``; ``command``
    is derived from them so docs and dry-run show what the step does.
    """

    kind: ClassVar[str] = "upload"
    transfer: ClassVar[str] = "upload"

    command: str = field(init=False, default="")
    local: str
    remote: str

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "command", f"upload {self.local} to {self.remote}")

    def templates(self) -> list[str]:
        return [self.local, self.remote]


@dataclass(frozen=True)
class Download(Remote):
    """Copy a file from every host of a role to this machine over SFTP.

    ``local`` must use ``{host.name}`` (or another ``{host.*}`` field) so each host's
    copy lands in its own file.
    """

    kind: ClassVar[str] = "download"
    transfer: ClassVar[str] = "download"

    command: str = field(init=False, default="")
    remote: str
    local: str

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "command", f"download {self.remote} to {self.local}")

    def templates(self) -> list[str]:
        return [self.remote, self.local]


@dataclass(frozen=True)
class RemoteVerify(Remote):
    """Check on every host that something holds (the command exits 0), all hosts at once.

    Each host's result is journaled like a ``Remote`` host's; the step fails if the
    check fails on more hosts than ``max_failures`` tolerates. A check is read-only:
    on resume it runs again on every host, never skipping the ones that passed.
    """

    kind: ClassVar[str] = "remote_verify"

    strategy: Strategy = field(default="parallel", kw_only=True)
    expect: str = field(default="", kw_only=True)

    def templates(self) -> list[str]:
        return [*super().templates(), *([self.expect] if self.expect else [])]

    def check_spec(self, values: Mapping[str, Any]) -> dict[str, Any]:
        expect = bind(self.expect, values, shell=False).shown if self.expect else ""
        return {"check": "verify", "expect": expect}


@dataclass(frozen=True)
class RemoteWait(Remote):
    """Poll a check on every host until it holds there, or ``poll.timeout`` runs out.

    Each host is polled on its own (a host that is ready does not wait for the others);
    the waits go through the run's clock, so a drill's fake clock makes them instant.
    """

    kind: ClassVar[str] = "remote_wait"

    strategy: Strategy = field(default="parallel", kw_only=True)
    poll: Poll = field(default_factory=Poll, kw_only=True)

    def shape(self) -> dict[str, Any]:
        return {**super().shape(), "poll": self.poll.describe()}

    def check_spec(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {"check": "wait", "poll": self.poll}
