"""The live screen's state model: events and output in, what the screen shows out.

Pure: no terminal, no rich, no clock (each call says what time it is).
"""

from __future__ import annotations

import io

import pytest

import opsbooks as ob
from opsbooks.edges.console import Console
from opsbooks.edges.screen import ScreenModel, Target, clock_face, targets_of
from opsbooks.edges.terminal import PausingPrompter, console_for
from opsbooks.edges.tty import on_terminal, wants_color
from opsbooks.plan.binding import plan
from opsbooks.records.events import (
    HostFinished,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from opsbooks.records.redaction import Redactor
from opsbooks.run.gates import GateAnswer, GateRequest


def _started(steps: int = 3) -> RunStarted:
    return RunStarted("demo.deploy", "r1", "alice", {}, "f" * 12, False, steps)


def _step(step: str, index: int, total: int = 3, command: str | None = "make") -> StepStarted:
    return StepStarted(step, "command", step.title(), index, total, command)


def test_nothing_is_drawn_before_a_step_starts_or_after_it_ends() -> None:
    model = ScreenModel()
    model.feed(_started(), 0.0)
    assert model.view(1.0) is None
    model.feed(_step("build", 1), 1.0, label="[1/3] build: Build (command)", command="make")
    assert model.view(1.5) is not None
    model.feed(StepFinished("build", "succeeded", 2.0), 3.0)
    assert model.view(3.5) is None


def test_the_running_step_shows_its_label_command_elapsed_time_and_progress() -> None:
    model = ScreenModel()
    model.feed(_started(), 0.0)
    model.feed(StepFinished("fetch", "skipped", 0.0, reason="--skip"), 0.0)
    model.feed(_step("build", 2), 10.0, label="[2/3] build: Build (command)", command="make all")
    view = model.view(17.25)
    assert view is not None
    assert (view.step, view.command, view.elapsed) == (
        "[2/3] build: Build (command)",
        "make all",
        7.25,
    )
    assert (view.steps_done, view.steps_total) == (1, 3)
    assert view.hosts_line == ""  # a local step has no hosts


def test_only_the_last_output_lines_are_kept_and_a_half_line_shows_as_it_grows() -> None:
    model = ScreenModel()
    model.feed(_step("build", 1), 0.0)
    model.output("line 1\nline 2\n\nline 3\nline 4\nline 5\nline 6\nhalf")
    view = model.view(1.0)
    assert view is not None
    assert view.tail == ("line 3", "line 4", "line 5", "line 6", "half")
    model.output(" a line\n")
    view = model.view(1.0)
    assert view is not None and view.tail[-1] == "half a line"


def test_a_new_step_starts_with_an_empty_tail_and_no_hosts() -> None:
    model = ScreenModel({"roll": Target(hosts=2)})
    model.feed(_step("roll", 1), 0.0)
    model.output("old output\n")
    model.feed(HostFinished("roll", "web1", True, 0, 1.0, ""), 1.0)
    model.feed(StepFinished("roll", "succeeded", 1.0), 1.0)
    model.feed(_step("next", 2), 2.0)
    view = model.view(2.0)
    assert view is not None
    assert (view.tail, view.hosts_ok, view.hosts_total) == ((), 0, 0)


def test_a_roll_out_in_batches_counts_hosts_done_and_failed_and_its_batch() -> None:
    model = ScreenModel({"roll": Target(hosts=6, batch=2)})
    model.feed(_started(1), 0.0)
    model.feed(_step("roll", 1, total=1), 0.0)
    first = model.view(0.0)
    assert first is not None and first.batch == (1, 3)
    assert first.hosts_line == "hosts: 0 ok of 6 (batch 1 of 3)"
    for host, ok in (("web1", True), ("web2", True), ("web3", False)):
        model.feed(HostFinished("roll", host, ok, 0 if ok else 1, 1.0, "" if ok else "exit 1"), 1.0)
    view = model.view(2.0)
    assert view is not None
    assert (view.hosts_ok, view.hosts_failed, view.hosts_total) == (2, 1, 6)
    assert view.batch == (2, 3)
    assert view.hosts_line == "hosts: 2 ok, 1 failed of 6 (batch 2 of 3)"


def test_a_serial_or_parallel_roll_out_has_no_batch_count_when_all_go_at_once() -> None:
    model = ScreenModel({"all": Target(hosts=3, batch=3)})
    model.feed(_step("all", 1, total=1), 0.0)
    view = model.view(0.0)
    assert view is not None and view.batch is None and view.hosts_total == 3


def test_the_run_ending_clears_the_screen() -> None:
    model = ScreenModel()
    model.feed(_step("build", 1), 0.0)
    model.feed(RunFinished("failed", 1.0, failed_step="build"), 1.0)
    assert model.view(2.0) is None


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.04, "0.0s"), (7.25, "7.2s"), (185, "3:05"), (3729, "1:02:09")]
)
def test_the_elapsed_time_reads_like_a_clock(seconds: float, shown: str) -> None:
    assert clock_face(seconds) == shown


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_or_a_dumb_terminal_gets_the_plain_console() -> None:
    assert not on_terminal(io.StringIO(), {})
    assert not on_terminal(_Tty(), {"TERM": "dumb"})
    assert on_terminal(_Tty(), {"TERM": "xterm-256color"})
    plain = console_for(io.StringIO(), Redactor(), {"TERM": "xterm"})
    assert type(plain) is Console


@pytest.mark.parametrize(
    ("environ", "flag", "color"),
    [
        ({}, False, True),
        ({"NO_COLOR": "1"}, False, False),
        ({"NO_COLOR": ""}, False, True),
        ({}, True, False),
    ],
)
def test_no_color_or_the_flag_turns_colour_off(
    environ: dict[str, str], flag: bool, color: bool
) -> None:
    assert wants_color(environ, no_color=flag) is color


def test_a_person_is_asked_with_the_screen_paused() -> None:
    seen: list[str] = []

    class Paused:
        def __enter__(self) -> None:
            seen.append("paused")

        def __exit__(self, *exc: object) -> None:
            seen.append("resumed")

    class Person:
        def answer(self, request: GateRequest) -> GateAnswer | None:
            seen.append(f"asked {request.step_id}")
            return GateAnswer(True, "alice", "terminal", 0.0, 1.0)

    prompter = PausingPrompter(Person(), Paused)
    answer = prompter.answer(GateRequest(step_id="go", kind="confirm", title="Go", prompt="Go?"))
    assert answer is not None and answer.approved
    assert seen == ["paused", "asked go", "resumed"]


class _Rollout(ob.Runbook):
    """Roll a restart out over the web hosts."""

    name = "demo.rollout"
    owner = "sre"
    scope = "The web hosts."
    last_reviewed = "2026-12-02"

    one_by_one = ob.Remote("restart app", role="web")
    in_batches = ob.Remote("reload app", role="web", strategy="batches", batch_size=2)
    at_once = ob.Remote("flush cache", hosts="web1,web2", strategy="parallel")
    local = ob.Command("echo done")


def test_each_remote_step_gets_its_host_count_and_batch_from_the_resolution() -> None:
    resolved = {"web": ["web1", "web2", "web3", "web4", "web5"], "web1,web2": ["web1", "web2"]}
    assert targets_of(plan(_Rollout), resolved) == {
        "one_by_one": Target(5, 1),
        "in_batches": Target(5, 2),
        "at_once": Target(2, 2),
    }
