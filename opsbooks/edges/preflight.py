"""Everything checked before any step runs: params, secrets, answers, kinds and hosts.

Whatever can be wrong with the input surfaces here as a ``BadInput`` subclass, so a
run that starts has its inputs in order.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsbooks.define.params import REDACTED, Params, secret_fields, validate_params
from opsbooks.define.runbook import Runbook
from opsbooks.define.specs import NotifySpec
from opsbooks.define.tables import config_table
from opsbooks.edges.answers import load_answers, validate_answers
from opsbooks.edges.config import Config
from opsbooks.edges.limits import check_utf8
from opsbooks.edges.requests import Surroundings
from opsbooks.errors import BadInput, ConfigError
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.state import StepStatus
from opsbooks.run.diagnosis import escalation_gaps
from opsbooks.run.execute import executor_for

if TYPE_CHECKING:
    from opsbooks.backends.ssh.pool import ConnectionPool


def bind_params(
    runbook: type[Runbook],
    given: Mapping[str, Any],
    config: Config,
    surroundings: Surroundings,
    *,
    recorded: Mapping[str, Any] | None = None,
) -> Params:
    """Config defaults, then recorded values (resume), then flags; secrets from env or ask."""
    fields = set(runbook.Params.model_fields)
    values: dict[str, Any] = {**config.param_defaults(runbook.name, fields), **(recorded or {})}
    values.update({k: v for k, v in given.items() if v is not None})
    for name in secret_fields(runbook.Params):
        if not _masked(values.get(name)):
            continue
        values.pop(name, None)
        from_env = surroundings.environ.get(f"OPSBOOKS_SECRET_{name.upper()}")
        if from_env:
            values[name] = _structured(runbook, name, from_env)
        elif recorded is not None and name in recorded:
            values[name] = _structured(runbook, name, _ask_secret(runbook, name, surroundings))
    check_utf8(runbook.name, values)
    return validate_params(runbook.name, runbook.Params, values)


def _masked(value: Any) -> bool:
    """Missing, or a mask a journal holds instead of a secret (never a value to use)."""
    if value is None:
        return True
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return any(_masked(item) for item in value)
    return isinstance(value, str) and value in (REDACTED, "**********")


def _structured(runbook: type[Runbook], name: str, raw: str) -> Any:
    """A container secret param takes JSON (``["a", "b"]``, ``{"k": "v"}``) from env or prompt."""
    annotation = repr(runbook.Params.model_fields[name].annotation)
    if raw[:1] in ("[", "{") and any(kind in annotation for kind in ("list[", "dict[", "tuple[")):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw


def _ask_secret(runbook: type[Runbook], name: str, surroundings: Surroundings) -> str:
    if not surroundings.is_interactive():
        raise BadInput(
            f"secret parameter {name!r} of {runbook.name} is never stored in the journal; "
            f"set OPSBOOKS_SECRET_{name.upper()} in the environment or resume from a terminal."
        )
    return getpass.getpass(f"{name} (secret, for {runbook.name}): ")


def has_remote_steps(bound: Plan) -> bool:
    """Whether the plan needs SSH (then, and only then, fabric and paramiko get imported)."""
    return bound.remote  # walked once per plan


def check_kinds(bound: Plan) -> None:
    """Every step's kind has an executor: a user's kind without one is bad input, now."""
    missing = sorted(kind for kind in bound.kinds() if executor_for(kind) is None)
    if missing:
        steps = [p.id for p in bound.all_steps() if p.kind in missing]
        raise BadInput(
            f"{bound.name}: step(s) {', '.join(steps)} are of kind "
            f"{', '.join(map(repr, missing))}, "
            f"which nothing can run; register an executor with opsbooks.register_step_kind "
            f"(see docs/architecture.md, 'Add a step kind')"
        )


def check_selected_outputs(
    bound: Plan, succeeded: Collection[str] = (), *, resuming: bool = False
) -> None:
    """A selected step whose command needs an output of a step the selection leaves out
    cannot run: bad input now, not a failure halfway (``succeeded``: steps that already
    published in this run, on resume). A note's output is never a reason."""
    publishers: dict[str, list[PlannedStep]] = {}
    for planned in bound.steps:
        for name in planned.outputs:
            publishers.setdefault(name, []).append(planned)
    for planned in bound.steps:
        if planned.skip_reason is not None:
            continue
        for name in planned.needs_outputs:
            found = publishers.get(name, [])
            if not found or any(p.skip_reason is None or p.id in succeeded for p in found):
                continue
            said = _left_out(bound, planned, name, found[0])
            kept = " A resume keeps the run's selection: start a new run with the fix."
            raise BadInput(said + (kept if resuming else ""))


def succeeded_steps(states: Mapping[str, StepStatus]) -> set[str]:
    """The steps of a run being resumed that succeeded: their outputs are published."""
    return {step_id for step_id, status in states.items() if status is StepStatus.SUCCEEDED}


