"""The trees' pages, plan and parameters: flowchart leaves, secrets, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.define.params import validate_params
from opsbooks.render.markdown import render_runbook
from opsbooks_playbooks.troubleshoot.authentication import Authentication
from opsbooks_playbooks.troubleshoot.connectivity import Connectivity

REPO = Path(__file__).resolve().parents[3]

LEAVES = {
    Connectivity: (
        "dns_failure",
        "port_refused",
        "port_timeout",
        "tls_expired",
        "tls_not_yet_valid",
        "tls_hostname_mismatch",
        "tls_untrusted",
        "plain_http",
        "tls_expiring_soon",
        "health_failing",
        "latency_high",
        "escalate",
        "all_ok",
    ),
    Authentication: (
        "all_ok",
        "token_expired",
        "token_not_yet_valid",
        "clock_skew",
        "token_wrong_audience",
        "token_bad_signature",
        "token_malformed",
        "client_cert_expired",
        "client_cert_wrong_ca",
        "client_key_mismatch",
        "pg_password_rejected",
        "pg_hba_rejected",
        "pg_role_missing",
        "pg_unreachable",
        "escalate",
    ),
}


def params(runbook: type[ob.Runbook], values: dict[str, object]) -> ob.Params:
    """Validate ``values`` as the CLI and drills do (a ParamsError when wrong)."""
    return validate_params(runbook.name, runbook.Params, values)


@pytest.mark.parametrize("runbook", list(LEAVES), ids=lambda r: r.name)
def test_every_leaf_is_a_diagnosis_the_flowchart_labels(runbook: type[ob.Runbook]) -> None:
    the_plan = ob.plan(runbook)
    diagnoses = [s.id for s in the_plan.steps if s.kind == "diagnosis"]
    assert diagnoses == list(LEAVES[runbook])
    page = render_runbook(runbook, Contacts())
    chart = page.split("```mermaid", 1)[1].split("```", 1)[0]
    for leaf in diagnoses:
        finding = runbook.step(leaf).finding  # type: ignore[attr-defined]
        assert f'step_{leaf}(["' in chart and finding.split(":")[0][:40] in chart
    assert "class step_escalate escalation" in chart


def test_every_leaf_is_reached_by_a_branch() -> None:
    for runbook, leaves in LEAVES.items():
        the_plan = ob.plan(runbook)
        targets = set()
        for planned in the_plan.steps:
            if planned.kind == "branch":
                targets |= {target for _, target in planned.spec.cases}
                targets.add(planned.spec.default)
        assert set(leaves) <= targets, set(leaves) - targets


def test_the_token_and_password_are_never_on_a_command_line() -> None:
    values = {"token": "eyJ.secret.tok", "pg_user": "app", "pg_password": "pw-Secret-1"}
    the_plan = ob.plan(Authentication, params(Authentication, values))
    for planned in the_plan.steps:
        argv = str(planned.command)
        assert "eyJ.secret.tok" not in argv and "pw-Secret-1" not in argv
    by_id = {planned.id: planned for planned in the_plan.steps}
    assert by_id["check_token"].spec.env["OB_CHECK_TOKEN"] == "eyJ.secret.tok"
    assert by_id["check_pg_login"].spec.env["PGPASSWORD"] == "pw-Secret-1"


def test_nothing_to_check_is_a_clear_params_error() -> None:
    with pytest.raises(ob.ParamsError, match="nothing to check"):
        params(Authentication, {})
    with pytest.raises(ob.ParamsError, match="client_cert needs ca_bundle"):
        params(Authentication, {"client_cert": "/etc/client.pem"})


@pytest.mark.parametrize("host", ["-oProxyCommand=x", "a b", "evil;rm"])
def test_a_host_that_could_be_an_option_or_shell_is_refused(host: str) -> None:
    with pytest.raises(ob.ParamsError, match="host"):
        params(Connectivity, {"host": host})


@pytest.mark.slow
def test_opsbooks_docs_writes_both_pages_and_lint_finds_no_error(tmp_path: Path) -> None:
    tool = Path(sys.executable).with_name("opsbooks")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    docs = subprocess.run(
        [str(tool), "docs", "--dir", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert docs.returncode == 0, docs.stderr
    for name in ("connectivity", "authentication"):
        page = (tmp_path / "troubleshoot" / f"{name}.md").read_text()
        assert "```mermaid" in page and "flowchart" in page
        assert "No " in page and "fault found" in page
    lint = subprocess.run(
        [str(tool), "lint", "troubleshoot.connectivity", "troubleshoot.authentication"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0 and " 0 error(s)" in lint.stdout, lint.stdout + lint.stderr
