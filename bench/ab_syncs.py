"""What did each per-step sync and CPU fix of issue 18 buy? Undo one at a time, interleaved.

Like ``bench/ab_runpath.py`` (whose ``run`` measurement it reuses): the old code of one
fix is put back in this process only, and the same run is timed with and without it,
round by round in alternating order. The variants:

- ``seal``: the seal ``fdatasync``-ed after every commit, not only at the journal's
  barriers (``records/journal/sqlite_seal.py``: one sync per step fewer);
- ``events``: ``Event.fields`` through ``dataclasses.asdict`` (a deep copy) for every
  audit line (``records/events.py``);
- ``redact``: the redactor scanning empty strings too (``records/redaction.py``);
- ``lines``: each value of an audit line redacted through ``Redactor.__call__``, numbers
  too (``records/audit.py`` ``_redact``);
- ``cpu``: the three above;
- ``none``: every fix of this file out;
- ``nofsync``: NOT a fix put back but one never shipped: the audit line written without
  its ``fsync`` (unsafe: a power loss could drop lines the journal has anchored). It is
  the most that keeping audit lines write-ahead in the journal could buy.

It prints the engine's cost per step ((t(N) - t(1)) / (N - 1)); ``--dir`` picks the
folder (on disk by default: syncs are what ``seal`` and ``nofsync`` change; ``/dev/shm``
and ``--cpu`` for the CPU fixes). Medians and spread; it asserts nothing.

    .venv/bin/python -m bench.ab_syncs 100 9 all,seal,nofsync
    .venv/bin/python -m bench.ab_syncs 1000 5 all,events,redact,lines,cpu --cpu --dir /dev/shm
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict
from typing import Any

from bench import ab_runpath
from opsbooks.records import audit, events, redaction
from opsbooks.records.journal.sqlite_seal import Seal


def _seal_every_commit(self: Seal, count: int) -> None:
    _NEW["seal"](self, count)
    self.sync()


def _fields_asdict(self: events.Event) -> dict[str, Any]:
    return {"v": events.VERSION, **asdict(self)}


def _text_always(self: redaction.Redactor, value: str) -> str:
    for secret in self._values:
        value = value.replace(secret, redaction.REDACTED)
    for pattern in self._patterns:
        value = pattern.sub(redaction.REDACTED, value, timeout=redaction.PATTERN_TIMEOUT)
    return value


def _redact_each(self: audit.AuditLog, _logger: Any, _name: str, event: Any) -> Any:
    return {key: self._redactor(value) for key, value in event.items()}


def _sync_without_fsync(self: Any) -> None:
    self.flush()


_NEW: dict[str, Any] = {
    "seal": Seal.write,
    "fields": events.Event.fields,
    "text": redaction.Redactor.text,
    "sync": audit._LazyFile.sync,
    "redact": audit.AuditLog._redact,
}


def _without(fix: str) -> None:
    """Put the old code of ``fix`` back (``all``: every fix in; ``none``: every one out)."""
    cpu = {"events", "redact", "lines"}
    out = {"cpu": cpu, "none": cpu | {"seal"}}.get(fix, {fix})
    Seal.write = _seal_every_commit if "seal" in out else _NEW["seal"]  # type: ignore[method-assign]
    events.Event.fields = _fields_asdict if "events" in out else _NEW["fields"]  # type: ignore[method-assign]
    redaction.Redactor.text = _text_always if "redact" in out else _NEW["text"]  # type: ignore[method-assign]
    audit.AuditLog._redact = _redact_each if "lines" in out else _NEW["redact"]  # type: ignore[method-assign]
    audit._LazyFile.sync = _sync_without_fsync if "nofsync" in out else _NEW["sync"]  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    where = None
    if "--cpu" in argv:
        ab_runpath.CLOCK["now"], argv = time.process_time, [a for a in argv if a != "--cpu"]
    if "--dir" in argv:
        at = argv.index("--dir")
        where, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    steps, rounds = int(argv[0]), int(argv[1])
    variants = argv[2].split(",") if len(argv) > 2 else ["all", "seal", "nofsync"]
    figures: dict[str, list[float]] = {v: [] for v in variants}
    _without("all")
    ab_runpath.per_step_ms(10, where)  # warm-up: imports, page cache
    for number in range(rounds):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            _without(variant)
            figures[variant].append(ab_runpath.per_step_ms(steps, where))
    _without("all")
    what = "ms per step" + (" (CPU)" if ab_runpath.CLOCK["now"] is time.process_time else "")
    for variant, values in figures.items():
        label = {"all": "every fix in", "none": "every fix out"}.get(variant, f"without {variant}")
        label = "audit unsynced" if variant == "nofsync" else label
        print(
            f"run {steps} steps, {label:18s} {statistics.median(values):9.3f} {what}"
            f"  (spread {min(values):.3f}-{max(values):.3f})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
