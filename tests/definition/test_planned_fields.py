"""``_planned`` builds a ``PlannedStep`` without its frozen ``__init__`` (planning speed,
issue 18 row 4): every planned step of the house catalog must still be exactly what the
constructor makes, field for field, so a field added later cannot be left unset."""

from __future__ import annotations

import dataclasses

import pytest

import opsbooks as ob
from opsbooks.edges.discovery import discover
from opsbooks.plan.binding import PlannedStep
from opsbooks.testing import installed_catalogs

_FIELDS = {f.name for f in dataclasses.fields(PlannedStep)}


class Shapes(ob.Runbook):
    """A step of each common shape: templates, outputs, a note, an undo, a condition."""

    name = "demo.shapes"
    scope = "x"
    owner = "me"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        where: str = "here"

    find = ob.Command("echo ::output target=x", outputs=("target",))
    use = ob.Command(
        "deploy {outputs.target} to {where}", note="to {outputs.target}", undo="put_back"
    )
    later = ob.Command("echo {run_id}", when="where == 'here'", tags=("t",))
    put_back = ob.Command("true")


def _all_plans() -> list[ob.Plan]:
    catalog = discover(tuple(installed_catalogs()))
    return [ob.plan(Shapes, Shapes.Params()), *(ob.plan(runbook) for runbook in catalog)]


@pytest.mark.parametrize("the_plan", _all_plans(), ids=lambda p: p.name)
def test_every_planned_step_equals_the_constructors(the_plan: ob.Plan) -> None:
    for planned in the_plan.all_steps():
        assert set(vars(planned)) == _FIELDS, planned.id
        rebuilt = PlannedStep(**{name: getattr(planned, name) for name in _FIELDS})
        assert vars(rebuilt) == vars(planned)
        assert rebuilt == planned
        with pytest.raises(dataclasses.FrozenInstanceError):
            planned.id = "changed"  # type: ignore[misc]
