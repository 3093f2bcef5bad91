"""Remote recovery paths over real sshd (issue 13 items 1 and 6): a rollback then a resume
puts the step back on every host it was undone on; an undo reaches every host where the
step ran or half-ran, whatever fails on one of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbooks import Command, Remote, Runbook
from opsbooks.testing import Drill
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow


class Marked(Runbook):
    """Put a marker on each web host; a later local step may fail."""

    name = "fleet.marked"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    mark = Remote("touch {host.marker}", role="web", strategy="parallel", undo="unmark")
    unmark = Remote("rm -f {host.marker}", role="web", idempotent=True)
    finish = Command("test -e finish.ok")


class HalfRan(Runbook):
    """Each host writes its marker then fails where told: the step may half-happen."""

    name = "fleet.half_ran"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    mark = Remote(
        "touch {host.marker} && test ! -e {host.fail_flag}",
        role="web",
        strategy="parallel",
        undo="unmark",
        undo_on_failure=True,
    )
    unmark = Remote("test ! -e {host.undo_fail} && rm -f {host.marker}", role="web")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path / "sshd", names=["web1", "web2"]) as running:
        yield running


def _drill(tmp_path: Path, cluster: SshdCluster, runbook: type[Runbook]) -> Drill:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    host_vars = {
        name: {
            "marker": str(work / f"{name}.on"),
            "fail_flag": str(work / f"{name}.fail"),
            "undo_fail": str(work / f"{name}.undo-fail"),
        }
        for name in cluster.names
    }
    settings: dict[str, Any] = cluster.inventory_config(roles=["web"], host_vars=host_vars)
    return Drill(root=tmp_path, runbooks=(runbook,), settings=settings)


def _on(tmp_path: Path) -> set[str]:
    return {p.name.removesuffix(".on") for p in (tmp_path / "work").glob("*.on")}


def test_resume_after_a_rollback_runs_the_remote_step_again_on_every_host(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster, Marked)
    first = drill.run("fleet.marked")
    assert first.outcome == "rolled_back"
    assert _on(tmp_path) == set()  # undone on web1 and web2
    (tmp_path / "finish.ok").touch()
    second = drill.resume(first.run_id)
    second.assert_succeeded()
    assert _on(tmp_path) == {"web1", "web2"}
    assert "already done on" not in second.output


def test_an_undo_reaches_the_half_ran_host_and_goes_on_past_a_failing_one(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster, HalfRan)
    work = tmp_path / "work"
    (work / "web2.fail").touch()  # web2 writes its marker, then fails: half-ran
    (work / "web1.undo-fail").touch()  # web1's undo fails
    result = drill.run("fleet.half_ran")
    assert result.outcome == "failed"  # an undo failed, so not cleanly rolled back
    assert _on(tmp_path) == {"web1"}  # web2's half-done marker was undone anyway
    journal = drill.journal()
    undone = {r.host: r.ok for r in journal.host_results(result.run_id, "unmark")}
    assert undone == {"web1": False, "web2": True}  # each host's undo journaled
