"""Definition checks for the expression language and for what templates can name.

Called from ``opsbooks.define.checks.validate``: every name an expression or a template
uses must exist when the runbook class is defined (a param, a gate's answer, an
output an earlier step promises), a brace group that looks like a mistyped
placeholder gets the fix, and a secret gate's answer never reaches a command line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsbooks.define.conditions import compile_when
from opsbooks.define.decisions import BAD_CASES, Branch, Gate
from opsbooks.define.expressions import ExpressionError, Name, Node, names, parse
from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.steps import PythonStep, Step
from opsbooks.define.template import ANSWERS, RUN_ID, RUNBOOK, near_misses, scan
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook

#: roots a template may use besides params (``host`` only on steps that run on hosts)
LATE_ROOTS = frozenset({ANSWERS, RUN_ID, RUNBOOK})
_ON_HOSTS = ("remote", "upload", "download", "remote_verify", "remote_wait")
_ALSO = "{outputs.NAME}, {answers.GATE_ID}, {run_id}, {runbook}"


@dataclass(frozen=True)
class _Known:
    """What the runbook defines, as seen from one step: names usable there."""

    params: frozenset[str]
    gates: frozenset[str]  # gates defined before the step (every gate, for an undo)
    all_gates: frozenset[str]
    secret_gates: frozenset[str]
    outputs: frozenset[str]  # outputs promised before the step (every one, for an undo)

    def listing(self) -> str:
        found = sorted(self.params) + [f"answers.{g}" for g in sorted(self.gates)]
        found += [f"outputs.{o}" for o in sorted(self.outputs)]
        return ", ".join(found) or "none"


def _known(cls: type[Runbook], item: Step) -> _Known:
    every = [*cls.steps, *cls.compensations.values()]
    forward = list(cls.steps)
    at = next((i for i, step in enumerate(forward) if step is item), len(forward))
    before = forward[:at]  # an undo (not a forward step) may use every gate and output
    gates = [s for s in every if isinstance(s, Gate)]
    promised: set[str] = set()
    for step in before:
        promised |= set(step.outputs) | ({step.id} if isinstance(step, PythonStep) else set())
    return _Known(
        params=frozenset(cls.Params.model_fields),
        gates=frozenset(s.id for s in before if isinstance(s, Gate)),
        all_gates=frozenset(s.id for s in gates),
        secret_gates=frozenset(s.id for s in gates if s.secret),
        outputs=frozenset(promised),
    )


def check_case_shapes(cls: type[Runbook]) -> None:
    """Every ``Branch(cases=...)`` entry is an (expression, step id) pair: said before
    anything reads the cases, naming the runbook and the branch."""
    for item in [*cls.steps, *cls.compensations.values()]:
        bad = getattr(item, BAD_CASES, ())
        if isinstance(item, Branch) and bad:
            raise DefinitionError(
                cls.name,
                f"Branch(cases=...) entry {bad[0]!r} is not a pair; write each case as "
                f'(EXPRESSION, STEP_ID), as in cases=[("rate > 1", "watch")], or a dict '
                f'{{"rate > 1": "watch"}}',
                step=item.id,
            )


def check_conditions(cls: type[Runbook], item: Step) -> None:
    """``when=`` and ``Branch(cases=...)``: readable, and every name defined earlier."""
    if isinstance(item, Branch):
        _check_cases(cls, item)
    if item.when is None or callable(item.when):
        return
    known = _known(cls, item)
    try:
        node = compile_when(item.when, known.params | known.all_gates)
    except ExpressionError as exc:
        raise DefinitionError(cls.name, f"when={item.when!r}: {exc}", step=item.id) from None
    _check_names(cls, item, f"when={item.when!r}", node, known)


def _check_cases(cls: type[Runbook], item: Branch) -> None:
    if item.case_pairs and (item.on or item.routes):
        raise DefinitionError(
            cls.name,
            "a branch routes either on= a value (with routes=) or by cases=, not both; "
            "drop one of them",
            step=item.id,
        )
    if not item.case_pairs and not item.on:
        raise DefinitionError(
            cls.name,
            'a branch needs on= and routes=, or cases=[("error_rate > 5", "rollback"), ...]',
            step=item.id,
        )
    known = _known(cls, item)
    for expr, _target in item.case_pairs:
        try:
            node = parse(expr)
        except ExpressionError as exc:
            raise DefinitionError(cls.name, f"case {expr!r}: {exc}", step=item.id) from None
        _check_names(cls, item, f"case {expr!r}", node, known)


def _check_names(cls: type[Runbook], item: Step, where: str, node: Node, known: _Known) -> None:
    for name in names(node):
        problem = _problem(name, known)
        if problem:
            raise DefinitionError(cls.name, f"{where} names {name.text!r}, {problem}", step=item.id)


def _problem(name: Name, known: _Known) -> str:
    """Why ``name`` cannot be used here ('' when it can), with the names that can."""
    listing = f"; known names: {known.listing()}"
    if name.scope == "params" and name.key not in known.params:
        return f"which is not a parameter{listing}"
    if name.scope == "answers" and name.key not in known.gates:
        later = name.key in known.all_gates
        why = "a gate that comes later (answers exist only once asked)" if later else "no gate"
        return f"which is {why}{listing}"
    if name.scope == "outputs" and name.key not in known.outputs:
        return (
            f"which no earlier step declares{listing}. Add outputs=({name.key!r},) to the "
            f"step that prints `::output {name.key}=...`"
        )
    if not name.scope and name.key in known.all_gates - known.gates - known.params:
        return f"which is a gate that comes later (answers exist only once asked){listing}"
    if not name.scope and name.key not in known.params | known.all_gates:
        return (
            f"which is neither a parameter nor a gate of this runbook{listing}; to mean "
            f'the text {name.key!r}, quote it: "{name.key}"'
        )
    return ""


def check_placeholders(cls: type[Runbook], item: Step) -> None:
    """Near misses (``{ outputs.x }``, ``{answer.x}``), answers of gates, secret answers."""
    known = _known(cls, item)
    roots = set(known.params) | {OUTPUTS_ROOT} | LATE_ROOTS
    roots |= {"host"} if item.kind in _ON_HOSTS or getattr(item, "role", None) else set()
    for template in _templates(item):
        _near_misses(cls, item, template, roots)
        for _, found in scan(template):
            if found is not None:
                _check_field(cls, item, template, found.name, roots, known)
    _check_secret_answers(cls, item, known)


def _check_field(
    cls: type[Runbook], item: Step, template: str, field: str, roots: set[str], known: _Known
) -> None:
    root, _, rest = field.partition(".")
    if root not in roots:
        _unknown_root(cls, item, template, field, roots, known)
    problem = ""
    if root == ANSWERS:
        _check_answer(cls, item, template, rest, known)
    elif root == OUTPUTS_ROOT and template == item.title:  # other templates: checks.py
        problem = _problem(Name(OUTPUTS_ROOT, rest.split(".")[0]), known)
    elif root in (RUN_ID, RUNBOOK) and rest and root not in known.params:
        problem = f"but {{{root}}} has no parts; write {{{root}}}"
    if problem:
        raise DefinitionError(
            cls.name, f"template {template!r} uses {{{field}}}, {problem}", step=item.id
        )


def _templates(item: Step) -> list[str]:
    note = getattr(item, "note", None)
    return [t for t in [*item.templates(), note, item.title] if isinstance(t, str) and t]


def _near_misses(cls: type[Runbook], item: Step, template: str, roots: set[str]) -> None:
    lowered = {r.lower(): r for r in roots}
    for text, word in near_misses(template):
        root = word.split(".")[0]
        if root not in roots and root.lower() not in lowered:
            continue  # shell text that merely looks like one ({print $1}, { a; b; })
        meant = lowered.get(root.lower(), root) + word[len(root) :]
        if not text.endswith("}"):
            fix = f"{text!r} is not closed; write {{{meant}}}"
        elif meant.endswith("."):
            fix = f"{text!r} names nothing after the dot; write {{{meant}NAME}}"
        else:
            fix = f"{text!r} has spaces inside the braces; write {{{meant.strip()}}}"
        raise DefinitionError(
            cls.name,
            f"in {template!r}, {fix} (or write {{{{ and }}}} for literal braces)",
            step=item.id,
        )


def host_outside_hosts(cls: type[Runbook], item: Step, template: str) -> DefinitionError:
    """``{host.*}`` on a step that runs locally: not a missing parameter, a wrong place."""
    return DefinitionError(
        cls.name,
        f"template {template!r} uses {{host.*}}, which exists only in steps that run on "
        f"hosts (Remote, RemoteVerify, RemoteWait, Upload, Download); this {item.kind} "
        f"step runs locally, so there is no host to name: move the text to a step on "
        f"hosts, or use a parameter instead",
        step=item.id,
    )


def _unknown_root(
    cls: type[Runbook], item: Step, template: str, field: str, roots: set[str], known: _Known
) -> None:
    root = field.split(".")[0]
    close = [r for r in roots if r.lower() == root.lower()]
    close = close or difflib.get_close_matches(root, sorted(roots), n=1, cutoff=0.75)
    hint = f" Did you mean {{{close[0]}{field[len(root) :]}}}?" if close else ""
    if root == "host":
        raise host_outside_hosts(cls, item, template)
    params = ", ".join(sorted(known.params)) or "none"
    raise DefinitionError(
        cls.name,
        f"template {template!r} refers to unknown parameter {{{root}}}; known parameters: "
        f"{params} (a template can also name {_ALSO}).{hint} Add it to Params or fix the "
        f"name.",
        step=item.id,
    )


def _check_answer(cls: type[Runbook], item: Step, template: str, rest: str, known: _Known) -> None:
    gate = rest  # a gate in a section has a dotted id
    if not gate:
        raise DefinitionError(
            cls.name,
            f"in {template!r}, name one gate's answer, as in {{answers.approve}}",
            step=item.id,
        )
    if gate not in known.gates:
        problem = _problem(Name(ANSWERS, gate), known)
        raise DefinitionError(
            cls.name, f"template {template!r} uses {{answers.{gate}}}, {problem}", step=item.id
        )


def _command_templates(item: Step) -> Iterable[str]:
    """Templates that become a command line (argv, ``sh -c``'s string, or a ``cd``)."""
    attr = {"command": "command", "remote": "command", "verify": "check", "wait": "check"}
    command: Any = getattr(item, attr.get(item.kind, ""), None)
    if isinstance(command, str):
        yield command
    elif isinstance(command, tuple | list):
        yield from (str(part) for part in command)
    cwd = getattr(item, "cwd", None)
    if isinstance(cwd, str):
        yield cwd


def _check_secret_answers(cls: type[Runbook], item: Step, known: _Known) -> None:
    """A secret gate's answer is a secret like a ``SecretStr`` param: never on an argv."""
    for template in _command_templates(item):
        for _, found in scan(template):
            root, _, rest = found.name.partition(".") if found else ("", "", "")
            gate = _secret_gate(rest, known.secret_gates)
            if root == ANSWERS and gate is not None:
                var = gate.rpartition(".")[2].upper()
                raise DefinitionError(
                    cls.name,
                    f"secret {{{found.name if found else ''}}} would be on the command line "
                    f"{template!r}, where every user of the machine can read it; pass it in "
                    f'the environment instead (env={{"{var}": "{{answers.{rest}}}"}} and read '
                    f"${var} in the command), or on stdin",
                    step=item.id,
                )


def _secret_gate(rest: str, secret_gates: frozenset[str]) -> str | None:
    """The secret gate ``answers.REST`` names, if any: a gate in a section has a dotted
    id (``vault.token``), so each leading part of ``rest`` is tried, longest first."""
    parts = rest.split(".")
    for size in range(len(parts), 0, -1):
        if ".".join(parts[:size]) in secret_gates:
            return ".".join(parts[:size])
    return None
