"""Node-first sections: what ``class upgrade(ob.Section, per_host=True)`` declares.

Pure: the section class's roll-out attributes read into a frozen record that the
plan carries (``SectionInfo.rollout``), the pages describe and ``opsbooks.run.per_host``
follows. Checked by ``opsbooks.define.checks_per_host``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsbooks.define.policies import human, seconds


@dataclass(frozen=True)
class NodeFirst:
    """How a ``per_host`` section rolls out: hosts at a time, failures tolerated, pause.

    ``pause`` is ``True`` (ask between batches), a duration in seconds, or ``None``.
    """

    batch_size: int = 1
    max_failures: int | str = 0
    pause: bool | float | None = None

    def describe(self) -> str:
        """What the page and the dry run say about the section's roll-out."""
        text = (
            "node-first: the whole section on one host before the next, "
            f"{self.batch_size} at a time"
        )
        limit = str(self.max_failures).strip()
        text += (
            ", stops at the first failed host"
            if limit in ("0", "0%")
            else (f", tolerates {limit} failed host(s)")
        )
        if self.pause is True:
            text += ", asks before each next batch"
        elif self.pause is not None:
            text += f", waits {human(float(self.pause))} between batches"
        return text


def node_first(section: type) -> NodeFirst | None:
    """The roll-out a ``per_host`` section declares, or ``None`` for a plain section.

    A value that cannot be read stays as given here; ``checks_per_host`` names it.
    """
    if not getattr(section, "per_host", False):
        return None
    pause: Any = getattr(section, "pause_between_batches", False)
    if pause is False:
        pause = None
    elif pause is not True:
        try:
            pause = seconds(pause)
        except (TypeError, ValueError):
            pause = None
    return NodeFirst(
        batch_size=getattr(section, "batch_size", 1),
        max_failures=getattr(section, "max_failures", 0),
        pause=pause,
    )
