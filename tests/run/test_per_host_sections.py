"""Node-first sections (``class upgrade(ob.Section, per_host=True)``), fast tier.

The whole session runs in-process: ``FakeHosts`` for the hosts, ``FakeBackend`` for
local commands, a ``FakeClock`` for the pauses and a real SQLite journal, whose host
records are what resume reads. Nothing is started, contacted or slept on.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.backends.rollout import HostResult
from opsbooks.define.contacts import Contacts
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.errors import DefinitionError
from opsbooks.records.events import Event, Notice
from opsbooks.records.journal import open_journal
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.markdown import render_runbook
from opsbooks.render.mermaid import render_flow
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing import FakeClock
from opsbooks.testing.fakes import FakeBackend, FakeHosts, HostCall

HOSTS = {"web1": {"roles": ["web"]}, "web2": {"roles": ["web"]}, "web3": {"roles": ["web"]}}
STEPS = ("drain", "install", "check")


def _book(*, undo_on_failure: bool = False, **rollout: Any) -> type[ob.Runbook]:
    """A runbook: a local step, then a node-first section of three host steps."""
    section = type(
        "upgrade",
        (ob.Section,),
        {
            "__doc__": "Upgrade the web hosts, one host at a time",
            "per_host": True,
            **rollout,
            "drain": ob.Remote("drain", role="web", undo=ob.Remote("undrain", role="web")),
            "install": ob.Remote(
                "install",
                role="web",
                undo=ob.Remote("uninstall", role="web"),
                undo_on_failure=undo_on_failure,
            ),
            "check": ob.RemoteVerify("check", role="web"),
        },
    )
    return type(
        "Upgrade",
        (ob.Runbook,),
        {
            "__doc__": "Upgrade the web fleet node first.",
            "__module__": __name__,
            "name": "unit.node_first",
            "scope": "node-first unit tests",
            "owner": "sre",
            "last_reviewed": dt.date(2026, 11, 1),
            "announce": ob.Command("echo start"),
            "upgrade": section,
            "done": ob.Command("echo done"),
        },
    )


def _surroundings(hosts: FakeHosts, clock: FakeClock, events: list[Event]) -> Surroundings:
    return Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=FakeBackend(),
        hosts=hosts,
        waits=clock,
        observers=(events.append,),
        install_signal_handlers=False,
    )


def _run(
    root: Path, book: type[ob.Runbook], hosts: FakeHosts, **options: Any
) -> tuple[RunReport, list[Event], FakeClock]:
    events: list[Event] = []
    clock = FakeClock()
    report = start_run(
        Invocation(runbook=book.name, params={}, options=RunOptions(**options)),
        Config(root=root, hosts=HOSTS),
        _surroundings(hosts, clock, events),
        Catalog([book]),
    )
    assert report is not None
    return report, events, clock


def _resume(root: Path, book: type[ob.Runbook], hosts: FakeHosts, run_id: str) -> RunReport:
    return resume_run(
        ResumeRequest(run_id=run_id, options=RunOptions()),
        Config(root=root, hosts=HOSTS),
        _surroundings(hosts, FakeClock(), []),
        Catalog([book]),
    )


def _failing(host: str, command: str, times: list[int] | None = None) -> FakeHosts:
    """Hosts where ``command`` fails on ``host`` (while ``times`` is non-empty, if given)."""

    def handler(call: HostCall) -> HostResult | None:
        if call.host == host and call.command == command and (times is None or times):
            if times:
                times.pop()
            return HostResult(host, "failed", 1, error=f"exit code 1 on {host}", error_kind="exit")
        return None

    return FakeHosts(handler)


def _order(hosts: FakeHosts) -> list[tuple[str, str]]:
    return [(c.host, c.command) for c in hosts.calls if c.action == "run"]


def _each(*names: str, steps: tuple[str, ...] = STEPS) -> list[tuple[str, str]]:
    return [(host, step) for host in names for step in steps]


def test_the_whole_section_runs_on_one_host_before_the_next(tmp_path: Path) -> None:
    hosts = FakeHosts()
    report, events, clock = _run(tmp_path, _book(pause_between_batches="30s"), hosts)
    assert report.outcome.value == "succeeded", report.reason
    assert _order(hosts) == _each("web1", "web2", "web3")
    assert clock.sleeps.count(30.0) == 2  # between the three batches, not after the last
    assert (
        sum(isinstance(e, Notice) and "waiting 30s before the next" in e.message for e in events)
        == 2
    )
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    records = [(r.host, r.step_id) for r in journal.host_results(report.run_id)]
    assert records == [(h, f"upgrade.{s}") for h, s in _each("web1", "web2", "web3")]
    states = journal.step_states(report.run_id)
    assert {states[f"upgrade.{s}"].value for s in STEPS} == {"succeeded"}


def test_batch_size_runs_the_section_on_that_many_hosts_at_a_time(tmp_path: Path) -> None:
    hosts = FakeHosts()
    report, *_ = _run(tmp_path, _book(batch_size=2), hosts)
    assert report.outcome.value == "succeeded", report.reason
    order = _order(hosts)
    first = sorted(order[:6])  # web1 and web2 in parallel, step by step
    assert first == sorted(_each("web1", "web2"))
    assert [s for _, s in order[:6]] == ["drain", "drain", "install", "install", "check", "check"]
    assert order[6:] == _each("web3")


def test_a_failure_on_host_2_stops_host_2_and_leaves_host_3_untouched(tmp_path: Path) -> None:
    book = _book()
    hosts = _failing("web2", "install")
    report, *_ = _run(tmp_path, book, hosts, no_rollback=True)
    assert report.outcome.value == "failed" and report.failed_step == "upgrade.install"
    assert "max_failures=0 tolerates 0 of 3" in report.reason
    assert _order(hosts) == [*_each("web1"), ("web2", "drain"), ("web2", "install")]
    assert "done" not in report.steps  # the step after the section never started

    fixed = FakeHosts()
    resumed = _resume(tmp_path, book, fixed, report.run_id)
    assert resumed.outcome.value == "succeeded", resumed.reason
    # web1 is not touched again; web2 goes on at its first step not done; then web3
    assert _order(fixed) == [("web2", "install"), ("web2", "check"), *_each("web3")]


def test_max_failures_tolerates_a_host_whose_section_stops(tmp_path: Path) -> None:
    hosts = _failing("web2", "install")
    report, events, _ = _run(tmp_path, _book(max_failures=1), hosts)
    assert report.outcome.value == "succeeded", report.reason
    assert _order(hosts) == [*_each("web1"), ("web2", "drain"), ("web2", "install"), *_each("web3")]
    said = [e.message for e in events if isinstance(e, Notice)]
    assert any("stops there on web2 (1 of 1 failed host(s) tolerated)" in m for m in said)

    second = _failing("web3", "drain")
    hosts = _failing("web1", "drain")
    report, *_ = _run(
        tmp_path / "two", _book(max_failures=1), _both(hosts, second), no_rollback=True
    )
    assert report.outcome.value == "failed" and report.failed_step == "upgrade.drain"
    assert "1 host(s) had failed before" in report.reason


def _both(one: FakeHosts, other: FakeHosts) -> FakeHosts:
    assert one.handler is not None and other.handler is not None
    first, second = one.handler, other.handler
    return FakeHosts(lambda call: first(call) or second(call))


def test_rollback_undoes_each_host_s_done_steps_only(tmp_path: Path) -> None:
    hosts = _failing("web2", "install")
    report, *_ = _run(tmp_path, _book(), hosts)
    assert report.outcome.value == "rolled_back", report.reason
    undone = [(c.host, c.command) for c in hosts.calls if c.command.startswith("un")]
    assert sorted(undone) == [("web1", "undrain"), ("web1", "uninstall"), ("web2", "undrain")]
    assert undone.index(("web1", "uninstall")) < undone.index(("web1", "undrain"))
    assert not [c for c in hosts.calls if c.host == "web3" and c.action == "run"]


def test_undo_on_failure_undoes_the_failed_host_and_the_others_go_on(tmp_path: Path) -> None:
    book = _book(max_failures=1, undo_on_failure=True)
    hosts = _failing("web2", "install", times=[1])
    report, *_ = _run(tmp_path, book, hosts)
    assert report.outcome.value == "succeeded", report.reason
    web2 = hosts.ran("web2")
    assert web2 == ["drain", "install", "uninstall", "undrain"]
    assert hosts.ran("web3") == list(STEPS)
    assert hosts.ran("web1") == list(STEPS)


def test_the_page_dry_run_and_mermaid_say_node_first() -> None:
    book = _book(batch_size=2, max_failures=1, pause_between_batches="1m")
    plan = ob.plan(book, book.Params())
    said = "node-first: the whole section on one host before the next, 2 at a time"
    page = render_runbook(book, Contacts())
    assert said in page and "tolerates 1 failed host(s)" in page and "waits 1m" in page
    assert said in render_dry_run(plan)
    assert "node-first" in render_flow(plan)


def test_the_section_rollout_is_part_of_the_fingerprint() -> None:
    one, two = _book(), _book(batch_size=2)
    assert ob.plan(one, one.Params()).fingerprint != ob.plan(two, two.Params()).fingerprint


@pytest.mark.parametrize(
    ("member", "said"),
    [
        (ob.Command("echo hi"), "upgrade.odd is a Command step, but node-first section"),
        (ob.Remote("x", role="db"), "upgrade.odd runs on role 'db' but upgrade.drain on role"),
        (ob.Remote("x", role="web", batch_size=2), "declares its own roll-out (batch_size=2)"),
        (ob.Remote("x", role="web", undo=ob.Command("y")), "is a Command step"),
    ],
)
def test_a_node_first_section_takes_host_steps_on_one_target(member: ob.Step, said: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(said)):
        type(
            "Bad",
            (ob.Runbook,),
            {
                "__module__": __name__,
                "__doc__": "A node-first section with a step that does not fit.",
                "scope": "unit tests",
                "name": "unit.bad",
                "owner": "sre",
                "last_reviewed": dt.date(2026, 11, 1),
                "upgrade": type(
                    "upgrade",
                    (ob.Section,),
                    {"per_host": True, "drain": ob.Remote("d", role="web"), "odd": member},
                ),
            },
        )


def test_a_bad_section_rollout_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="max_failures='many' is how many failed hosts"):
        _book(max_failures="many")
    with pytest.raises(DefinitionError, match="batch_size=0 must be a whole number"):
        _book(batch_size=0)


class _Crash(BaseException):
    """The process dies mid-command: nothing after this point is journaled."""


def test_resume_after_a_crash_asks_about_the_step_in_flight_on_its_host(tmp_path: Path) -> None:
    book = _book()

    def crash(call: HostCall) -> HostResult | None:
        if call.host == "web2" and call.command == "install":
            raise _Crash
        return None

    hosts = FakeHosts(crash)
    with pytest.raises(_Crash):
        _run(tmp_path, book, hosts)
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    (run,) = journal.runs()
    assert journal.step_states(run.id)["upgrade.install"].value == "running"
    fixed = FakeHosts()
    resumed = resume_run(
        ResumeRequest(run_id=run.id, options=RunOptions(force=True)),
        Config(root=tmp_path, hosts=HOSTS),
        replace(
            _surroundings(fixed, FakeClock(), []),
            scripted={"resume:upgrade.install": "re-run"},
        ),
        Catalog([book]),
    )
    assert resumed.outcome.value == "succeeded", resumed.reason
    assert _order(fixed) == [("web2", "install"), ("web2", "check"), *_each("web3")]
    asked = [g.step_id for g in journal.gates(run.id)]
    assert asked == ["resume:upgrade.install"]


def test_the_guide_s_example_runs_node_first(tmp_path: Path) -> None:
    guide = Path(__file__).parents[2] / "docs" / "guides" / "writing-runbooks.md"
    text = guide.read_text().split("### Node-first roll-outs", 1)[1]
    source = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {"ob": ob, "__name__": "guide_node_first"}
    exec(compile("import opsbooks as ob\n" + source, str(guide), "exec"), scope)
    book = scope["UpgradeWeb"]
    hosts = FakeHosts()
    report, _, clock = _run(tmp_path, book, hosts)
    assert report.outcome.value == "succeeded", report.reason
    order = [host for host, _ in _order(hosts)]
    assert order == ["web1"] * 3 + ["web2"] * 3 + ["web3"] * 3
    assert clock.sleeps.count(30.0) == 2


def test_pause_true_asks_before_the_next_batch_and_a_no_stops_resumably(tmp_path: Path) -> None:
    book = _book(pause_between_batches=True)
    hosts = FakeHosts()
    report = start_run(
        Invocation(runbook=book.name, params={}, options=RunOptions()),
        Config(root=tmp_path, hosts=HOSTS),
        _surroundings(hosts, FakeClock(), []),  # nobody at the terminal to say yes
        Catalog([book]),
    )
    assert report is not None and report.outcome.value == "stopped", report.reason
    assert _order(hosts) == _each("web1")
    fixed = FakeHosts()
    resumed = resume_run(
        ResumeRequest(run_id=report.run_id, options=RunOptions(yes=True)),
        Config(root=tmp_path, hosts=HOSTS),
        _surroundings(fixed, FakeClock(), []),
        Catalog([book]),
    )
    assert resumed.outcome.value == "succeeded", resumed.reason
    assert _order(fixed) == _each("web2", "web3")
