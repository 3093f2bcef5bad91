"""The documented import path of the action harness: ``from opsbooks.actions import Program``.

See ``opsbooks.edges.actions`` and docs/guides/writing-runbooks.md#helpers-as-commands.
"""

from __future__ import annotations

from opsbooks.edges.actions import Arg, Program, Result, output_lines

__all__ = ["Arg", "Program", "Result", "output_lines"]
