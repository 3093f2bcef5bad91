"""``Plan.get`` and ``Plan.ids`` answer from an index built once, and change nothing else."""

from __future__ import annotations

import json

import pytest

import opsbooks as ob


class Long(ob.Runbook):
    """A runbook with an undo, to look steps and compensations up in."""

    name = "demo.lookups"
    scope = "x"
    owner = "me"
    last_reviewed = "2026-11-01"

    first = ob.Command("true", undo="put_back")
    second = ob.Command("true")
    put_back = ob.Command("true")  # named by an undo: a compensation


def test_get_finds_forward_steps_and_compensations() -> None:
    the_plan = ob.plan(Long)
    assert [the_plan.get(sid).id for sid in the_plan.ids()] == ["first", "second"]
    assert the_plan.get("put_back") is the_plan.compensations["put_back"]
    assert the_plan.find("nope") is None
    with pytest.raises(KeyError):
        the_plan.get("nope")


def test_ids_keep_the_order_and_a_caller_cannot_change_the_plans() -> None:
    the_plan = ob.plan(Long)
    ids = the_plan.ids()
    assert ids == ["first", "second"] == [p.id for p in the_plan.steps]
    ids.append("mine")  # the caller's own list: the plan does not change
    assert the_plan.ids() == ["first", "second"]


def test_the_index_is_not_part_of_the_plans_identity() -> None:
    looked_up, fresh = ob.plan(Long), ob.plan(Long)
    before = json.dumps(looked_up.to_dict(), sort_keys=True)
    looked_up.get("second")
    looked_up.ids()
    assert json.dumps(looked_up.to_dict(), sort_keys=True) == before
    assert looked_up.fingerprint == fresh.fingerprint
    assert looked_up == fresh  # equality compares the fields, never the caches
    assert "_index" not in repr(looked_up)
