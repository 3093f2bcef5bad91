"""The remote step kinds: a command, an upload or a download on every host of a role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from opsbooks.define.specs import Binding, RemoteSpec
from opsbooks.define.steps import Step, bind_command

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
    role: str = field(kw_only=True)
    strategy: Strategy = field(default="serial", kw_only=True)
    batch_size: int = field(default=1, kw_only=True)
    max_failures: int | str = field(default=0, kw_only=True)
    canary: bool = field(default=False, kw_only=True)
    pause_between_batches: bool = field(default=False, kw_only=True)
    workers: int = field(default=10, kw_only=True)
    #: variables the command sees on each host, sent over the session, never on argv:
    #: the way to hand a host a secret (``env={"TOKEN": "{token}"}``, read ``$TOKEN``)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def templates(self) -> list[str]:
        return [self.command, *self.env.values()]

    transfer: ClassVar[str] = ""

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        spec = RemoteSpec(
            role=self.role,
            command=self.command,
            transfer=self.transfer,  # type: ignore[arg-type]
            local=getattr(self, "local", ""),
            remote=getattr(self, "remote", ""),
            strategy=self.strategy,
            batch_size=self.batch_size,
            max_failures=self.max_failures,
            canary=self.canary,
            pause_between_batches=self.pause_between_batches,
            workers=self.workers,
            rollout=self.describe_rollout(),
            timeout_seconds=self.timeout_seconds,
            env=dict(self.env),
        )
        return Binding(command=bind_command(self.command, values), spec=spec)

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
        if self.pause_between_batches:
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
