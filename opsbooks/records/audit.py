"""The audit trail: one hash-chained JSON-lines file per run, written through structlog.

Each line carries ``prev`` (the previous line's hash) and ``hash`` (of its own
content plus ``prev``), so editing, dropping or reordering lines breaks the chain;
the journal keeps the last hash, so a truncated tail is caught too. structlog is
configured here per run with ``wrap_logger``: no global state to leak between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import structlog

from opsbooks.records.redaction import Redactor

GENESIS = "0" * 64


def _digest(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class _Chain:
    """structlog processor: add seq, prev and hash so the file verifies on its own."""

    def __init__(self, head: str = GENESIS, seq: int = 0) -> None:
        self.head = head
        self.seq = seq

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        self.seq += 1
        event["seq"] = self.seq
        event["prev"] = self.head
        event["hash"] = _digest({k: v for k, v in event.items() if k != "hash"})
        self.head = event["hash"]
        return event


class AuditLog:
    """Append-only audit file for one run; lines are flushed and fsynced as written."""

    def __init__(self, path: Path, run_id: str, redactor: Redactor) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        head, seq = _tail(path)
        self._chain = _Chain(head, seq)
        self._file = _LazyFile(path)  # no file for a run refused before its first event
        self._redactor = redactor
        self._log = structlog.wrap_logger(
            structlog.WriteLogger(self._file),  # type: ignore[arg-type]
            processors=[
                self._redact,
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                self._chain,
                structlog.processors.JSONRenderer(sort_keys=True, default=str),
            ],
            context_class=dict,
        ).bind(run_id=run_id)

    def _redact(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        return {key: self._redactor(value) for key, value in event.items()}

    @property
    def head(self) -> str:
        return self._chain.head

    def write(self, event: str, **fields: Any) -> None:
        self._log.info(event, **fields)
        self._file.sync()

    def close(self) -> None:
        self._file.close()


class _LazyFile:
    """An append-only text file opened at its first write."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[str] | None = None

    def write(self, text: str) -> int:
        if self._handle is None:
            self._handle = self._path.open("a", encoding="utf-8")
        return self._handle.write(text)

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def sync(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            _fsync(self._handle)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _fsync(handle: IO[str]) -> None:
    os.fsync(handle.fileno())


def _tail(path: Path) -> tuple[str, int]:
    """Continue the chain of an existing file (a resumed run appends to it)."""
    if not path.exists():
        return GENESIS, 0
    last = ""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                last = line
    if not last:
        return GENESIS, 0
    try:
        data = json.loads(last)
        return str(data["hash"]), int(data["seq"])
    except (ValueError, KeyError, TypeError):
        return _digest({"broken_tail": last}), 0


@dataclass
class Verification:
    path: Path
    lines: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path, expected_head: str | None = None) -> Verification:
    """Check every line's hash and link; with ``expected_head``, that nothing was cut off."""
    result = Verification(path)
    if not path.exists():
        result.problems.append(f"audit file {path} does not exist")
        return result
    prev, seq = GENESIS, 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            result.lines += 1
            try:
                data = json.loads(line)
            except ValueError:
                result.problems.append(f"line {number}: not valid JSON")
                continue
            if not isinstance(data, dict) or "hash" not in data:
                result.problems.append(f"line {number}: no hash field")
                continue
            claimed = data.pop("hash")
            if _digest(data) != claimed:
                result.problems.append(f"line {number}: content does not match its hash (edited)")
            if data.get("prev") != prev:
                result.problems.append(
                    f"line {number}: does not follow the previous line (dropped, inserted "
                    f"or reordered lines)"
                )
            if data.get("seq") != seq + 1:
                result.problems.append(f"line {number}: sequence {data.get('seq')} after {seq}")
            prev, seq = str(claimed), int(data.get("seq") or seq + 1)
    if expected_head is not None and prev != expected_head:
        result.problems.append(
            "the file ends before the last line the journal recorded (truncated or replaced)"
        )
    return result
