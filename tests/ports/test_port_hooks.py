"""Port of braintree/runbook's hooks examples and an optional step, run through the CLI.

The peer (README, "Augmenting Functionality With Hooks" and "Tags and Labels")
registers ``notify_slack_of_step_run_time`` (an around hook timing every step) in its
Runbookfile and ``skip_skippable_entities`` (an around hook skipping steps tagged
``:skip``) for the "Bounce Nodes" book. Here the timer is a project plugin named in
``opsbooks.toml`` (the Runbookfile's place), the tag skip is the runbook's own hook, and
the optional part is a confirm whose "no" skips only the steps that depend on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import cli, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

# -- the port, as a user writes it ------------------------------------------------------

TIMER = """
import time


class StepTimer:  # the peer's notify_slack_of_step_run_time
    def around_step(self, ctx, step, proceed):
        start = time.monotonic()
        result = proceed()
        ctx.say(f"Step {step.id}: {step.title} took {time.monotonic() - start:.2f} seconds!")
        return result
"""

BOUNCE = '''
class BounceNodes(ob.Runbook):
    """Bounce the nodes."""

    scope, owner, last_reviewed = "The web nodes.", "SRE", "2026-11-01"

    disable_monitoring = ob.Gate.confirm("Have you disabled health monitoring?", tags=("skip",))
    restart_nodes = ob.Command("echo restarted >> nodes.log", tags=("aws_only", "mutator"))
    warm = ob.Gate.confirm("Warm the caches too?", on_decline="skip")  # an optional part
    warm_caches = ob.Command("echo warmed >> nodes.log", when="warm")

    def around_step(self, ctx, step, proceed):  # the peer's skip_skippable_entities
        return ob.Skip("tagged skip") if "skip" in step.tags else proceed()
'''

# -- running it -------------------------------------------------------------------------


def _project(root: Path) -> Path:
    modules = {"ops/bounce_nodes": BOUNCE}
    config = {"hooks": ["step_timer:StepTimer"]}
    files = {"step_timer.py": TIMER}
    return write_project(root, modules, package="ports_books", config=config, files=files)


def test_the_timer_times_every_step_and_tagged_steps_are_skipped(tmp_path: Path) -> None:
    root = _project(tmp_path)
    answers = root / "answers.yaml"
    answers.write_text("warm: yes\n")
    done = cli(root, "run", "ops.bounce_nodes", "--answers", str(answers))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Step restart_nodes: Restart nodes took" in done.stdout
    assert "Step disable_monitoring: Disable monitoring took" in done.stdout  # skipped, timed
    assert "tagged skip (hook ops.bounce_nodes.BounceNodes)" in done.stdout
    assert (root / "nodes.log").read_text() == "restarted\nwarmed\n"


def test_declining_the_optional_part_skips_it_and_the_run_succeeds(tmp_path: Path) -> None:
    root = _project(tmp_path)
    answers = root / "answers.yaml"
    answers.write_text("warm: no\n")
    done = cli(root, "run", "ops.bounce_nodes", "--answers", str(answers))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "nodes.log").read_text() == "restarted\n"
    assert "Step warm_caches" not in done.stdout  # skipped by its when=: hooks never see it


def test_the_port_reads_at_least_as_short_as_the_peer() -> None:
    # The peer's two README snippets: the timing hook (13 lines without its Slack call's
    # definition) and the Bounce Nodes book with its tag-skipping hook (16 lines).
    peer_lines = 13 + 16
    ours = [line for line in (TIMER + BOUNCE).splitlines() if line.strip()]
    assert len(ours) <= peer_lines, len(ours)
