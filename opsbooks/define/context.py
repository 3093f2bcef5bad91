"""What a Python step, a callable check or a condition sees while a run is in progress."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsbooks.backends.protocols import CommandResult
    from opsbooks.define.params import Params


@dataclass
class StepContext:
    """Hands a step the run's params, earlier answers and outputs, and a way to run commands.

    ``run`` goes through the run's backend, so a Python step honours dry-run, the
    journal and redaction exactly as a ``Command`` does.
    """

    run_id: str
    step_id: str
    params: Params
    answers: Mapping[str, Any]
    #: name -> value; an output a remote step published is a mapping host -> value
    outputs: Mapping[str, Any]
    workdir: Path
    config: Mapping[str, Any]
    run: Callable[..., CommandResult]
    say: Callable[[str], None]
    extras: dict[str, Any] = field(default_factory=dict)
