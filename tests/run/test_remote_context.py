"""Issue 14, remote part, fast tier: run-time targets, remote context, per-host outputs,
host output and error text, timed pauses between batches, and checks on hosts.

The whole session runs in-process with ``FakeHosts`` for the hosts, ``FakeBackend`` for
local commands, a ``FakeClock`` for waits and a real SQLite journal (the record under
test); nothing is started, contacted or slept on.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.backends.rollout import HostResult
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.errors import BadInput, DefinitionError
from opsbooks.records.events import Event, HostFinished, Notice
from opsbooks.records.journal import open_journal
from opsbooks.render.report import render_markdown, report_data
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing import FakeClock
from opsbooks.testing.fakes import FakeBackend, FakeHosts, HostCall

HOSTS = {
    "web1": {"roles": ["web"]},
    "web2": {"roles": ["web"]},
    "db1": {"roles": ["db"]},
}


class Fleet(ob.Runbook):
    """Capture a version per host, deploy with it, then check every host."""

    name = "unit.fleet"
    scope = "remote unit tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(ob.Params):
        target_role: str = "web"
        servers: str = "web1,web2"
        token: ob.SecretStr = ob.SecretStr("s3cret")

    capture = ob.Remote("cat /etc/version", hosts="{servers}", outputs=("version",))
    deploy = ob.Remote(
        "deploy --from {outputs.version} {host.name}",
        role="{target_role}",
        cwd="/srv/{host.name}",
        umask="027",
        become="deploy",
        env={"TOKEN": "{token}"},
        strategy="batches",
        batch_size=1,
        pause_between_batches="30s",
    )
    healthy = ob.RemoteVerify("curl -fs localhost/health", role="{target_role}", expect="200")
    settled = ob.RemoteWait("test -e /run/ready", role="{target_role}", poll=ob.Poll(5, 60))

    @ob.step()
    def tally(self, ctx: ob.StepContext) -> str:
        """Read the captured versions: a mapping host -> value."""
        versions = ctx.outputs["version"]
        return ",".join(f"{host}={versions[host]}" for host in sorted(versions))


def _versions(call: HostCall) -> HostResult | None:
    if call.action == "run" and call.command == "cat /etc/version":
        number = call.host.removeprefix("web")
        return HostResult(call.host, "ok", 0, stdout=f"::output version=1.{number}\n")
    return None


def _run(
    root: Path, hosts: FakeHosts, *, params: dict[str, Any] | None = None, **options: Any
) -> tuple[RunReport, list[Event], FakeClock, io.StringIO]:
    events: list[Event] = []
    clock = FakeClock()
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=FakeBackend(),
        hosts=hosts,
        waits=clock,
        observers=(events.append,),
        install_signal_handlers=False,
    )
    report = start_run(
        Invocation(runbook=Fleet.name, params=params or {}, options=RunOptions(**options)),
        Config(root=root, hosts=HOSTS),
        surroundings,
        Catalog([Fleet]),
    )
    assert report is not None
    return report, events, clock, out


def _resume(root: Path, hosts: FakeHosts, run_id: str) -> RunReport:
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit", "OPSBOOKS_SECRET_TOKEN": "s3cret"},
        interactive=False,
        backend=FakeBackend(),
        hosts=hosts,
        waits=FakeClock(),
        install_signal_handlers=False,
    )
    return resume_run(
        ResumeRequest(run_id=run_id, options=RunOptions()),
        Config(root=root, hosts=HOSTS),
        surroundings,
        Catalog([Fleet]),
    )


def _journal(root: Path) -> Any:
    return open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")


def test_outputs_are_kept_per_host_and_bind_per_host(tmp_path: Path) -> None:
    hosts = FakeHosts(_versions)
    report, events, clock, _ = _run(tmp_path, hosts)
    assert report.outcome.value == "succeeded", report.reason
    assert hosts.ran("web1")[1] == "umask 027 || exit 1\ncd -- /srv/web1 || exit 1\n" + (
        "deploy --from 1.1 web1"
    )
    assert "deploy --from 1.2 web2" in hosts.ran("web2")[1]
    deploys = [c for c in hosts.calls if c.command.endswith("web2") and c.action == "run"]
    assert deploys[0].become == "deploy" and deploys[0].env["TOKEN"] == "s3cret"
    assert "s3cret" not in deploys[0].command
    journal = _journal(tmp_path)
    details = {t.step_id: t.detail for t in journal.transitions(report.run_id)}
    assert details["capture"]["host_outputs"] == {"version": {"web1": "1.1", "web2": "1.2"}}
    assert details["tally"]["outputs"] == {"tally": "web1=1.1,web2=1.2"}
    # the timed pause between the two batches, through the injected clock
    assert clock.sleeps.count(30.0) == 1
    assert any(isinstance(e, Notice) and "waiting 30s before the next" in e.message for e in events)


def test_run_time_targets_are_checked_before_any_step(tmp_path: Path) -> None:
    hosts = FakeHosts(_versions)
    with pytest.raises(BadInput) as caught:
        _run(tmp_path, hosts, params={"servers": "web1,web9"})
    assert caught.value.exit_code == 2
    assert "web9" in str(caught.value) and "known hosts: web1, web2, db1" in str(caught.value)
    with pytest.raises(BadInput, match="no host has role 'cache'; known roles: web, db"):
        _run(tmp_path, hosts, params={"target_role": "cache"})
    with pytest.raises(BadInput, match="empty value"):
        _run(tmp_path, hosts, params={"servers": " "})
    assert hosts.calls == []  # nothing contacted, not even a probe


def test_a_failing_host_says_why_in_its_own_words(tmp_path: Path) -> None:
    def broken(call: HostCall) -> HostResult | None:
        if call.host == "web2" and "deploy" in call.command:
            return HostResult(
                "web2",
                "failed",
                1,
                stdout_tail="reloading",
                stderr_tail="nginx: [emerg] unknown directive",
                error="exit code 1 on web2",
                error_kind="exit",
            )
        return _versions(call)

    report, events, _, out = _run(tmp_path, FakeHosts(broken), no_rollback=True)
    assert report.outcome.value == "failed" and report.failed_step == "deploy"
    assert "web2 failed: exit code 1 on web2: nginx: [emerg] unknown directive" in report.reason
    console = out.getvalue()
    assert "    host web2: FAILED exit code 1 on web2: nginx: [emerg] unknown" in console
    assert "      web2 | nginx: [emerg] unknown directive" in console
    finished = [e for e in events if isinstance(e, HostFinished) and e.host == "web2"]
    assert "reloading" in finished[-1].output
    journal = _journal(tmp_path)
    data = report_data(
        journal.get_run(report.run_id),
        journal.transitions(report.run_id),
        journal.gates(report.run_id),
        journal.host_results(report.run_id),
        {},
    )
    page = render_markdown(data)
    assert "### Host output" in page
    assert "`deploy` on web2 (failed):" in page and "nginx: [emerg]" in page


def test_resume_replays_per_host_outputs_of_hosts_it_skips(tmp_path: Path) -> None:
    down = {"web2"}

    def flaky(call: HostCall) -> HostResult | None:
        if call.host in down and call.command == "cat /etc/version":
            return HostResult(call.host, "failed", 1, error="exit code 1", error_kind="exit")
        return _versions(call)

    hosts = FakeHosts(flaky)
    first, *_ = _run(tmp_path, hosts, no_rollback=True)
    assert first.outcome.value == "failed" and first.failed_step == "capture"
    down.clear()
    hosts.calls.clear()
    second = _resume(tmp_path, hosts, first.run_id)
    assert second.outcome.value == "succeeded", second.reason
    assert "cat /etc/version" not in hosts.ran("web1")  # done before: skipped
    assert any("deploy --from 1.1 web1" in c for c in hosts.ran("web1"))  # yet bound
    assert second.outputs["tally"] == "web1=1.1,web2=1.2"


def test_a_host_that_prints_no_declared_output_fails_there(tmp_path: Path) -> None:
    def silent(call: HostCall) -> HostResult | None:
        return None if call.host == "web2" else _versions(call)

    report, *_ = _run(tmp_path, FakeHosts(silent), no_rollback=True)
    assert report.failed_step == "capture"
    assert "web2 printed no line `::output version=VALUE`" in report.reason


def test_checks_on_hosts_report_per_host_and_wait_per_host(tmp_path: Path) -> None:
    polls: dict[str, int] = {}

    def checks(call: HostCall) -> HostResult | None:
        if call.command == "curl -fs localhost/health" and call.host == "web1":
            return HostResult("web1", "failed", 22, error="exit code 22", error_kind="exit")
        if call.command == "test -e /run/ready":
            polls[call.host] = polls.get(call.host, 0) + 1
            if call.host == "web2" and polls["web2"] < 3:
                return HostResult("web2", "failed", 1, error="exit code 1", error_kind="exit")
        return _versions(call)

    report, *_ = _run(tmp_path, FakeHosts(checks), no_rollback=True)
    assert report.failed_step == "healthy"
    assert "the check did not hold on web1; expected: 200 (exit code 22)" in report.reason
    journal = _journal(tmp_path)
    checked = {r.host: r.ok for r in journal.host_results(report.run_id, "healthy")}
    assert checked == {"web1": False, "web2": True}

    def healthy(call: HostCall) -> HostResult | None:
        return None if call.command == "curl -fs localhost/health" else checks(call)

    polls.clear()
    fixed = FakeHosts(healthy)
    resumed = _resume(tmp_path, fixed, report.run_id)
    assert resumed.outcome.value == "succeeded", resumed.reason
    # a check is read-only: the resume checks web2 again, though it passed before
    assert sorted(c.host for c in fixed.calls if c.command.startswith("curl")) == ["web1", "web2"]
    assert polls == {"web1": 1, "web2": 3}


def test_definition_errors_name_the_step_and_the_fix() -> None:
    def define(**step: Any) -> None:
        attrs: dict[str, Any] = {
            "__doc__": "Bad.",
            "name": "t.bad",
            "scope": "x",
            "owner": "me",
            "last_reviewed": "2026-11-01",
            "Params": type("Params", (ob.Params,), {"__annotations__": {"pw": "ob.SecretStr"}}),
        }
        attrs["go"] = step.pop("kind", ob.Remote)("true", **step)
        type("Bad", (ob.Runbook,), attrs)

    cases = [
        ({}, "give exactly one of role="),
        ({"role": "web", "hosts": "web1"}, "give exactly one of role="),
        ({"role": "{nope}"}, "names {nope}, which is not a parameter"),
        ({"role": "web", "umask": "999"}, "is not an octal mask"),
        ({"role": "web", "become": "root; id"}, "is not a user name"),
        ({"role": "web", "cwd": "/srv/{pw}"}, "secret {pw} in cwd="),
        ({"role": "web", "pause_between_batches": "soon"}, "give True"),
        ({"kind": ob.Upload, "remote": "/x", "role": "web", "outputs": ("n",)}, "drop outputs="),
        ({"role": "web", "kind": ob.RemoteVerify, "expect": "ok"}, None),
    ]
    for keywords, message in cases:
        if message is None:
            define(**keywords)
            continue
        with pytest.raises(DefinitionError, match=message.replace("{", r"\{").replace("(", r"\(")):
            define(**keywords)


def test_a_plain_remote_step_keeps_its_fingerprint_shape() -> None:
    assert ob.Remote("true", role="web").shape() == {}
    assert ob.Remote("true", role="{r}", cwd="/x").shape() == {"cwd": "/x", "role": "{r}"}
