"""Issue 13 items 12 and 14: no option injection, no secret on another process's argv."""

from __future__ import annotations

import pytest

import opsbooks as ob
from opsbooks.define.argv import dash_positions
from opsbooks_playbooks.backup.restore import BackupRestore
from opsbooks_playbooks.backup.run import BackupRun
from opsbooks_playbooks.backup.verify import BackupVerify
from opsbooks_playbooks.dr.disaster_recovery import DisasterRecovery
from opsbooks_playbooks.dr.recovery_test import RecoveryTest
from opsbooks_playbooks.release.deploy import Deploy
from opsbooks_playbooks.release.hotfix import Hotfix
from opsbooks_playbooks.release.rollback import Rollback
from opsbooks_playbooks.security.incident_response import IncidentResponse

CATALOG: list[type[ob.Runbook]] = [
    BackupRestore,
    BackupRun,
    BackupVerify,
    DisasterRecovery,
    RecoveryTest,
    Deploy,
    Hotfix,
    Rollback,
    IncidentResponse,
]


@pytest.mark.parametrize("runbook", CATALOG, ids=lambda rb: rb.name)
def test_no_catalog_param_can_start_an_argv_word_with_a_dash(runbook: type[ob.Runbook]) -> None:
    assert dash_positions(runbook) == []


def test_the_scan_finds_a_free_string_that_starts_a_word() -> None:
    class Loose(ob.Runbook):
        """Doc."""

        name, scope, owner, last_reviewed = "t.loose", "t", "t", "2026-01-01"

        class Params(ob.Params):
            remote: str = "origin"
            safe: ob.NoOption = "x"
            count: int = ob.Field(1, ge=0)
            attached: str = ""

        push = ob.Command(["git", "push", "{remote}", "{safe}", "--n={attached}", "{count}"])
        after = ob.Command("git ls-remote -- {remote}")

    assert [(p.step, p.param) for p in dash_positions(Loose)] == [("push", "remote")]


def test_no_option_refuses_a_leading_dash_with_the_flag_named() -> None:
    with pytest.raises(ob.ParamsError, match="--remote: must not start with '-'"):
        ob.plan(Deploy, _validated({"remote": "--upload-pack=touch pwned"}))


def _validated(extra: dict[str, str]) -> ob.Params:
    from opsbooks.define.params import validate_params

    values = {
        "version": "1.4.0",
        "repo": "/r",
        "feed_dir": "/f",
        "base_url": "https://x",
        "dist_dir": "/d",
        **extra,
    }
    return validate_params("release.deploy", Deploy.Params, values)


def test_no_option_in_a_list_checks_each_item() -> None:
    class P(ob.Params):
        commits: list[ob.NoOption] = []

    assert P(commits=["abc"]).commits == ["abc"]
    with pytest.raises(ValueError, match="must not start with '-'"):
        P(commits=["abc", "--exec=x"])


@pytest.mark.parametrize(
    "command",
    [
        ob.Command(["tool", "--password", "{password}"]),
        ob.Command("tool --password {password}"),
        ob.Command("tool", cwd="/srv/{password}"),
        ob.Verify(["tool", "{tokens}"]),
        ob.WaitUntil("curl -H {password}"),
        ob.Remote("tool {password}", role="web"),
    ],
    ids=["argv", "shell", "cwd", "list-secret", "wait", "remote"],
)
def test_a_secret_on_a_command_line_is_refused_at_definition(command: ob.Step) -> None:
    with pytest.raises(ob.DefinitionError, match=r"env=.*on stdin, or in a file .*0600"):
        type(
            "Leaky",
            (ob.Runbook,),
            {
                "__doc__": "Doc.",
                "name": "t.leaky",
                "scope": "t",
                "owner": "t",
                "last_reviewed": "2026-01-01",
                "Params": type(
                    "Params",
                    (ob.Params,),
                    {
                        "__annotations__": {
                            "password": "ob.SecretStr",
                            "tokens": "list[ob.SecretStr]",
                        },
                        "password": ob.SecretStr("x"),
                        "tokens": [],
                        "__module__": __name__,
                    },
                ),
                "only": command,
            },
        )


def test_a_secret_in_env_is_allowed_and_bound() -> None:
    class Fine(ob.Runbook):
        """Doc."""

        name, scope, owner, last_reviewed = "t.fine", "t", "t", "2026-01-01"

        class Params(ob.Params):
            password: ob.SecretStr

        only = ob.Command(["psql", "-c", "select 1"], env={"PGPASSWORD": "{password}"})
        check = ob.Verify('test -n "$PGPASSWORD"', env={"PGPASSWORD": "{password}"})

    plan = ob.plan(Fine, Fine.Params(password=ob.SecretStr("hunter2")))
    assert plan.get("only").spec.env == {"PGPASSWORD": "hunter2"}
    assert plan.get("check").spec.env == {"PGPASSWORD": "hunter2"}
    assert "hunter2" not in (plan.get("only").command or "")


def test_opsbooks_secrets_are_not_handed_to_every_child() -> None:
    from opsbooks.backends.local import LocalBackend
    from opsbooks.backends.protocols import CommandSpec

    backend = LocalBackend(base_env={"PATH": "/usr/bin:/bin", "OPSBOOKS_SECRET_DB": "canary"})
    assert "OPSBOOKS_SECRET_DB" not in backend._base_env
    assert CommandSpec  # a step gets it only by naming it in env=
