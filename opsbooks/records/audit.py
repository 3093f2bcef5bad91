"""The audit trail: one hash-chained JSON-lines file per run, written through structlog.

Each line carries ``prev`` (the previous line's hash) and ``hash`` (of its own
content plus ``prev``), so editing, dropping or reordering lines breaks the chain;
the journal is anchored after every line (head hash and line count, see
:func:`anchor_text`), so a truncated tail, a file cut to nothing by a crash or a
consistent rewrite is caught too. A resumed run verifies the file against that anchor
before it appends (:class:`AuditLog` refuses a broken chain). structlog is configured
here per run with ``wrap_logger``: no global state to leak between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# structlog.dev imports rich, when installed, for pretty tracebacks this log never
# prints; hidden while structlog loads, so a piped run or `--help` never pays for rich
# (only the live console on a terminal loads it: edges/console_live.py)
_HIDE_RICH = "rich" not in sys.modules
if _HIDE_RICH:
    sys.modules["rich"] = None  # type: ignore[assignment]
try:
    import structlog
finally:
    if _HIDE_RICH:
        del sys.modules["rich"]

from opsbooks.errors import BadInput, Interrupted  # noqa: E402
from opsbooks.records.audit_tail import last_lines, tail_matches  # noqa: E402
from opsbooks.records.files import open_private, plain_name, private_dir, refuse_symlink  # noqa: E402
from opsbooks.records.redaction import Redactor  # noqa: E402

GENESIS = "0" * 64

#: values no redaction changes (``bool`` is an ``int``, but ``type()`` tells them apart)
_AS_IS = frozenset({int, float, bool, type(None)})

Anchor = Callable[[str], None]


def anchor_text(head: str, lines: int) -> str:
    """The journal's anchor of a chain: its head hash and how many lines it holds."""
    return f"{head}:{lines}"


def parse_anchor(text: str | None) -> tuple[str | None, int | None]:
    """Split a stored anchor; an anchor from an older opsbooks is a bare hash."""
    if not text:
        return None, None
    head, _, lines = text.partition(":")
    return head, int(lines) if lines.isdigit() else None


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

    def __init__(
        self,
        path: Path,
        run_id: str,
        redactor: Redactor,
        *,
        anchor: Anchor | None = None,
        expected: str | None = None,
    ) -> None:
        """``anchor`` is told the chain's anchor after every line (the journal keeps it);
        ``expected`` is the anchor the journal holds for this run: the file must verify
        against it before anything is appended (a resume never hides a broken chain)."""
        self.path = path
        self.run_id = run_id
        plain_name(run_id, "run id")  # it names the file: a journal row must not escape runs/
        private_dir(path.parent)
        refuse_symlink(path, "audit file")
        self._anchor = anchor
        if expected and not _ends_at(path, expected):  # else say what is wrong, or pass
            _refuse_broken(verify(path, expected), run_id)
        head, seq = _tail(path)
        self._chain = _Chain(head, seq)
        self._written = (head, seq)  # the chain as the file holds it, after the last sync
        self._failed: str | None = None
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
        """Every value redacted; a number or a plain ``str`` by the shortest way (the
        same result as ``Redactor.__call__``: this runs for every field of every line)."""
        redact, text = self._redactor, self._redactor.text
        return {
            key: value
            if type(value) in _AS_IS
            else text(value)
            if type(value) is str
            else redact(value)
            for key, value in event.items()
        }

    @property
    def head(self) -> str:
        return self._written[0]

    @property
    def lines(self) -> int:
        return self._written[1]

    def write(self, event: str, **fields: Any) -> None:
        """Append one line, fsynced, then anchor it in the journal (see :meth:`line`)."""
        anchor = self.line(event, **fields)
        if anchor is not None and self._anchor is not None:
            self._anchor(anchor)

    def line(self, event: str, **fields: Any) -> str | None:
        """Append one line, fsynced; return its anchor for the caller to commit.

        The runner commits a step's transition and the anchor of its event's line in
        one transaction (``run/stepping.py``), one commit where two were. ``None`` once
        a write has failed.

        A write the disk refuses (full, quota, file size limit) leaves the file at its
        last whole line and stops the run (:class:`Interrupted`, resumable): no step
        runs unaudited, and the chain still verifies against the journal's anchor, so a
        resume can append once there is room. Later events of this process are dropped.
        """
        if self._failed is not None:
            return None
        try:
            self._log.info(event, **fields)
            self._file.sync()
        except OSError as exc:
            self._failed = exc.strerror or str(exc)
            raise Interrupted(
                f"the audit file {self.path} could not be written ({self._failed}), so the "
                f"run stopped before anything ran unaudited; the journal and the audit "
                f"lines before are intact. Free disk space (or fix the file's permissions "
                f"or size limit), then `opsbooks resume {self.run_id}`."
            ) from None
        self._written = (self._chain.head, self._chain.seq)
        return anchor_text(*self._written)

    def close(self) -> None:
        self._file.close()


