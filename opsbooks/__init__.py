"""opsbooks: executable runbooks. One class runs the procedure and renders its docs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr

from opsbooks.define.argv import NoOption
from opsbooks.define.context import StepContext
from opsbooks.define.diagnosis import Diagnosis
from opsbooks.define.hooks import Skip, StepOutcome, StepView
from opsbooks.define.incidents import IncidentPolicy
from opsbooks.define.params import NoParams, Params
from opsbooks.define.policies import Poll, Retry
from opsbooks.define.project import Project
from opsbooks.define.remote import Download, Remote, RemoteVerify, RemoteWait, Upload
from opsbooks.define.runbook import Change, Runbook, Trouble
from opsbooks.define.sections import Include, Section
from opsbooks.define.specs import Binding
from opsbooks.define.steps import (
    Branch,
    Command,
    Gate,
    Manual,
    Notify,
    PythonStep,
    Step,
    Verify,
    WaitUntil,
    step,
)
from opsbooks.define.subrun import SubRun
from opsbooks.errors import (
    AnswersError,
    BadInput,
    ConfigError,
    DefinitionError,
    GateStopped,
    HostsUnreachable,
    Interrupted,
    InventoryError,
    JournalError,
    LockHeld,
    MissingKeyFile,
    OpsbooksError,
    OrphanRunning,
    ParamsError,
    RunFailed,
    RunStopped,
    StepFailed,
    SyncError,
    UnknownHost,
    UnknownHostVar,
    UnknownRole,
    UnknownRunbook,
)
from opsbooks.plan.binding import Plan, PlannedStep, plan
from opsbooks.render.kinds import KindRenderer
from opsbooks.run.outcome import RunReport, StepResult

__all__ = [
    "AnswersError",
    "BadInput",
    "Binding",
    "Branch",
    "Change",
    "Command",
    "ConfigError",
    "DefinitionError",
    "Diagnosis",
    "Download",
    "Field",
    "Gate",
    "GateStopped",
    "HostsUnreachable",
    "IncidentPolicy",
    "Include",
    "Interrupted",
    "InventoryError",
    "JournalError",
    "KindRenderer",
    "LockHeld",
    "Manual",
    "MissingKeyFile",
    "NoOption",
    "NoParams",
    "Notify",
    "OpsbooksError",
    "OrphanRunning",
    "Params",
    "ParamsError",
    "Plan",
    "PlannedStep",
    "Poll",
    "Project",
    "PythonStep",
    "Remote",
    "RemoteVerify",
    "RemoteWait",
    "Retry",
    "RunFailed",
    "RunReport",
    "RunStopped",
    "Runbook",
    "SecretStr",
    "Section",
    "Skip",
    "Step",
    "StepContext",
    "StepFailed",
    "StepOutcome",
    "StepResult",
    "StepView",
    "SubRun",
    "SyncError",
    "Trouble",
    "UnknownHost",
    "UnknownHostVar",
    "UnknownRole",
    "UnknownRunbook",
    "Upload",
    "Verify",
    "WaitUntil",
    "plan",
    "register_step_kind",
    "resume",
    "run",
    "step",
]

if TYPE_CHECKING:
    from opsbooks.edges.api import resume, run
    from opsbooks.edges.kinds import register_step_kind
else:
    # ``opsbooks.run`` is both the run layer (a subpackage, bound here by the import
    # above) and the public function: drop the binding so ``__getattr__`` serves the
    # function; ``from opsbooks.run.x import y`` still finds the layer in sys.modules.
    import importlib

    importlib.import_module("opsbooks.run")
    globals().pop("run", None)
    del importlib


def __getattr__(name: str) -> Any:
    """Import the run layer only when it is used: ``import opsbooks`` stays light."""
    if name == "register_step_kind":
        from opsbooks.edges.kinds import register_step_kind

        return register_step_kind
    if name in ("run", "resume"):
        from opsbooks.edges import api

        return api.run_entry if name == "run" else api.resume
    raise AttributeError(f"module 'opsbooks' has no attribute {name!r}")
