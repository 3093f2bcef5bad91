"""Port of braintree/runbook's composition by delegation ("Deep Nesting" in its README)::

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

The peer runs ``print_peas`` "in isolation" by spawning a process: nothing links the two
runs, and a failed ``print_peas`` cannot be resumed from the parent. Here ``SubRun`` is
that delegation as a linked run (its own journal and outcome, resumed with the parent).
``Include`` takes no ``when=``, so the ``carrots`` book is a linked run here as well.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.records.journal import open_journal
from opsbooks.testing.fakes import FakeBackend

_DOC = {"scope": "a port", "owner": "sre", "last_reviewed": "2026-12-01"}


class PrintPeas(ob.Runbook):
    """Print the peas."""

    name, scope, owner, last_reviewed = "ports.print_peas", *_DOC.values()
    print_peas = ob.Command("echo peas")


class Carrots(ob.Runbook):
    """Deal with the carrots."""

    name, scope, owner, last_reviewed = "ports.carrots", *_DOC.values()
    peel = ob.Command("echo peel carrots")


class InspectPlate(ob.Runbook):
    """Inspect the plate and hand each vegetable to its own runbook."""

    name, scope, owner, last_reviewed = "ports.inspect_plate", *_DOC.values()
    vegetable = ob.Gate.ask("What's on the plate?")
    carrots = ob.SubRun(Carrots, when='vegetable == "carrots"')
    peas = ob.SubRun(PrintPeas, when='vegetable == "peas"')
    other = ob.Command(
        "echo Found {answers.vegetable}!", when="vegetable not in ['carrots', 'peas']"
    )


@pytest.mark.parametrize(
    ("answer", "commands", "children"),
    [
        ("carrots", ["echo peel carrots"], ["ports.carrots"]),
        ("peas", ["echo peas"], ["ports.print_peas"]),
        ("beans", ["echo Found beans!"], []),
    ],
)
def test_each_vegetable_goes_to_its_own_linked_run(
    answer: str, commands: list[str], children: list[str], tmp_path: Path
) -> None:
    backend = FakeBackend()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "port"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted={"vegetable": answer},
    )
    invocation = Invocation(runbook=InspectPlate.name)
    report = start_run(invocation, Config(root=tmp_path), surroundings, Catalog([InspectPlate]))
    assert report is not None and report.outcome.value == "succeeded", report
    assert [command for command, _ in backend.calls] == commands
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    try:
        linked = [
            t.detail["child_run"]
            for t in journal.transitions(report.run_id)
            if "child_run" in t.detail
        ]
        assert sorted({journal.get_run(c).runbook for c in linked}) == children
    finally:
        journal.close()
