"""Helpers shared by the remote tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

from pathlib import Path


def fail_on(work: Path, *names: str) -> None:
    """Make the standard test command fail on ``names``."""
    for name in names:
        (work / f"{name}.fail").touch()


def runs(work: Path, name: str) -> int:
    """How many times the standard test command ran on host ``name``."""
    counter = work / f"{name}.count"
    return len(counter.read_text().splitlines()) if counter.exists() else 0


STANDARD = "echo ran >> {host.counter} && test ! -e {host.fail_flag}"
