"""The journal's side records: facts and signed approvals, rows a run appends and reads.

A mixin of :class:`opsbooks.records.journal.sql.SqlJournal`, kept apart so the core
(runs, transitions, gates, locks) stays readable; it uses only the core's connection,
placeholder and write helpers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opsbooks.records.journal.dialect import Connection
from opsbooks.records.journal.records import (
    ApprovalRecord,
    FactRecord,
    approval_from_row,
    fact_from_row,
    field_names,
)

__all__ = ["SideRecords"]

_FACT = ", ".join(field_names(FactRecord))
_APPROVAL = ", ".join(field_names(ApprovalRecord))
_APPROVAL_INSERT = tuple(name for name in field_names(ApprovalRecord) if name != "seq")


class SideRecords:
    """Facts and approvals over the core's connection (see the module)."""

    _db: Connection
    _q: str

    def _write(self, sql: str, args: Sequence[Any]) -> None:  # pragma: no cover - core's
        raise NotImplementedError

    def _insert(self, table: str, names: Sequence[str]) -> str:  # pragma: no cover - core's
        raise NotImplementedError

    def record_fact(self, fact: FactRecord) -> None:
        value = json.dumps(fact.value, default=str)
        row = (fact.run_id, fact.step_id, fact.name, value, fact.at, fact.who)
        self._write(self._insert("facts", field_names(FactRecord)), row)

    def facts(self, run_id: str) -> list[FactRecord]:
        rows = self._db.execute(
            f"SELECT {_FACT} FROM facts WHERE run_id={self._q} ORDER BY seq", (run_id,)
        ).fetchall()
        return [fact_from_row(row) for row in rows]

    def record_approval(self, approval: ApprovalRecord) -> None:
        a = approval
        row = (a.run_id, a.step_id, a.decision, a.principal, a.reason, a.payload)
        rest = (a.signature, int(a.accepted), a.why, a.at)
        self._write(self._insert("approvals", _APPROVAL_INSERT), (*row, *rest))

    def approvals(self, run_id: str, step_id: str | None = None) -> list[ApprovalRecord]:
        q = self._q
        one_gate, args = (
            ("", (run_id,)) if step_id is None else (f" AND step_id={q}", (run_id, step_id))
        )
        rows = self._db.execute(
            f"SELECT {_APPROVAL} FROM approvals WHERE run_id={q}{one_gate} ORDER BY seq", args
        ).fetchall()
        return [approval_from_row(row) for row in rows]
