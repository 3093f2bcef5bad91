"""What the operating system will refuse later, refused before any step runs.

Two kinds of param value pass validation yet cannot reach a command:

- Text that is not UTF-8. Python hands undecodable argv bytes over as lone surrogates
  (``surrogateescape``); they would be journaled as garbage, fail to encode in the audit
  log, or reach a command as bytes nobody typed.
- A command line too long for ``execve``. A local command is ``sh -c COMMAND``, so the
  whole bound command is one argv string, and Linux refuses any single argv or
  environment string over ``MAX_ARG_STRLEN`` (32 pages, 131072 bytes with its NUL) with
  ``E2BIG``, however small the total (``ARG_MAX``) is. Found halfway through a run, that
  is a failed step after earlier steps had their effect; found here, nothing ran.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from opsbooks.errors import BadInput
from opsbooks.plan.binding import Plan

__all__ = ["MAX_ARG_STRLEN", "check_argv_lengths", "check_utf8"]

#: Linux's limit on one argv or environment string, terminating NUL included.
MAX_ARG_STRLEN = 32 * 4096
_LONG = 4096  # a value this long is worth naming when a command is too long


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_utf8(runbook: str, values: Mapping[str, Any]) -> None:
    """Refuse a param whose text holds bytes that are not UTF-8 (argv, env or a file)."""
    for name, value in values.items():
        for text in _strings(value):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = text[exc.start].encode("utf-8", "surrogateescape")
                raise BadInput(
                    f"{runbook}: parameter {name} ({_flag(name)}) is not valid UTF-8 text: "
                    f"byte 0x{bad.hex()} at character {exc.start + 1}. Nothing was run. "
                    f"Pass the value as UTF-8 text; for binary data, pass a file's path and "
                    f"let the step read the file."
                ) from None


def check_argv_lengths(bound: Plan, values: Mapping[str, Any]) -> None:
    """Refuse a bound command longer than one argv string may be (undo steps included:
    ``all_steps`` holds the compensations)."""
    for planned in bound.all_steps():
        text = planned.command
        size = 0 if text is None else len(text.encode("utf-8", "surrogateescape")) + 1
        if size > MAX_ARG_STRLEN:
            long = [n for n, v in values.items() if any(len(s) > _LONG for s in _strings(v))]
            which = f" (parameter(s) {', '.join(map(_flag, long))})" if long else ""
            raise BadInput(
                f"{bound.name}: the command of step {planned.id} is {size} bytes once its "
                f"params are bound{which}, too long for an argv: Linux refuses any single "
                f"argument over {MAX_ARG_STRLEN} bytes (MAX_ARG_STRLEN), and the command "
                f"runs as one `sh -c` argument. Nothing was run. Pass a value this large "
                f"through a file (give its path as the param), or through env= when it is "
                f"under {MAX_ARG_STRLEN // 1024} KiB."
            )
