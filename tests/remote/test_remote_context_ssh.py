"""The remote context over real sshd on loopback: env= and a sudo password reach the
command through the session's stdin and never any command line, cwd= and umask= hold
on the host, and become= runs the command through sudo.

The "remote" hosts are this machine, so sampling every ``/proc/*/cmdline`` while a
step runs sees every process the step started on the host side (sshd's session, the
shells, ``timeout``, sudo and the command), as well as the local ones.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.rollout import HostResult, explained
from opsbooks.backends.ssh.executor import RemoteExecutor

pytestmark = pytest.mark.slow  # real sshd on 127.0.0.1

CANARY = "tok-Q7x-canary-4e1"
PASSWORD = "pw-Zr8-sudo-canary"


def _cmdlines() -> list[str]:
    found: list[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            found.append(
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue  # the process ended while we looked
    return found


def _sampled(
    run: Callable[[], HostResult], secrets: list[str]
) -> tuple[HostResult, int, list[str]]:
    """Run ``run`` in a thread while sampling every command line; (result, samples, leaks)."""
    box: list[HostResult] = []
    worker = threading.Thread(target=lambda: box.append(run()))
    worker.start()
    samples, leaks = 0, []
    while worker.is_alive():
        for line in _cmdlines():
            leaks.extend(line for secret in secrets if secret in line)
        samples += 1
        time.sleep(0.01)
    worker.join()
    return box[0], samples, leaks


def test_env_values_never_reach_any_command_line(
    executor: RemoteExecutor, inventory: Inventory
) -> None:
    host = inventory.host("web1")
    command = 'sleep 1.5; test "$TOKEN" = "$EXPECTED" && echo token-arrived'
    secrets = {"TOKEN": CANARY, "EXPECTED": CANARY}
    result, samples, leaks = _sampled(lambda: executor.run(host, command, env=secrets), [CANARY])
    assert result.ok, result
    assert "token-arrived" in result.stdout
    assert samples > 20  # sampled all along the step, not once
    assert leaks == []
    # the control: a value that *is* on the command line is seen by the same sampler
    seen = _sampled(lambda: executor.run(host, f"sleep 1 # {CANARY}"), [CANARY])[2]
    assert seen


def _fake_sudo(folder: Path, *, reads_password: bool) -> Path:
    """A stand-in for sudo: logs its argv, checks a password read from stdin (``-S``),
    then runs the command after ``--`` (this machine's uid has no sudo password)."""
    script = folder / ("fake-sudo" if reads_password else "fake-sudo-nopasswd")
    read = 'IFS= read -r given; [ "$given" = "$PW" ] || { echo "Sorry, try again." >&2; exit 1; }'
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> {folder}/sudo-argv.log\n'
        f"PW={PASSWORD}\n"  # the fake's own copy, to compare with; never an argv
        'case " $* " in *" -S "*) ' + (read if reads_password else ":") + ";; esac\n"
        'while [ "$1" != "--" ]; do shift; done; shift\n'
        'SUDO_FAKE=ran exec "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_a_sudo_password_goes_over_stdin_only(inventory: Inventory, work: Path) -> None:
    sudo = _fake_sudo(work, reads_password=True)
    executor = RemoteExecutor(inventory, sudo_password=PASSWORD, sudo=str(sudo))
    host = inventory.host("web2")
    command = 'sleep 1.5; echo "as:$SUDO_FAKE token:$TOKEN"; cat'
    result, samples, leaks = _sampled(
        lambda: executor.run(host, command, env={"TOKEN": "t1"}, become="root"), [PASSWORD]
    )
    assert result.ok, result
    assert "as:ran token:t1" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr_tail  # `cat` got nothing of it
    assert samples > 20 and leaks == []
    argv = (work / "sudo-argv.log").read_text()
    assert "-k -S -p  -u root -- sh -c" in argv and PASSWORD not in argv

    wrong = RemoteExecutor(inventory, sudo_password="not-it", sudo=str(sudo))
    refused = wrong.run(host, "echo never", become="root")
    assert not refused.ok and "Sorry, try again." in explained(refused).error


def test_a_sudo_that_asks_nothing_never_hands_the_password_on(
    inventory: Inventory, work: Path
) -> None:
    sudo = _fake_sudo(work, reads_password=False)
    executor = RemoteExecutor(inventory, sudo_password=PASSWORD, sudo=str(sudo))
    result = executor.run(inventory.host("web1"), "cat; echo done", become="root")
    assert result.ok, result
    assert result.stdout.strip() == "done"  # stdin skipped past the password


def test_cwd_and_umask_hold_on_the_host(
    executor: RemoteExecutor, inventory: Inventory, work: Path
) -> None:
    from opsbooks.backends.hosts.actions import with_context

    folder = work / "app dir"
    folder.mkdir()
    line = with_context("pwd; umask; touch made", str(folder), "077")
    result = executor.run(inventory.host("web1"), line)
    assert result.ok, result
    assert result.stdout.splitlines() == [str(folder), "0077"]
    assert stat.S_IMODE((folder / "made").stat().st_mode) == 0o600
    missing = executor.run(inventory.host("web1"), with_context("echo never", str(work / "nope")))
    assert not missing.ok and "never" not in missing.stdout


@pytest.mark.skipif(shutil.which("sudo") is None or os.geteuid() != 0, reason="needs sudo, as root")
def test_become_runs_through_real_sudo_non_interactively(
    executor: RemoteExecutor, inventory: Inventory
) -> None:
    result = executor.run(
        inventory.host("web1"), "id -un; echo $TOKEN", env={"TOKEN": "t2"}, become="nobody"
    )
    assert result.ok, result
    assert result.stdout.split() == ["nobody", "t2"]
