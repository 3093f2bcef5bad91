"""Everything checked before any step runs: params, secrets, answers, kinds and hosts.

Whatever can be wrong with the input surfaces here as a ``BadInput`` subclass, so a
run that starts has its inputs in order.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsbooks.define.params import REDACTED, Params, secret_fields, validate_params
from opsbooks.define.runbook import Runbook
from opsbooks.define.specs import RemoteSpec
from opsbooks.edges.answers import load_answers, validate_answers
from opsbooks.edges.config import Config
from opsbooks.edges.requests import Surroundings
from opsbooks.errors import BadInput
from opsbooks.plan.binding import Plan
from opsbooks.run.execute import executor_for


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
    return any(isinstance(p.spec, RemoteSpec) for p in bound.all_steps())


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


def check_reachable(bound: Plan, config: Config, surroundings: Surroundings) -> None:
    """An unreachable host is bad input: say so before any step runs."""
    if not has_remote_steps(bound):
        return
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.run.remote_steps import check_reachable

    for warning in check_reachable(bound, Inventory.from_config(config)):
        surroundings.stdout.write(f"  note: unreachable host {warning}\n")
