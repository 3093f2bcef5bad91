"""opsbooks: executable runbooks. One class runs the procedure and renders its docs.

Every public name but the errors is imported on first use (``__getattr__``), so
``import opsbooks`` loads neither pydantic nor the engine: a listing, ``--help`` and a
tool that only catches ``ob.OpsbooksError`` stay cheap (bench row 3). Type checkers
read the same names from the ``TYPE_CHECKING`` imports below.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
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
    from opsbooks.edges.api import resume, run
    from opsbooks.edges.kinds import register_step_kind
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

#: public name -> the module that defines it, imported when the name is first read
_LAZY: dict[str, str] = {
    "Binding": "opsbooks.define.specs",
    "Branch": "opsbooks.define.steps",
    "Change": "opsbooks.define.runbook",
    "Command": "opsbooks.define.steps",
    "Diagnosis": "opsbooks.define.diagnosis",
    "Download": "opsbooks.define.remote",
    "Field": "pydantic",
    "Gate": "opsbooks.define.steps",
    "IncidentPolicy": "opsbooks.define.incidents",
    "Include": "opsbooks.define.sections",
    "KindRenderer": "opsbooks.render.kinds",
    "Manual": "opsbooks.define.steps",
    "NoOption": "opsbooks.define.argv",
    "NoParams": "opsbooks.define.params",
    "Notify": "opsbooks.define.steps",
    "Params": "opsbooks.define.params",
    "Plan": "opsbooks.plan.binding",
    "plan": "opsbooks.plan.binding",
    "PlannedStep": "opsbooks.plan.binding",
    "Poll": "opsbooks.define.policies",
    "Project": "opsbooks.define.project",
    "PythonStep": "opsbooks.define.steps",
    "register_step_kind": "opsbooks.edges.kinds",
    "Remote": "opsbooks.define.remote",
    "RemoteVerify": "opsbooks.define.remote",
    "RemoteWait": "opsbooks.define.remote",
    "Retry": "opsbooks.define.policies",
    "Runbook": "opsbooks.define.runbook",
    "RunReport": "opsbooks.run.outcome",
    "SecretStr": "pydantic",
    "Section": "opsbooks.define.sections",
    "Skip": "opsbooks.define.hooks",
    "Step": "opsbooks.define.steps",
    "step": "opsbooks.define.steps",
    "StepContext": "opsbooks.define.context",
    "StepOutcome": "opsbooks.define.hooks",
    "StepResult": "opsbooks.run.outcome",
    "StepView": "opsbooks.define.hooks",
    "SubRun": "opsbooks.define.subrun",
    "Trouble": "opsbooks.define.runbook",
    "Upload": "opsbooks.define.remote",
    "Verify": "opsbooks.define.steps",
    "WaitUntil": "opsbooks.define.steps",
}


class _Facade(types.ModuleType):
    """The module's type: ``run`` and ``plan`` are both a layer and a public function.

    Importing ``opsbooks.run.x`` (or ``opsbooks.plan.x``) for the first time makes the
    import system bind the layer here as ``run`` (``plan``); these properties ignore
    that binding and always serve the function, imported on first use.
    """

    @property
    def run(self) -> Any:
        from opsbooks.edges.api import run_entry

        return run_entry

    @run.setter
    def run(self, layer: Any) -> None:
        del layer  # the run layer, bound by the import system: the function stays

    @property
    def plan(self) -> Any:
        from opsbooks.plan.binding import plan

        return plan

    @plan.setter
    def plan(self, layer: Any) -> None:
        del layer  # the plan layer, bound by the import system: the function stays


sys.modules[__name__].__class__ = _Facade


def __getattr__(name: str) -> Any:
    """Import the module defining ``name`` on first use, and keep the value."""
    if name == "resume":
        from opsbooks.edges.api import resume

        return resume
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opsbooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
