"""An included runbook's remote steps over real sshd hosts on loopback: each host's
command binds the included runbook's own params (from the parent's) and ``{host.*}``,
a failure undoes them across sections, and resume finishes where it stopped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.testing import Drill
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow


class Mark(ob.Runbook):
    """Append a label on every web host."""

    name = "fleet.mark"
    scope, owner, last_reviewed = "integration tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        label: str

    write = ob.Remote(
        "printf '%s\\n' {label} >> {host.counter}", role="web", undo="erase", note="{label}"
    )
    erase = ob.Remote("printf 'erased %s\\n' {label} >> {host.counter}", role="web")


class Release(ob.Runbook):
    """Mark the hosts for a release, then check it."""

    name = "fleet.release"
    scope, owner, last_reviewed = "integration tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        version: str = "2.0"

    class mark(ob.Section):
        """Mark the hosts"""

        first = ob.Include(Mark, params={"label": "v{version}"})

    check = ob.Command("test ! -e stop-here")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path / "sshd", names=["web1", "web2"]) as running:
        yield running


def _drill(tmp_path: Path, cluster: SshdCluster) -> Drill:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    host_vars = {name: {"counter": str(work / f"{name}.count")} for name in cluster.names}
    settings: dict[str, Any] = cluster.inventory_config(roles=["web"], host_vars=host_vars)
    return Drill(root=tmp_path, runbooks=(Release,), settings=settings)


def _lines(tmp_path: Path, host: str) -> list[str]:
    path = tmp_path / "work" / f"{host}.count"
    return path.read_text().splitlines() if path.exists() else []


def test_an_included_remote_step_binds_its_own_params_per_host(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster)
    done = drill.run("fleet.release", {"version": "2.1"})
    done.assert_succeeded()
    assert _lines(tmp_path, "web1") == _lines(tmp_path, "web2") == ["v2.1"]
    journal = drill.journal()
    try:
        hosts = {r.host for r in journal.host_results(done.run_id, "mark.first.write")}
    finally:
        journal.close()
    assert hosts == {"web1", "web2"}


def test_a_failure_after_the_include_undoes_it_and_resume_does_not_repeat_it(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster)
    (tmp_path / "stop-here").touch()
    first = drill.run("fleet.release", {"version": "3"})
    assert first.outcome in ("failed", "rolled_back")
    first.assert_compensated("mark.first.write")
    assert _lines(tmp_path, "web1") == ["v3", "erased v3"]
    (tmp_path / "stop-here").unlink()
    second = drill.resume(first.run_id)
    second.assert_succeeded()
    assert _lines(tmp_path, "web2") == ["v3", "erased v3", "v3"]  # undone, so run again