class _LazyFile:
    """An append-only file opened at its first write, holding only whole lines.

    Unbuffered on purpose: a buffered handle that hits a full disk keeps the half line
    it could not write and retries it at every later flush and at close. Here a failed
    write is cut back to the last whole line (truncating needs no space) and raised.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._pending: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        return len(text)

    def flush(self) -> None:
        if not self._pending:
            return
        data = memoryview("".join(self._pending).encode("utf-8"))
        self._pending.clear()
        if self._fd is None:
            self._fd = open_private(self._path, "audit file")
            self._size = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        self._size = os.lseek(self._fd, 0, os.SEEK_END)

    def sync(self) -> None:
        self.flush()
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _refuse_broken(result: Verification, run_id: str) -> None:
    """Refuse to append to a chain that no longer verifies: the break would be hidden."""
    if result.ok:
        return
    found = "; ".join(result.problems)
    raise BadInput(
        f"the audit trail of run {run_id} does not verify ({result.path}): {found}. Nothing "
        f"was run and the file was not touched. Restore the file from a backup (then "
        f"`opsbooks audit verify {run_id}`), or if it cannot be restored, "
        f"`opsbooks abandon {run_id} --reason ...` and start a new run."
    )


def _ends_at(path: Path, expected: str) -> bool:
    """The file's end is the journal's anchor (read from the end: ``audit_tail``)."""
    head, lines = parse_anchor(expected)
    return bool(head and lines) and tail_matches(path, str(head), int(lines or 0), _digest)


def _tail(path: Path) -> tuple[str, int]:
    """Continue the chain of an existing file (a resumed run appends to it)."""
    if not path.exists():
        return GENESIS, 0
    found = last_lines(path, 1)
    if not found:
        return GENESIS, 0
    last = found[0]
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


def verify(path: Path, expected: str | None = None) -> Verification:
    """Check every line's hash and link; with the journal's anchor, that nothing was cut off.

    A malformed file (not UTF-8, not JSON lines, nested absurdly deep, a directory) is
    reported as a problem, never raised.
    """
    result = Verification(path)
    expected_head, expected_lines = parse_anchor(expected)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        result.problems.append(f"audit file {path} {what}")
        return result
    hashes: list[str] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    _check_line(result, number, line, hashes)
    except UnicodeDecodeError:
        result.problems.append(f"audit file {path} is not UTF-8 text (a byte was altered)")
    except OSError as exc:
        result.problems.append(f"cannot read audit file {path}: {exc.strerror or exc}")
    _check_anchor(result, hashes, expected_head, expected_lines)
    return result


def _check_line(result: Verification, number: int, line: str, hashes: list[str]) -> None:
    result.lines += 1
    prev = hashes[-1] if hashes else GENESIS
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        result.problems.append(f"line {number}: not valid JSON")
        hashes.append(prev)
        return
    if not isinstance(data, dict) or "hash" not in data:
        result.problems.append(f"line {number}: no hash field")
        hashes.append(prev)
        return
    claimed = str(data.pop("hash"))
    if _digest(data) != claimed:
        result.problems.append(f"line {number}: content does not match its hash (edited)")
    if data.get("prev") != prev:
        result.problems.append(
            f"line {number}: does not follow the previous line (dropped, inserted "
            f"or reordered lines)"
        )
    if data.get("seq") != len(hashes) + 1:
        result.problems.append(f"line {number}: sequence {data.get('seq')!r} after {len(hashes)}")
    hashes.append(claimed)


def _check_anchor(
    result: Verification,
    hashes: list[str],
    expected_head: str | None,
    expected_lines: int | None,
) -> None:
    """The file against the journal's anchor (head hash, line count).

    One line past the anchor is the one the process may have written just before it
    died, before the journal was told; it is accepted when the chain up to the anchor
    is the anchored one. Anything else is a truncation, a cut or a rewrite.
    """
    head = hashes[-1] if hashes else GENESIS
    if expected_lines is None:
        if expected_head is not None and head != expected_head:
            result.problems.append(
                "the file's last hash is not the one the journal recorded (truncated, "
                "replaced or rewritten)"
            )
        return
    if result.lines not in (expected_lines, expected_lines + 1):
        result.problems.append(
            f"the file holds {result.lines} lines but the journal anchored {expected_lines} "
            f"(truncated, cut off or lines added)"
        )
        return
    at_anchor = hashes[expected_lines - 1] if expected_lines else GENESIS
    if at_anchor != expected_head:
        result.problems.append(
            "the file's hash at the journal's anchor is not the anchored one (replaced "
            "or rewritten)"
        )
