"""Per-host outputs: what each host of a ``Remote(..., outputs=("n",))`` step printed.

Each host prints ``::output n=VALUE``; the value is kept per host (the peer's
``capture_all``). A later remote step binds ``{outputs.n}`` to the value of the host
it runs on; a ``@step`` reads ``ctx.outputs["n"]`` as a mapping host -> value. Values
are journaled with the step (``detail["host_outputs"]``, redacted), also when the step
failed on other hosts, so a resume that skips the hosts already done still knows
their values. A value that contains a secret is tainted: never stored, never bound
from the journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from opsbooks.define import outputs
from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.params import Params
from opsbooks.define.specs import RemoteSpec
from opsbooks.plan.binding import PlannedStep, check_needed, with_outputs
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState

if TYPE_CHECKING:
    from opsbooks.backends.rollout import HostResult
    from opsbooks.records.journal import Transition
    from opsbooks.records.redaction import Redactor

#: the journal detail key: {output name: {host name: value}}
HOST_OUTPUTS = "host_outputs"


def per_host(planned: PlannedStep) -> bool:
    """Whether ``planned`` publishes outputs per host (a remote step declaring outputs)."""
    return isinstance(planned.spec, RemoteSpec) and bool(planned.spec.outputs)


def values_for(host: str, base: Mapping[str, Any], run: RunState) -> dict[str, Any]:
    """``base`` (params) with ``{outputs.*}`` as ``host`` sees them: its own values win."""
    own = {name: hosts[host] for name, hosts in run.host_outputs.items() if host in hosts}
    return {**base, OUTPUTS_ROOT: {**run.outputs, **own}}


def missing_for(host: str, names: Iterable[str], run: RunState) -> list[str]:
    """Per-host outputs ``names`` (used by a step) that ``host`` has no value of."""
    return [n for n in names if n in run.host_outputs and host not in run.host_outputs[n]]


def collect(declared: tuple[str, ...], result: HostResult) -> tuple[HostResult, dict[str, str]]:
    """The declared outputs one host printed; a host that printed one of them not fails."""
    if not declared or not result.ok:
        return result, {}
    lines = outputs.parse(result.stdout or result.stdout_tail)
    found = {name: lines[name] for name in declared if name in lines}
    absent = [name for name in declared if name not in found]
    if absent:
        why = (
            f"the step declares output {absent[0]!r} but {result.host} printed no line "
            f"`::output {absent[0]}=VALUE`"
        )
        return replace(result, status="failed", error=why, error_kind="error"), {}
    return result, found


def publish(run: RunState, result: StepResult, redactor: Redactor) -> StepResult:
    """Keep each host's outputs in ``run`` and put them, redacted, in the step's detail."""
    found = result.host_published
    if not found:
        return result
    shown: dict[str, dict[str, str]] = {}
    tainted: set[str] = set()
    for host, values in found.items():
        for name, value in values.items():
            if redactor.tainted(value):  # derived from a secret: a secret from now on
                redactor.add(value)
                tainted.add(name)
            run.host_outputs.setdefault(name, {})[host] = value
            shown.setdefault(name, {})[host] = redactor.text(value)
    detail: dict[str, Any] = {**result.detail, HOST_OUTPUTS: shown}
    if tainted:
        detail[outputs.TAINTED] = sorted(tainted)
    return replace(result, detail=detail)


def replay(transitions: Iterable[Transition]) -> dict[str, dict[str, str]]:
    """Per-host outputs journaled by earlier attempts of this run, later ones winning."""
    found: dict[str, dict[str, str]] = {}
    for transition in transitions:
        values = transition.detail.get(HOST_OUTPUTS)
        if not isinstance(values, dict):
            continue
        masked = outputs.tainted([transition.detail])
        for name, hosts in values.items():
            if isinstance(hosts, dict) and name not in masked:
                found.setdefault(str(name), {}).update({str(h): str(v) for h, v in hosts.items()})
    return found


def bound(planned: PlannedStep, params: Params | None, run: RunState) -> PlannedStep:
    """``with_outputs`` that knows per-host outputs: a step on hosts that uses one keeps
    its planned text (each host binds its own value when it runs there)."""
    hosts_only = [name for name in planned.uses_outputs if name in run.host_outputs]
    if not hosts_only:
        return with_outputs(planned, params, run.outputs, run=run)
    check_needed(planned, run.host_outputs, run.outputs)
    return planned


def for_context(run: RunState) -> dict[str, Any]:
    """What ``ctx.outputs`` holds: plain outputs, and per-host ones as host -> value."""
    return {**run.outputs, **{name: dict(hosts) for name, hosts in run.host_outputs.items()}}
