"""Bad incident params are refused before a run exists: a severity, impact or urgency the
incident policy ([tool.opsbooks.incidents]) does not know is exit 2, with no run in the
journal to abandon. Through the drill (fast) and once through the CLI (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from incident_kit import settings

import opsbooks as ob
from opsbooks.edges.config import load_config
from opsbooks.edges.session import journal_url
from opsbooks.records.journal import open_journal
from opsbooks.testing import Drill

REPO = Path(__file__).resolve().parents[3]
INCIDENTS = ("incident.l1", "incident.l2", "incident.l3", "incident.outage", "incident.performance")


def _params(runbook: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "incident_id": "INC-2026-042",
        "service": "api",
        "summary": "checkout requests fail with 500",
        "health_url": "http://127.0.0.1:9/healthz",  # never reached: refused before a step
    }
    if runbook == "incident.performance":
        base["url"] = "http://127.0.0.1:9/api"
    return {**base, **extra}


def _refused(drill: Drill, runbook: str, **bad: Any) -> str:
    drill.settings = settings("http://127.0.0.1:9/hook")
    with pytest.raises(ob.ParamsError) as caught:
        drill.run(runbook, _params(runbook, **bad))
    journal = drill.journal()
    try:
        assert journal.runs() == []  # no failed run left to abandon
    finally:
        journal.close()
    return str(caught.value)


@pytest.mark.parametrize("runbook", INCIDENTS)
def test_an_unknown_impact_is_refused_with_the_valid_ones(drill: Drill, runbook: str) -> None:
    message = _refused(drill, runbook, impact="huge")
    assert f"invalid parameters for {runbook}; nothing was run" in message
    assert "--impact: 'huge' is not an impact of the incident policy" in message
    assert "valid: extensive, significant, moderate, minor" in message


@pytest.mark.parametrize("runbook", INCIDENTS)
def test_an_unknown_urgency_is_refused(drill: Drill, runbook: str) -> None:
    message = _refused(drill, runbook, urgency="whenever")  # passes the lowercase pattern
    assert "--urgency: 'whenever' is not an urgency of the incident policy" in message
    assert "valid: critical, high, medium, low" in message


def test_an_unknown_severity_is_refused(drill: Drill) -> None:
    message = _refused(drill, "incident.l1", severity="SEV9")  # passes ^SEV[0-9]$
    assert "--severity: 'SEV9' is not a severity; valid: SEV1, SEV2, SEV3, SEV4" in message


def test_every_problem_is_named_at_once(drill: Drill) -> None:
    message = _refused(drill, "incident.l1", severity="SEV0", impact="huge", urgency="now")
    assert "--severity" in message and "--impact" in message and "--urgency" in message
    assert "Traceback" not in message


def test_the_configured_policy_decides_what_is_valid(drill: Drill) -> None:
    """A project whose matrix has an impact `huge` accepts it and refuses `minor`."""
    row = {"critical": "SEV1", "high": "SEV1", "medium": "SEV2", "low": "SEV2"}
    policy = {"impacts": ["huge"], "matrix": {"huge": row}}
    config = {"incidents": policy}
    l1 = drill.catalog().get("incident.l1")
    l1.check_params(l1.Params(**_params("incident.l1", impact="huge")), config)
    with pytest.raises(ob.ParamsError, match="valid: huge"):
        l1.check_params(l1.Params(**_params("incident.l1", impact="minor")), config)


def test_a_non_badinput_refusal_of_a_hook_becomes_one_badinput_line(drill: Drill) -> None:
    """A ``ValueError`` from a runbook's ``check_params`` is exit 2, not a traceback."""

    class Picky(ob.Runbook):
        """Refuse everything (a test runbook)."""

        name = "fixtures.picky"
        scope, owner, last_reviewed = "tests", "tests", "2026-12-02"

        @classmethod
        def check_params(cls, params: ob.Params, config: Any) -> None:
            raise ValueError(f"state_dir {config['state_dir']} is not allowed here")

        hello = ob.Command("true", irreversible="a test")

    with pytest.raises(ob.BadInput) as caught:
        drill.run(Picky)
    assert str(caught.value).startswith("invalid parameters for fixtures.picky; nothing was run")
    assert "state_dir .opsbooks is not allowed here" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.slow
def test_the_cli_refuses_sev9_with_exit_2_and_creates_no_run(tmp_path: Path) -> None:
    (tmp_path / "opsbooks.toml").write_text(
        'packages = ["opsbooks_playbooks"]\n[contacts]\nL1 = "ops"\nL2 = "platform"\nL3 = "eng"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    env["PYTHONPATH"] = str(REPO)
    argv = ["run", "incident.l1", "--incident-id", "INC-1", "--service", "api"]
    argv += ["--summary", "down", "--health-url", "http://127.0.0.1:9/healthz"]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("opsbooks")), *argv, "--severity", "SEV9"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--severity: 'SEV9' is not a severity; valid: SEV1, SEV2, SEV3, SEV4" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    journal = open_journal(journal_url(load_config(tmp_path)))
    try:
        assert journal.runs() == []
    finally:
        journal.close()
