"""The keywords every step kind shares, at definition and plan time: their checks, the
``@step`` decorator, the fingerprint, the tag selection and the dry run. Pure, fast.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.plan.binding import fingerprint
from opsbooks.render.dryrun import render_dry_run


def _book(**steps: Any) -> type[ob.Runbook]:
    """A runbook class with ``steps``, defined (and so checked) on the spot."""
    body: dict[str, Any] = {
        "__doc__": "Exercise the step keywords.",
        "name": "unit.kw",
        "scope": "keyword tests",
        "owner": "sre",
        "last_reviewed": dt.date(2026, 11, 1),
        "Params": type("Params", (ob.Params,), {"__annotations__": {"app": str}, "app": "shop"}),
        **steps,
    }
    return type("Book", (ob.Runbook,), body)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (ob.Command("x", on_failure="ignore"), "on_failure='ignore' is not one of"),  # type: ignore[arg-type]
        (ob.Gate.confirm("ok?", on_failure="continue"), "does nothing on a gate"),
        (ob.Command("x", tags=("two words",)), "tag 'two words' is not a tag"),
        (ob.Command("x", tags=("a,b",)), "no spaces or commas"),
        (ob.Command("x", setup=True, undo="undo_x"), "setup=True runs the step again"),
        (ob.Command("x", rerun_on_resume=True, undo="undo_x"), "cannot have an undo"),
        (ob.Command("x", note="Restarting {ap}"), "{ap}"),  # the template checks or ours
        (ob.Command("x", note="on {host.name}"), "steps that run on hosts"),
        (ob.Command("x", quiet="yes"), "quiet= takes True or False"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_keyword_is_a_definition_error_naming_the_step(step: ob.Step, message: str) -> None:
    with pytest.raises(ob.DefinitionError, match=r"runbook unit\.kw, step 'first': ") as caught:
        _book(first=step, undo_x=ob.Command("y"))
    assert message in str(caught.value)


def test_a_lone_tag_string_is_one_tag() -> None:
    assert ob.Command("x", tags="prod").tags == ("prod",)


def test_the_step_decorator_takes_every_shared_keyword() -> None:
    @ob.step(
        note="Probing {app}",
        tags="probe",
        on_failure="continue",
        setup=True,
        rerun_on_resume=True,
        quiet=True,
    )
    def probe(self: Any, ctx: ob.StepContext) -> str | None:
        """Look before leaping."""
        return None

    planned = ob.plan(_book(probe=probe), None).get("probe")
    assert (planned.note, planned.tags, planned.on_failure) == (
        "Probing {app}",
        ("probe",),
        "continue",
    )
    assert planned.setup and planned.rerun_on_resume and planned.quiet


def test_keywords_that_change_the_run_change_the_fingerprint_and_notes_do_not() -> None:
    plain = fingerprint(_book(first=ob.Command("x")))
    assert fingerprint(_book(first=ob.Command("x", note="Now x"))) == plain
    assert fingerprint(_book(first=ob.Command("x", quiet=True))) == plain
    for changed in ({"tags": ("a",)}, {"on_failure": "stop"}, {"setup": True}):
        assert fingerprint(_book(first=ob.Command("x", **changed))) != plain


def test_a_plan_leaves_unset_keywords_out_of_its_dict() -> None:
    steps = ob.plan(_book(first=ob.Command("x")), None).to_dict()["steps"]
    assert set(steps[0]) == {
        "id", "kind", "title", "automated", "command", "text", "undo", "retry",
        "timeout", "when", "idempotent", "undo_on_failure", "outputs", "skip_reason",
    }  # fmt: skip


def test_a_setup_step_is_not_skipped_by_start_at_or_tags_but_is_by_skip() -> None:
    book = _book(
        login=ob.Command("login", setup=True),
        work=ob.Command("work", tags=("w",)),
        other=ob.Command("other"),
    )
    bound = ob.plan(book, book.Params(), start_at="other")
    assert [p.skip_reason for p in bound.steps] == [None, "before --start-at other", None]
    bound = ob.plan(book, book.Params(), only_tags=("w",))
    assert [p.skip_reason for p in bound.steps] == [None, None, "not tagged w (--only-tags)"]
    assert ob.plan(book, book.Params(), skip=("login",)).get("login").skip_reason == "--skip"


def test_the_dry_run_shows_every_keyword_and_the_tag_selection() -> None:
    book = _book(
        login=ob.Command("login {app}", setup=True, note="Logging in to {app}"),
        warm=ob.Command("warm", tags=("cache", "prod"), on_failure="continue", quiet=True),
        probe=ob.Command("probe", rerun_on_resume=True, on_failure="stop"),
    )
    text = render_dry_run(ob.plan(book, book.Params(), skip_tags=("prod",)))
    assert "       note: Logging in to shop" in text
    assert "       setup: runs even with --start-at, a tag selection, or on resume" in text
    assert "       skipped: tagged prod (--skip-tags)" in text
    assert "       tags: cache, prod" in text
    assert "       on failure: continue (the run goes on, and ends with warnings)" in text
    assert "       quiet: output kept off the console" in text
    assert "       re-run on resume: yes (a read-only probe)" in text
    assert "       on failure: stop (no rollback; the run can be resumed)" in text


def test_the_guide_example_defines_a_runbook_using_every_keyword() -> None:
    from pathlib import Path

    guide = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"
    text = guide.read_text(encoding="utf-8")
    source = text[text.index("## Keywords every step takes") :].split("```python\n")[1]
    namespace: dict[str, Any] = {"__name__": "guide_keywords"}
    exec(compile(source.split("```")[0], str(guide), "exec"), namespace)
    bound = ob.plan(namespace["RestartShop"], namespace["RestartShop"].Params())
    assert bound.get("login").setup and bound.get("version").rerun_on_resume
    assert bound.get("warm").on_failure == "continue" and bound.get("warm").quiet
    assert bound.get("restart").tags == ("restart", "prod")
    assert bound.get("migrate").note == "Migrating; this takes a while"
