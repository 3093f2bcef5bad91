"""The audit file's gate decisions against the journal's (``opsbooks audit verify``).

A gate decision is journaled, then its audit line is written and anchored, so a
process killed between the two leaves the journal one decision ahead of the file.
That is a crash window, not tampering: while the run is still in flight ``verify``
accepts it, and a resume writes the missing line from the journal's row before it asks
anything (``edges/anchoring.py``), marked ``recovered``. Any other difference is
reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

#: how a gate decision's line names its event: the audit's JSON renderer writes this,
#: and inside a string value the quotes would be escaped, so only the field matches
GATE_LINE = b'"event": "gate_answered"'


def audited_gates(path: Path) -> int:
    """How many gate decisions the file holds: a byte count, no JSON parse (a resume
    of a long run pays for it before its first step)."""
    try:
        return path.read_bytes().count(GATE_LINE)
    except OSError:
        return 0


def _audited(path: Path) -> list[tuple[str, str, str]] | None:
    """(step, approver, source) of each gate line, in file order; None: unreadable."""
    found: list[tuple[str, str, str]] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    data = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if isinstance(data, dict) and data.get("event") == "gate_answered":
                    found.append(
                        (str(data.get("step")), str(data.get("approver")), str(data.get("source")))
                    )
    except (OSError, UnicodeDecodeError):
        return None
    return found


def cross_check(
    path: Path, gates: Sequence[tuple[str, str, str]], *, in_flight: bool = False
) -> list[str]:
    """Compare the journal's gate decisions (step, approver, source) with the audit's.

    The journal and the audit file are written by the same run; an approver edited in
    one but not the other (or a decision added or dropped) shows up here. ``in_flight``
    (the journal still says the run is running: its process was killed, or is alive)
    accepts the journal's last decision without its line, the window described above.
    """
    audited = _audited(path)
    if audited is None:
        return []  # verify has said why the file cannot be read
    problems = []
    for number, (journaled, seen) in enumerate(zip(gates, audited, strict=False), start=1):
        if journaled != seen:
            problems.append(
                f"gate decision {number}: the journal says {journaled[0]} answered by "
                f"{journaled[1]} ({journaled[2]}), the audit says {seen[0]} by {seen[1]} "
                f"({seen[2]})"
            )
    window = in_flight and len(gates) == len(audited) + 1
    if len(gates) != len(audited) and not window:
        problems.append(
            f"the journal holds {len(gates)} gate decision(s), the audit {len(audited)}"
        )
    return problems
