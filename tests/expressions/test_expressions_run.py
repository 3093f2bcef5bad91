"""Expressions in ``when=`` and ``Branch(cases=...)`` in runs against the fakes: routes,
skip reasons in the journal, the dry run, resume, and the page and Mermaid text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from exprbooks.canary import Canary

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import Transition, open_journal
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.mermaid import render_flow
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend

S = StepStatus


def _backend(rate: str) -> FakeBackend:
    return FakeBackend(answers={"error_rate.txt": (0, f"::output error_rate={rate}\n")})


def _surroundings(backend: FakeBackend, scripted: dict[str, Any]) -> Surroundings:
    return Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted=scripted,
    )


def _run(
    root: Path, backend: FakeBackend, scripted: dict[str, Any] | None = None, **params: Any
) -> RunReport:
    report = start_run(
        Invocation(runbook=Canary.name, params=params, options=RunOptions()),
        Config(root=root),
        _surroundings(backend, scripted or {}),
        Catalog([Canary]),
    )
    assert report is not None
    return report


def _transitions(root: Path, run_id: str) -> list[Transition]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        return journal.transitions(run_id)
    finally:
        journal.close()


def _ran(backend: FakeBackend) -> list[str]:
    return [command.split(" >")[0] for command, _ in backend.calls]


def _reason(root: Path, run_id: str, step: str) -> str:
    return next(t.reason or "" for t in _transitions(root, run_id) if t.step_id == step)


def test_a_high_error_rate_routes_to_the_roll_back(tmp_path: Path) -> None:
    backend = _backend("7.5")
    report = _run(tmp_path, backend)
    assert report.outcome.value == "succeeded", report.reason
    assert _ran(backend) == [
        "echo 1.10.0",
        "echo migrated",
        'echo "::output error_rate=$(cat error_rate.txt)"',
        "echo rolled back 1.10.0",
    ]
    assert report.steps["watch"] is S.SKIPPED and report.steps["promote"] is S.SKIPPED
    decided = [t for t in _transitions(tmp_path, report.run_id) if t.step_id == "decide"]
    assert decided[-1].detail["route"] == "roll_back"
    assert _reason(tmp_path, report.run_id, "page_prod") == (
        'when \'environment in ["prod", "production"] and outputs.error_rate > 1\' is false '
        "(environment=staging, outputs.error_rate=7.5)"
    )


def test_a_middling_rate_asks_and_the_answer_decides_later_steps(tmp_path: Path) -> None:
    backend = _backend("3")
    report = _run(tmp_path, backend, {"watch": "roll back"}, environment="prod")
    assert report.outcome.value == "succeeded", report.reason
    assert report.steps["promote"] is S.SKIPPED
    assert _ran(backend)[-2:] == ["echo rolled back 1.10.0", "echo paged for expr.canary"]
    assert "answers.watch=roll back" in _reason(tmp_path, report.run_id, "promote")


def test_a_low_rate_promotes_with_the_run_id_in_the_command(tmp_path: Path) -> None:
    backend = _backend("0.5")
    report = _run(tmp_path, backend, version="1.9.3")
    assert report.steps["migrate"] is S.SKIPPED  # "1.9.3" >= "1.10.0" is false as versions
    assert f"echo promoted 1.9.3 by run {report.run_id}" in _ran(backend)
    assert report.steps["roll_back"] is S.SKIPPED


def test_a_case_that_cannot_be_decided_fails_the_branch_with_the_reason(tmp_path: Path) -> None:
    report = _run(tmp_path, _backend("n/a"))
    assert report.failed_step == "decide"
    assert "cannot order 'n/a' and 5" in report.reason


def test_resume_keeps_the_route_and_the_outputs_of_the_first_attempt(tmp_path: Path) -> None:
    first = _run(tmp_path, _backend("3"))  # nobody answers the watch gate: it stops
    assert first.outcome.value == "stopped" and first.steps["decide"] is S.SUCCEEDED
    backend = _backend("99")  # a second measurement would say "roll back": it must not run
    report = resume_run(
        ResumeRequest(run_id=first.run_id),
        Config(root=tmp_path),
        _surroundings(backend, {"watch": "promote"}),
        Catalog([Canary]),
    )
    assert report is not None and report.outcome.value == "succeeded", report.reason
    assert _ran(backend) == [f"echo promoted 1.10.0 by run {first.run_id}"]
    assert report.steps["roll_back"] is S.SKIPPED


def test_the_dry_run_says_what_the_params_decide() -> None:
    text = render_dry_run(ob.plan(Canary, Canary.Params(version="1.2.0")))
    assert 'only when: version >= "1.10.0" (false from the params: skipped)' in text
    assert 'only when: answers.watch != "roll back" (decided when it runs)' in text
    assert "decided when it runs (it depends on answers or outputs)" in text
    assert "$ echo promoted 1.2.0 by run {run_id} >> canary.txt" in text


def test_a_branch_on_params_is_decided_in_the_dry_run() -> None:
    class ByParams(ob.Runbook):
        """Route by params."""

        name = "expr.by_params"
        scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

        class Params(ob.Params):
            replicas: int = 3

        route = ob.Branch(cases={"replicas >= 3": "wide"}, default="narrow")
        narrow = ob.Manual("Scale by hand")
        wide = ob.Manual("Roll out wide")

    text = render_dry_run(ob.plan(ByParams, ByParams.Params()))
    assert "decided by the params: replicas >= 3 holds -> wide" in text
    text = render_dry_run(ob.plan(ByParams, ByParams.Params(replicas=1)))
    assert "decided by the params: no case holds -> narrow" in text


def test_mermaid_labels_each_case_edge_with_its_expression() -> None:
    flow = render_flow(ob.plan(Canary))
    assert 'step_decide -->|"outputs.error_rate #gt; 5"| step_roll_back' in flow
    assert 'step_decide -->|"outputs.error_rate #gt; 1"| step_watch' in flow
    assert 'step_decide -->|"otherwise"| step_promote' in flow


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ({"s": ob.Command("true", when="colour == 'red'")}, "neither a parameter nor a gate"),
        ({"s": ob.Command("true", when="params.nope")}, "which is not a parameter"),
        ({"s": ob.Command("true", when="outputs.rate > 1")}, "which no earlier step declares"),
        ({"s": ob.Command("true", when="answers.g"), "g": ob.Gate.confirm("?")}, "comes later"),
        ({"s": ob.Command("true", when="a = 1")}, "cannot read"),
        ({"s": ob.Branch(cases=[("x >", "t")]), "t": ob.Manual("t")}, "case 'x >'"),
        ({"s": ob.Branch(cases=[("nope > 1", "t")]), "t": ob.Manual("t")}, "names 'nope'"),
        ({"s": ob.Branch(cases=[("x > 1", "gone")])}, "branch target 'gone' is not a step"),
        (
            {"s": ob.Branch("x", {"1": "t"}, cases=[("x > 1", "t")]), "t": ob.Manual("t")},
            "not both",
        ),
        ({"s": ob.Branch()}, "a branch needs on= and routes=, or cases="),
    ],
)
def test_definition_errors_name_the_step_the_name_and_the_fix(
    steps: dict[str, Any], message: str
) -> None:
    class Params(ob.Params):
        x: int = 1

    namespace: dict[str, Any] = {
        "__doc__": "Bad expressions.",
        "name": "expr.bad",
        "scope": "tests",
        "owner": "sre",
        "last_reviewed": "2026-12-01",
        "Params": Params,
        **steps,
    }
    with pytest.raises(ob.DefinitionError) as caught:
        type("Bad", (ob.Runbook,), namespace)
    assert caught.value.step == "s" and message in str(caught.value), str(caught.value)
    if "names" in message or "parameter" in message:
        assert "known names: x" in str(caught.value)


def test_the_guide_shows_this_very_runbook() -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"
    text = guide.read_text(encoding="utf-8")
    start = text.index("## Expressions in `when=` and `Branch`")
    block = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    source = (Path(__file__).parent / "exprbooks" / "canary.py").read_text(encoding="utf-8")
    assert block.split("class Canary", 1)[1] == source.split("class Canary", 1)[1]