def _left_out(bound: Plan, planned: PlannedStep, name: str, source: PlannedStep) -> str:
    reason = source.skip_reason or ""
    if "--only-tags" in reason:
        tags = ",".join([*bound.only_tags, *source.tags[:1]])
        fix = (
            f"add --only-tags {tags}"
            if source.tags
            else f"add one of the tags {', '.join(bound.only_tags)} to {source.id!r}"
            f" (tags=...) or run without --only-tags"
        )
    elif "--skip-tags" in reason:
        fix = f"drop the tags of {source.id!r} from --skip-tags"
    elif "--start-at" in reason:
        fix = f"start at {source.id} or earlier (--start-at {source.id})"
    else:
        fix = f"do not --skip {source.id}"
    return (
        f"{bound.name}: step {planned.id!r} needs output {name!r}, which step {source.id!r} "
        f"publishes, but {source.id!r} is left out of this run ({reason}); {fix}. "
        f"Nothing has run."
    )


def check_hosts(bound: Plan, config: Config) -> dict[str, list[str]]:
    """Resolve remote roles, key files and host vars now, not halfway through a run."""
    if not has_remote_steps(bound):
        return {}
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.run.remote_steps import preflight

    if not config.hosts:
        raise BadInput(
            f"{bound.name} has remote steps but no hosts are configured; add a [hosts] table "
            f"to {config.source} (see docs/guides/remote-hosts.md)"
        )
    return preflight(bound, Inventory.from_config(config))


def answers_for(path: Path | None, surroundings: Surroundings, bound: Plan) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if path is not None:
        answers.update(load_answers(path))
        validate_answers(bound, answers, str(path))
    if surroundings.scripted:
        validate_answers(bound, surroundings.scripted, "the scripted answers")
        answers.update(surroundings.scripted)
    return answers


def check_reachable(
    bound: Plan, config: Config, surroundings: Surroundings
) -> ConnectionPool | None:
    """An unreachable host is bad input: say so before any step runs.

    Returns the probe's open SSH connections (None without remote steps, or with fake
    hosts), for the run's steps to use rather than connect again; close it at the end.
    """
    if not has_remote_steps(bound):
        return None
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.run.remote_steps import check_reachable

    inventory = Inventory.from_config(config)
    fakes = surroundings.hosts
    if fakes is not None:
        found = check_reachable(bound, inventory, executor_factory=lambda _: fakes)
        kept = None
    else:
        from opsbooks.backends.ssh.executor import RemoteExecutor
        from opsbooks.backends.ssh.pool import ConnectionPool

        kept = ConnectionPool()
        try:
            found = check_reachable(
                bound, inventory, executor_factory=lambda i: RemoteExecutor(i, pool=kept)
            )
        except BaseException:
            kept.close()
            raise
    for warning in found:
        surroundings.stdout.write(f"  note: {warning}\n")
    return kept


def unconfigured_channels(bound: Plan, config: Config) -> str | None:
    """The paragraph for ``Notify`` steps whose channel is not in ``[notify]`` (None: all
    are; ``default`` always is). Steps this run leaves out are not counted."""
    configured = {"default", *config.notify}
    missing: dict[str, list[str]] = {}
    for planned in [*bound.steps, *bound.compensations.values()]:
        spec = planned.spec
        if (
            isinstance(spec, NotifySpec)
            and not planned.skip_reason
            and spec.channel not in configured
        ):
            missing.setdefault(spec.channel, []).append(planned.id)
    if not missing:
        return None
    steps = "; ".join(
        f"step{'s' if len(ids) > 1 else ''} {', '.join(map(repr, ids))} "
        f"send{'' if len(ids) > 1 else 's'} to {channel!r}"
        for channel, ids in missing.items()
    )
    first = next(iter(missing))
    table = config_table(f"notify.{first}", config.source)
    return (
        f"{bound.name}: notify channel(s) not configured: {steps} (configured: "
        f"{', '.join(sorted(configured))}). Add each to your config before running, e.g. "
        f'{table} with `type = "stdout"` (or `type = "file"` and `path = "pages.log"`) as a '
        f'quick fix, or `type = "webhook"` and `url = "https://..."` to page for real '
        f"(see docs/guides/configuration.md#notify)."
    )


def check_channels(
    bound: Plan, config: Config, surroundings: Surroundings, *, dry_run: bool = False
) -> None:
    """Refuse a run whose ``Notify`` steps name an unconfigured channel (a dry run is
    warned instead), and note escalation leaves whose level has no contact."""
    notes = [escalation_gaps(bound, {"contacts": config.contacts.model_dump()}, config.source)]
    problem = unconfigured_channels(bound, config)
    if problem is not None and not dry_run:
        raise ConfigError(f"{problem} Nothing has run.")
    if problem is not None:
        notes.insert(0, f"{problem} A real run refuses to start until they are.")
    for note in filter(None, notes):
        surroundings.stdout.write(f"  note: {note}\n")
