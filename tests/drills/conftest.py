"""Disaster-recovery drills on real engines: a SQLite file and a real PostgreSQL server.

The ``engine`` fixture gives each drill the same small interface over both engines
(``drill_kit``), so one drill body runs against either. Every drill records its
measured RTO/RPO with ``record_figures``; the session summary prints them, so
``pytest tests/drills`` shows the figures without ``-s``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from drill_kit import Engine, PostgresEngine, SqliteEngine

from opsbooks.testing import DrillResult
from opsbooks.testing.postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL server on 127.0.0.1 for the drills of this session."""
    with postgres_server(tmp_path_factory.mktemp("drill-pg")) as server:
        yield server


_PG_TESTS = [0]


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The engine under drill: a SQLite file, or a database on the real server."""
    if request.param == "sqlite":
        yield SqliteEngine(tmp_path / "data")
        return
    _PG_TESTS[0] += 1
    chosen = PostgresEngine(request.getfixturevalue("pg"), prefix=f"drill{_PG_TESTS[0]}")
    try:
        yield chosen
    finally:
        chosen.cleanup()


# --- the measured figures, printed at the end of the session -----------------------

_FIGURES = pytest.StashKey[list[dict[str, Any]]]()


@pytest.fixture
def record_figures(request: pytest.FixtureRequest) -> Any:
    """Call with (drill name, engine name, result) to list its RTO/RPO in the summary."""

    def record(drill: str, engine: str, result: DrillResult) -> None:
        figures = request.config.stash.setdefault(_FIGURES, [])
        metrics = result.metrics
        figures.append(
            {
                "drill": drill,
                "engine": engine,
                "outcome": result.outcome,
                "rto": result.rto,
                "rto_met": metrics.get("rto_met"),
                "rto_target": metrics.get("rto_target_seconds"),
                "rpo": result.rpo,
                "rpo_met": metrics.get("rpo_met"),
                "rpo_target": metrics.get("rpo_target_seconds"),
            }
        )

    return record


def _shown(value: Any, fmt: str = "{:.3f}") -> str:
    return "-" if value is None else fmt.format(value)


def _met(value: Any) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    figures = config.stash.get(_FIGURES, [])
    if not figures:
        return
    tr = terminalreporter
    tr.section("DR drills: measured RTO / RPO")
    header = (
        f"{'drill':<28} {'engine':<11} {'outcome':<10} {'RTO s':>8} {'target':>7} {'met':>4}"
        f" {'RPO s':>9} {'target':>7} {'met':>4}"
    )
    tr.write_line(header)
    for f in figures:
        tr.write_line(
            f"{f['drill']:<28} {f['engine']:<11} {f['outcome']:<10} {_shown(f['rto']):>8} "
            f"{_shown(f['rto_target'], '{:.0f}'):>7} {_met(f['rto_met']):>4} "
            f"{_shown(f['rpo']):>9} {_shown(f['rpo_target'], '{:.0f}'):>7} {_met(f['rpo_met']):>4}"
        )
