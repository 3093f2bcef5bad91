"""opsbooks: executable runbooks. One class runs the procedure and renders its docs."""

from __future__ import annotations

from pydantic import Field, SecretStr

from opsbooks.define.context import StepContext
from opsbooks.define.params import NoParams, Params
from opsbooks.define.policies import Poll, Retry
from opsbooks.define.runbook import Change, Runbook, Trouble
from opsbooks.define.steps import (
    Branch,
    Command,
    Download,
    Gate,
    Manual,
    Notify,
    PythonStep,
    Remote,
    Step,
    Upload,
    Verify,
    WaitUntil,
    step,
)
from opsbooks.errors import (
    AnswersError,
    BadInput,
    ConfigError,
    DefinitionError,
    GateStopped,
    Interrupted,
    JournalError,
    LockHeld,
    OpsbooksError,
    ParamsError,
    RunFailed,
    RunStopped,
    StepFailed,
    UnknownRunbook,
)
from opsbooks.plan.binding import Plan, PlannedStep, plan

__all__ = [
    "AnswersError",
    "BadInput",
    "Branch",
    "Change",
    "Command",
    "ConfigError",
    "DefinitionError",
    "Download",
    "Field",
    "Gate",
    "GateStopped",
    "Interrupted",
    "JournalError",
    "LockHeld",
    "Manual",
    "NoParams",
    "Notify",
    "OpsbooksError",
    "Params",
    "ParamsError",
    "Plan",
    "PlannedStep",
    "Poll",
    "PythonStep",
    "Remote",
    "Retry",
    "RunFailed",
    "RunStopped",
    "Runbook",
    "SecretStr",
    "Step",
    "StepContext",
    "StepFailed",
    "Trouble",
    "UnknownRunbook",
    "Upload",
    "Verify",
    "WaitUntil",
    "plan",
    "step",
]
