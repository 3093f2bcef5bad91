"""SIGTERM / SIGINT stop at a step boundary; a kill between a command's exit and its
journal write is resolved on resume by the step's idempotency."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from reliability_helpers import cli, integrity, latest_states, make_project, query, spawn

pytestmark = pytest.mark.slow

SLOW_LEDGER = '''
class Slow(ob.Runbook):
    """Ten steps that each take a moment and append their id to a ledger."""

    name = "sig.slow"
    scope = "A ledger file."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

''' + "".join(
    f"    s{n:02d} = ob.Command(\"sleep 0.15; printf '%s\\\\n' s{n:02d} >> ledger.txt\")\n"
    for n in range(1, 11)
)

# The middle step appends, then SIGKILLs the runner (its parent) before the runner can
# journal the exit: the worst moment for a crash. It does this only once.
KILL_AFTER_EXIT = '''
class Durable(ob.Runbook):
    """Append a, b, c; b kills the runner right after its command finished."""

    name = "dur.{name}"
    scope = "A ledger file."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command("printf 'a\\\\n' >> ledger.txt")
    b = ob.Command(
        "printf 'b\\\\n' >> ledger.txt; if [ ! -e killed ]; then touch killed; kill -9 $PPID; fi",
        idempotent={idempotent},
    )
    c = ob.Command("printf 'c\\\\n' >> ledger.txt")
'''


def ledger(root: Path) -> list[str]:
    path = root / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_at_a_step_boundary_and_resume_finishes(
    tmp_path: Path, signum: signal.Signals
) -> None:
    root, _ = make_project(tmp_path / "p", {"sig/slow": SLOW_LEDGER})
    proc = spawn(root, "run", "sig.slow")
    deadline = time.monotonic() + 30
    while len(ledger(root)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, out + err
    ((run_id, outcome),) = query(root, "SELECT id, outcome FROM runs")
    assert outcome == "interrupted"
    assert f"opsbooks resume {run_id}" in out
    assert signum.name in err and "Traceback" not in err
    states = latest_states(root, str(run_id))
    assert "running" not in states.values(), states  # stopped between steps, not inside one
    done = ledger(root)
    assert done == [f"s{n:02d}" for n in range(1, len(done) + 1)]
    assert all(states[s] == "succeeded" for s in done)
    resumed = cli(root, "resume", str(run_id))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ledger(root) == [f"s{n:02d}" for n in range(1, 11)]
    assert integrity(root) == "ok"
    assert cli(root, "audit", "verify", str(run_id)).returncode == 0


def _killed_after_exit(tmp_path: Path, idempotent: bool) -> tuple[Path, str, str]:
    name = "idem" if idempotent else "once"
    body = KILL_AFTER_EXIT.replace("{name}", name).replace("{idempotent}", str(idempotent))
    root, _ = make_project(tmp_path / "p", {f"dur/{name}": body})
    first = cli(root, "run", f"dur.{name}")
    assert first.returncode == -signal.SIGKILL
    assert ledger(root) == ["a", "b"]
    ((run_id, outcome),) = query(root, "SELECT id, outcome FROM runs")
    assert outcome == "running"  # nobody had the chance to say otherwise
    # a's success was durable before b started; b's exit was never journaled
    assert latest_states(root, str(run_id)) == {"a": "succeeded", "b": "running"}
    return root, str(run_id), f"dur.{name}"


def test_non_idempotent_step_killed_after_exit_asks_before_rerunning(tmp_path: Path) -> None:
    root, run_id, _ = _killed_after_exit(tmp_path, idempotent=False)
    asked = cli(root, "resume", run_id)
    assert asked.returncode == 3, asked.stdout + asked.stderr
    assert "resume:b" in asked.stdout + asked.stderr
    assert ledger(root) == ["a", "b"]  # nothing re-ran without an answer
    answers = root / "answers.yaml"
    answers.write_text("'resume:b': mark-done\n")
    done = cli(root, "resume", run_id, "--answers", str(answers))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ledger(root) == ["a", "b", "c"]
    gates = query(root, "SELECT step_id, answer, source FROM gates WHERE run_id=?", run_id)
    assert ("resume:b", '"mark-done"', "answers") in gates
    assert cli(root, "audit", "verify", run_id).returncode == 0


def test_idempotent_step_killed_after_exit_is_rerun(tmp_path: Path) -> None:
    root, run_id, _ = _killed_after_exit(tmp_path, idempotent=True)
    resumed = cli(root, "resume", run_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "idempotent, re-running" in resumed.stdout
    assert ledger(root) == ["a", "b", "b", "c"]  # b again (allowed: idempotent), a not
    assert integrity(root) == "ok"
    assert cli(root, "audit", "verify", run_id).returncode == 0
