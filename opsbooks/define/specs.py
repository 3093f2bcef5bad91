"""What a step binds to: the kind-specific, frozen record a planned step carries.

A step definition (``Command``, ``Gate``, a user's own kind) turns itself into a
``Binding`` for given values; the plan stores the binding's ``spec`` and every
consumer downstream (runner, executors, dry run, renderers) reads that record, never
the definition. Callables (a Python step's function, a callable check) are kept as
values: they are the step's behaviour, and ``describe`` says what they are in text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opsbooks.define.policies import Poll
from opsbooks.define.template import Bound


@dataclass(frozen=True)
class Binding:
    """A step bound to values: what runs (secret-bearing), what may be shown, and the spec."""

    command: Bound | None = None
    text: str | None = None
    spec: Any = None


@dataclass(frozen=True)
class NoSpec:
    """The spec of a kind with nothing beyond the common fields (e.g. ``Manual``)."""


@dataclass(frozen=True)
class CommandStepSpec:
    """A local command: where it runs, what it gets, which exit codes mean success."""

    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: str | None = None
    ok_codes: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class CheckSpec:
    """A ``Verify`` or ``WaitUntil`` check: a bound command, or a callable."""

    call: Callable[[Any], bool] | None = None
    expect: str = ""
    poll: Poll | None = None
    env: Mapping[str, str] = field(default_factory=dict)


GateMode = Literal["confirm", "ask", "choose"]


@dataclass(frozen=True)
class GateSpec:
    """A question to a person, with the rules its answer must meet."""

    mode: GateMode = "confirm"
    choices: tuple[str, ...] = ()
    answer_type: type | None = None
    pattern: str | None = None
    phrase: str | None = None
    default: Any = None
    timeout: float | None = None
    on_timeout: Literal["abort", "default"] = "abort"
    rollback_on_decline: bool = False
    secret: bool = False
    on_decline: Literal["stop", "skip"] = "stop"
    yes_default: bool = False
    #: signed approvals: the role whose members approve, how many, and four-eyes
    approvers: str | None = None
    quorum: int = 1
    four_eyes: bool = True


@dataclass(frozen=True)
class NotifySpec:
    """A message and the configured channel it goes to."""

    channel: str = "default"


@dataclass(frozen=True)
class BranchSpec:
    """Route to a later step by a param's value or an earlier gate's answer."""

    on: str = ""
    routes: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    #: (expression, target) pairs tried in order, instead of ``on``/``routes``
    cases: tuple[tuple[str, str], ...] = ()
    #: for the dry run: the case the params alone decide, as text (None: not known yet)
    decided: str | None = None


@dataclass(frozen=True)
class RemoteSpec:
    """A command (or a file copy) rolled out over a role's hosts.

    ``command`` keeps its templates unbound for ``{host.*}``: each host binds it.
    """

    role: str
    command: str
    transfer: Literal["", "upload", "download"] = ""
    local: str = ""
    remote: str = ""
    strategy: Literal["parallel", "serial", "batches"] = "serial"
    batch_size: int = 1
    max_failures: int | str = 0
    canary: bool = False
    pause_between_batches: bool = False
    workers: int = 10
    rollout: str = ""
    timeout_seconds: float | None = None
    #: per-host environment templates (bound per host, sent over the session)
    env: Mapping[str, str] = field(default_factory=dict)
    #: hosts by name (a comma list, bound from params) instead of ``role``
    hosts: str = ""
    #: the remote context: directory (a template, bound per host), umask, sudo user
    cwd: str | None = None
    umask: str | None = None
    become: str | None = None
    #: a timed wait between batches, in seconds (``pause_between_batches="30s"``)
    pause_seconds: float | None = None
    #: outputs each host publishes (``::output NAME=VALUE``), kept per host
    outputs: tuple[str, ...] = ()
    #: ``"verify"`` or ``"wait"`` for a check on hosts (``RemoteVerify``/``RemoteWait``)
    check: Literal["", "verify", "wait"] = ""
    expect: str = ""
    poll: Poll | None = None


@dataclass(frozen=True)
class PythonSpec:
    """A runbook method bound to its runbook instance: ``call(ctx)`` runs it."""

    call: Callable[[Any], str | None]
    name: str = ""
