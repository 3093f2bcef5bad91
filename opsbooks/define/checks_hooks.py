"""Definition checks for step hooks a runbook defines as methods (``before_step`` ...).

A wrong signature would otherwise surface as a ``TypeError`` half-way through a run;
here it is a ``DefinitionError`` at import naming the method and the signature to use.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from opsbooks.define.hooks import HOOK_METHODS, signature_problem
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook


def check_hooks(cls: type[Runbook]) -> None:
    """Each hook method ``cls`` defines must be a plain method with the hook's parameters."""
    for name in HOOK_METHODS:
        if not hasattr(cls, name):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, staticmethod | classmethod):
            raise DefinitionError(
                cls.name,
                f"hook {name} is a {type(raw).__name__}; define it as a plain method "
                f"`def {name}(self, {', '.join(HOOK_METHODS[name])})`",
            )
        problem = signature_problem(name, getattr(cls, name), bound=False)
        if problem is not None:
            raise DefinitionError(cls.name, f"hook {problem}")
