"""Remote steps through the runner, over real sshd hosts on loopback: journaled per host,
resumed only where they did not succeed, undone only where they did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbooks import Command, Download, Field, Params, Remote, Runbook, SecretStr, Upload
from opsbooks.errors import BadInput
from opsbooks.records.journal import open_journal
from opsbooks.testing import Drill
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow


class RollOut(Runbook):
    """Roll a marker out to the web hosts, one at a time."""

    name = "fleet.roll_out"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        label: str = Field(description="text each host appends")

    deploy = Remote(
        "test ! -e {host.fail_flag} && printf '%s\\n' {label} >> {host.counter}",
        role="web",
        strategy="serial",
        undo="retract",
    )
    retract = Remote("printf 'undo\\n' >> {host.counter}", role="web")
    finish = Command("test ! -e stop-here")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path / "sshd", names=["web1", "web2", "web3"]) as running:
        yield running


def _drill(tmp_path: Path, cluster: SshdCluster) -> Drill:
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    host_vars = {
        name: {"fail_flag": str(work / f"{name}.fail"), "counter": str(work / f"{name}.count")}
        for name in cluster.names
    }
    settings: dict[str, Any] = cluster.inventory_config(roles=["web"], host_vars=host_vars)
    return Drill(root=tmp_path, runbooks=(RollOut,), settings=settings)


def _lines(tmp_path: Path, host: str) -> list[str]:
    path = tmp_path / "work" / f"{host}.count"
    return path.read_text().splitlines() if path.exists() else []


def test_failed_host_stops_the_roll_out_and_resume_reruns_only_the_rest(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster)
    (tmp_path / "work" / "web2.fail").touch()
    first = drill.run("fleet.roll_out", {"label": "v2; $(id)"}, no_rollback=True)
    assert first.outcome == "failed" and first.report.failed_step == "deploy"
    assert _lines(tmp_path, "web1") == ["v2; $(id)"]
    assert _lines(tmp_path, "web3") == []
    journal = drill.journal()
    by_host = {r.host: r.ok for r in journal.host_results(first.run_id, "deploy")}
    assert by_host == {"web1": True, "web2": False}

    (tmp_path / "work" / "web2.fail").unlink()
    second = drill.resume(first.run_id)
    second.assert_succeeded()
    assert _lines(tmp_path, "web1") == ["v2; $(id)"], "web1 must not run twice"
    assert _lines(tmp_path, "web2") == ["v2; $(id)"]
    assert _lines(tmp_path, "web3") == ["v2; $(id)"]


def test_undo_runs_only_where_the_step_succeeded(tmp_path: Path, cluster: SshdCluster) -> None:
    drill = _drill(tmp_path, cluster)
    (tmp_path / "stop-here").touch()
    result = drill.run("fleet.roll_out", {"label": "v3"})
    assert result.outcome == "rolled_back"
    result.assert_compensated("deploy")
    for host in ("web1", "web2", "web3"):
        assert _lines(tmp_path, host) == ["v3", "undo"]

    (tmp_path / "stop-here").unlink()
    partial = _drill(tmp_path / "b", cluster)
    (tmp_path / "b" / "work" / "web3.fail").touch()
    failed = partial.run("fleet.roll_out", {"label": "v4"})
    assert failed.outcome == "rolled_back"
    assert _lines(tmp_path / "b", "web1") == ["v4", "undo"]
    assert _lines(tmp_path / "b", "web2") == ["v4", "undo"]
    assert _lines(tmp_path / "b", "web3") == []


def test_unknown_role_is_refused_before_anything_runs(tmp_path: Path, cluster: SshdCluster) -> None:
    drill = _drill(tmp_path, cluster)
    settings = dict(drill.settings)
    settings["hosts"] = {k: {**v, "roles": ["db"]} for k, v in settings["hosts"].items()}
    drill.settings = settings
    with pytest.raises(BadInput, match="web"):
        drill.run("fleet.roll_out", {"label": "x"})
    assert not open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}").runs()


class SecretPush(Runbook):
    """Hand a token to every host."""

    name = "fleet.secret_push"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        token: SecretStr = Field(description="API token the hosts need")

    push = Remote(
        'echo "using $TOKEN on" {host.name}; exit 3',
        env={"TOKEN": "{token}"},
        role="web",
        strategy="parallel",
        max_failures="100%",
    )


def test_secrets_sent_to_hosts_stay_out_of_every_record(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    canary = "canary-7Hq2-secret"
    drill = _drill(tmp_path, cluster)
    drill.runbooks = (SecretPush,)
    drill.environ = {"OPSBOOKS_SECRET_TOKEN": canary}
    result = drill.run("fleet.secret_push")
    assert result.outcome == "succeeded"  # 100% tolerated: every host failed, on purpose
    records = drill.journal().host_results(result.run_id, "push")
    assert len(records) == 3 and all("using *****" in r.output_tail for r in records)
    state = tmp_path / ".opsbooks"
    blobs = [p.read_bytes() for p in state.rglob("*") if p.is_file()]
    assert blobs and all(canary.encode() not in blob for blob in blobs)
    assert canary not in result.output


class ShipFile(Runbook):
    """Upload a file to every host, check it there, fetch it back."""

    name = "fleet.ship_file"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        source: str = Field(description="local file to ship")

    ship = Upload("{source}", "{host.counter}.shipped", role="web", strategy="parallel")
    check = Remote("grep -q payload {host.counter}.shipped", role="web", strategy="parallel")
    fetch = Download("{host.counter}.shipped", "{host.counter}.back", role="web")


def test_upload_and_download_steps_run_through_the_runner(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster)
    drill.runbooks = (ShipFile,)
    source = tmp_path / "payload.txt"
    source.write_text("payload v1\n")
    result = drill.run("fleet.ship_file", {"source": str(source)})
    result.assert_succeeded()
    for host in ("web1", "web2", "web3"):
        assert (tmp_path / "work" / f"{host}.count.back").read_text() == "payload v1\n"


def test_unreachable_hosts_beyond_the_threshold_are_refused_before_any_step(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster)
    cluster.kill("web3")
    with pytest.raises(BadInput, match=r"role 'web': 1 of 3 host\(s\) unreachable, 0 tolerated"):
        drill.run("fleet.roll_out", {"label": "v5"})
    assert _lines(tmp_path, "web1") == []
    assert not drill.journal().runs()


def test_unreachable_hosts_within_the_threshold_only_warn(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    drill = _drill(tmp_path, cluster)
    drill.runbooks = (SecretPush,)
    drill.environ = {"OPSBOOKS_SECRET_TOKEN": "x"}
    cluster.kill("web2")
    result = drill.run("fleet.secret_push")
    assert "note: unreachable host web2" in result.output
