"""Gate questions built from a plan, and the answers file that answers them ahead of time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from opsbooks.define.params import param_values
from opsbooks.errors import AnswersError
from opsbooks.plan.binding import Plan
from opsbooks.run.gates import GateRequest, coerce
from opsbooks.run.questions import RESUME_CHOICES, request_for, resume_request

__all__ = ["RESUME_CHOICES", "load_answers", "request_for", "resume_request", "validate_answers"]


def load_answers(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON mapping of gate id to answer; any problem is an AnswersError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnswersError(f"cannot read answers file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AnswersError(f"answers file {path} is not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except RecursionError:
        raise AnswersError(f"answers file {path} is nested too deeply to be answers") from None
    except (ValueError, yaml.YAMLError) as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        raise AnswersError(
            f"answers file {path} does not parse{where}: "
            f"{getattr(exc, 'problem', None) or exc}. It must be a YAML or JSON mapping of "
            f"gate id to answer, for example `approve_release: yes`."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise AnswersError(
            f"answers file {path} must be a mapping of gate id to answer, "
            f"got {type(data).__name__}."
        )
    return data


def validate_answers(plan: Plan, answers: Mapping[str, Any], source: str) -> None:
    """Refuse answers for unknown gates or of the wrong type before anything runs."""
    values = param_values(plan.params)
    askable = {p.id: p for p in plan.steps if request_for(p) is not None}
    problems = []
    for key, raw in answers.items():
        if not isinstance(raw, str | int | float | bool) and raw is not None:
            problems.append(
                f"{key}: an answer is one plain value (text, number or yes/no), "
                f"not a {type(raw).__name__}"
            )
            continue
        if key in ("resume:definition", "resume:superseded"):
            try:
                coerce(GateRequest(step_id=key, kind="confirm", prompt=""), raw)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
            continue
        if key.startswith("resume:"):
            step = key.removeprefix("resume:").removeprefix("undo:")
            if step not in plan.ids():
                problems.append(f"{key}: {plan.name} has no step {step!r}")
                continue
            try:
                coerce(resume_request(step, step), raw)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
            continue
        if key not in askable:
            known = ", ".join(sorted(askable)) or "(none)"
            problems.append(f"{key}: not a gate or manual step of {plan.name}; its gates: {known}")
            continue
        request = request_for(askable[key], values=values)
        assert request is not None
        try:
            coerce(request, raw)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise AnswersError(f"answers in {source} do not fit {plan.name}; nothing was run:\n{lines}")
