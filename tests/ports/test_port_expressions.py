"""Port of braintree/runbook's ``ask`` examples, decided by expressions instead of Ruby.

The peer (README, "Ask" and "Deep Nesting")::

    ask "What percentage of requests are failing?", into: :failing_request_percentage,
      default: "100", echo: true
    ruby_command do
      note "Failing request percentage: #{@failing_request_percentage}"
    end

    step "Inspect plate" do
      ask "What's on the plate?", into: :vegetable
      ruby_command do |rb_cmd, metadata|
        case (veggie = @vegetable)
        when "carrots"
          add carrots_book
        when "peas"
          system("runbook exec examples/print_peas.rb")
        else
          metadata[:toolbox].warn("Found #{veggie}!")
        end
      end
    end

The peer must wrap every use of an answer in a ``ruby_command`` (its README: "Why is my
variable/method not set?") and cannot dry-run the branches. Here an answer is
``{answers.GATE}`` in any template and a name in any ``when=``, checked at definition.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.run.options import RunOptions
from opsbooks.testing.fakes import FakeBackend


class Plate(ob.Runbook):
    """Ask what is failing and what is on the plate; act on the answers."""

    name, scope, owner, last_reviewed = "ports.plate", "a port", "sre", "2026-12-01"

    failing = ob.Gate.ask("What percentage of requests are failing?", int, default=100)
    report = ob.Command("echo Failing request percentage: {answers.failing}")
    vegetable = ob.Gate.ask("What's on the plate?")
    carrots = ob.Command("carrots-book", when='vegetable == "carrots"')
    peas = ob.Command("runbook-exec print_peas", when='vegetable == "peas"')
    other = ob.Command(
        "echo Found {answers.vegetable}!", when="vegetable not in ['carrots', 'peas']"
    )
    page = ob.Command("page-oncall", when="failing > 50")


def run(answers: dict[str, Any], tmp_path: Path) -> list[str]:
    backend = FakeBackend()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "port"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted=answers,
    )
    report = start_run(
        Invocation(runbook=Plate.name, params={}, options=RunOptions()),
        Config(root=tmp_path),
        surroundings,
        Catalog([Plate]),
    )
    assert report is not None and report.outcome.value == "succeeded", report
    return [command for command, _ in backend.calls]


@pytest.mark.parametrize(
    ("answers", "ran"),
    [
        ({"failing": "12", "vegetable": "carrots"}, ["carrots-book"]),
        ({"failing": "80", "vegetable": "peas"}, ["runbook-exec print_peas", "page-oncall"]),
        ({"failing": "5", "vegetable": "kale"}, ["echo Found kale!"]),
    ],
)
def test_the_answers_decide_which_steps_run(
    answers: dict[str, Any], ran: list[str], tmp_path: Path
) -> None:
    commands = run(answers, tmp_path)
    assert commands[0] == f"echo Failing request percentage: {answers['failing']}"
    assert commands[1:] == ran


def test_the_port_reads_shorter_than_the_peer() -> None:
    source = Path(__file__).read_text().split("class Plate", 1)[1].split("\n\n\ndef ", 1)[0]
    ours = [line for line in source.splitlines() if line.strip()]
    peer = (__doc__ or "").split("::", 1)[1].split("The peer must", 1)[0]
    theirs = [line for line in peer.splitlines() if line.strip()]
    assert len(ours) <= len(theirs), (len(ours), len(theirs))
