"""Definition checks of remote steps' targets, context, pauses and per-host outputs.

Called from ``define.checks.validate``; each problem is a ``DefinitionError`` naming
the runbook, the step and the fix, raised when the class is defined.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from opsbooks.define.outputs import used as used_outputs
from opsbooks.define.params import secret_fields
from opsbooks.define.remote import Remote
from opsbooks.define.template import TemplateError, roots
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook

_UMASK = re.compile(r"0?[0-7]{3}")
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def check_remote_context(cls: type[Runbook], item: Remote) -> None:
    """Targets (``role``/``hosts``), ``cwd``, ``umask``, ``become`` and the batch pause."""
    _check_targets(cls, item)
    fail = _failing(cls, item)
    if item.transfer and (item.cwd or item.umask or item.become):
        fail(
            f"cwd=, umask= and become= do not apply to a file copy ({item.kind}); give "
            f"absolute paths and set modes with a Remote step after it"
        )
    if item.transfer and item.outputs:
        fail(f"a file copy ({item.kind}) prints nothing to read outputs from; drop outputs=")
    if item.umask is not None and not _UMASK.fullmatch(str(item.umask)):
        fail(f"umask={item.umask!r} is not an octal mask; write it like '022' or '077'")
    if item.become is not None and not _USER.fullmatch(str(item.become)):
        fail(f"become={item.become!r} is not a user name; write become='root'")
    secrets = secret_fields(cls.Params)
    leaked = sorted(_roots(cls, item, item.cwd or "") & secrets)
    if leaked:
        fail(
            f"secret {{{leaked[0]}}} in cwd= would be on the remote command line; "
            f"pass it in env= instead"
        )
    if item.kind != "remote":  # checks.py covers "remote"; other kinds on hosts here
        command_leak = sorted(_roots(cls, item, item.command) & secrets)
        if command_leak:
            name = command_leak[0]
            fail(
                f"secret {{{name}}} would be on the command line {item.command!r}; pass "
                f'it in the environment (env={{"{name.upper()}": "{{{name}}}"}}) instead'
            )
    _check_pause(cls, item)


def check_host_outputs(cls: type[Runbook]) -> None:
    """An output a remote step sets has a value per host: only steps on hosts bind it.

    A local step's template cannot name it (which host's value?); a ``@step`` reads
    ``ctx.outputs[NAME]``, a mapping of host name to value.
    """
    per_host: dict[str, str] = {}
    for item in [*cls.steps, *cls.compensations.values()]:
        if isinstance(item, Remote):
            per_host.update({name: item.id for name in item.outputs})
    if not per_host:
        return
    for item in [*cls.steps, *cls.compensations.values()]:
        if isinstance(item, Remote):
            continue
        try:
            names = used_outputs(item.templates())
        except TemplateError:
            continue  # reported by the general output check
        for name in names:
            if name in per_host:
                raise DefinitionError(
                    cls.name,
                    f"{{outputs.{name}}} has one value per host (set by remote step "
                    f"{per_host[name]!r}), so a local step cannot bind it; use it in a "
                    f"later Remote step on those hosts, or read ctx.outputs[{name!r}] "
                    f"(host name -> value) in a @step",
                    step=item.id,
                )


def _check_targets(cls: type[Runbook], item: Remote) -> None:
    fail = _failing(cls, item)
    if bool(item.role) == bool(item.hosts):
        fail(
            "give exactly one of role= (an inventory role, e.g. role='web' or "
            "role='{target_role}') and hosts= (a comma list of host names, e.g. "
            "hosts='{hosts}')"
        )
    params = set(cls.Params.model_fields)
    for keyword, template in (("role", item.role), ("hosts", item.hosts)):
        unknown = sorted(_roots(cls, item, template) - params)
        if unknown:
            known = ", ".join(sorted(params)) or "none"
            fail(
                f"{keyword}={template!r} names {{{unknown[0]}}}, which is not a parameter "
                f"(the target is chosen before any step runs, from params only); known "
                f"parameters: {known}"
            )


def _check_pause(cls: type[Runbook], item: Remote) -> None:
    pause = item.pause_between_batches
    if isinstance(pause, bool):
        return
    try:
        wait = item.pause_seconds
    except (TypeError, ValueError):
        wait = None
    if wait is None or wait <= 0:
        _failing(cls, item)(
            f"pause_between_batches={pause!r}: give True (an operator confirms between "
            f"batches) or a duration like '30s' or '5m'"
        )


def _roots(cls: type[Runbook], item: Remote, template: str) -> set[str]:
    try:
        return roots(template)
    except TemplateError as exc:
        raise DefinitionError(cls.name, str(exc), step=item.id) from None


def _failing(cls: type[Runbook], item: Remote) -> Callable[[str], NoReturn]:
    def fail(message: str) -> NoReturn:
        raise DefinitionError(cls.name, message, step=item.id)

    return fail
