"""Any parameter value reaches its target as data, never as code.

Through a local command run by real ``sh``, a ``Notify`` template delivered to a file
channel, the dry-run text, and a command over real SSH to a loopback sshd. A NUL
byte, which no command can carry, is refused with a clear ``BadInput`` before
anything runs. ``OPSBOOKS_PROPERTY_EXAMPLES`` raises the example counts.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import opsbooks as ob
from opsbooks.backends.hosts.inventory import Inventory, bind_for_host
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.errors import BadInput
from opsbooks.render.dryrun import render_dry_run
from opsbooks.testing import Drill
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

EXAMPLES = int(os.environ.get("OPSBOOKS_PROPERTY_EXAMPLES", "40"))
PROFILE = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

#: any text a shell could be tricked by: quotes, $(), backticks, newlines, ;, unicode.
hostile = st.one_of(
    st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"])),
    st.lists(
        st.sampled_from(
            [
                "'",
                '"',
                "$(",
                ")",
                "`",
                ";",
                "\n",
                "\\",
                "$HOME",
                "{x}",
                "{value}",
                "&&",
                "|",
                ">",
                "*",
                " ",
                "-n",
                "é",
                "🙂",
                "%s",
            ]
        ),
        max_size=12,
    ).map("".join),
)

AWKWARD = [
    "",
    "'; touch pwned; '",
    "$(touch pwned)",
    "`touch pwned`",
    "a\nb; touch pwned",
    '"$HOME"',
    "{value}",
    "-e",
    "%s%n",
    "é🙂\u202e",
    "\\",
    "x' 'y",
]


class Injected(ob.Runbook):
    """Write a value to a file through sh, and announce it on a file channel."""

    name = "inj.values"
    scope = "Files in the drill directory."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        value: str

    write = ob.Command("printf '%s' {value} > out.txt")
    argv = ob.Command(["sh", "-c", "printf '%s' \"$1\" > argv.txt", "sh", "{value}"])
    tell = ob.Notify("value={value}", channel="log")


def drill_in(folder: str) -> Drill:
    return Drill(
        root=Path(folder),
        runbooks=(Injected,),
        settings={"notify": {"log": {"type": "file", "path": "notify.log"}}},
    )


@pytest.mark.slow
@PROFILE
@given(value=hostile)
@example(value="'; touch pwned; '")
@example(value="$(touch pwned)`touch pwned`")
def test_local_command_and_notify_carry_the_value_as_data(value: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = drill_in(folder).run(Injected, {"value": value})
        result.assert_succeeded()
        root = Path(folder)
        assert (root / "out.txt").read_bytes() == value.encode()
        assert (root / "argv.txt").read_bytes() == value.encode()
        assert (
            (root / "notify.log")
            .read_bytes()
            .decode("utf-8")
            .endswith(f"[inj.values] value={value}\n")
        )
        assert not (root / "pwned").exists()


@PROFILE
@given(value=hostile)
def test_dry_run_shows_the_value_as_one_quoted_word(value: str) -> None:
    bound = ob.plan(Injected, Injected.Params(value=value))
    text = render_dry_run(bound)
    assert f"value = {value!r}" in text
    shown = bound.get("write").shown
    assert shown == f"printf '%s' {shlex.quote(value)} > out.txt"
    assert shown in text
    assert shlex.split(shown)[2] == value
    assert bound.get("tell").text == f"value={value}"


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "ok\x00; rm -rf /"])
def test_nul_is_refused_cleanly_before_anything_runs(value: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="NUL"):
        drill_in(str(tmp_path)).run(Injected, {"value": value})
    assert not (tmp_path / "out.txt").exists()


@pytest.fixture(scope="module")
def ssh_host() -> Iterator[tuple[RemoteExecutor, Inventory, SshdCluster]]:
    with tempfile.TemporaryDirectory() as folder, sshd_hosts(folder, count=1) as cluster:
        out = Path(folder) / "remote-out"
        config = cluster.inventory_config(roles=["app"], host_vars={"host1": {"out": str(out)}})
        inventory = Inventory.parse(config["hosts"], config["ssh"])
        yield RemoteExecutor(inventory), inventory, cluster


@pytest.mark.slow
@settings(
    max_examples=max(EXAMPLES // 2, 10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(value=hostile)
@example(value="'; touch pwned; '$(touch pwned)`touch pwned`")
def test_remote_command_over_ssh_carries_the_value_as_data(
    ssh_host: tuple[RemoteExecutor, Inventory, SshdCluster], value: str
) -> None:
    executor, inventory, cluster = ssh_host
    host = inventory.host("host1")
    out = Path(host.vars["out"])
    out.unlink(missing_ok=True)
    command = bind_for_host("printf '%s' {value} > {host.out}", host, {"value": value})
    result = executor.run(host, command, timeout=20)
    assert result.status == "ok", result
    assert out.read_bytes() == value.encode()
    assert not (cluster.host("host1").home / "pwned").exists()
