"""What the SSH executor sends for ``become=`` and a sudo password, without connecting:
the command line holds no secret, stdin holds the password first, then a marker the
remote script skips to, then the env block (fast tier: pure functions)."""

from __future__ import annotations

from opsbooks.backends.hosts.actions import with_context
from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.ssh.executor import _MARKER, RemoteExecutor, _stdin_for

INVENTORY = Inventory.parse({"web1": {"roles": ["web"]}})


def test_without_a_password_sudo_never_asks() -> None:
    line = RemoteExecutor(INVENTORY).wrap("id -un", 60, become="root")
    assert "sudo -n -u root -- sh -c" in line and "-S" not in line


def test_with_a_password_sudo_reads_it_from_stdin_and_argv_holds_none() -> None:
    executor = RemoteExecutor(INVENTORY, sudo_password="pw-1")
    line = executor.wrap("id -un", 60, become="deploy")
    assert "sudo -k -S -p '' -u deploy" in line.replace("'\"'\"'", "'")
    assert "pw-1" not in line
    feed = _stdin_for({"TOKEN": "t"}, None, "pw-1")
    assert feed is not None and feed.startswith(f"pw-1\n{_MARKER}\nTOKEN\n")
    assert _stdin_for({}, None, "pw-1") == f"pw-1\n{_MARKER}\n\n"
    assert executor.wrap("true", 60) == RemoteExecutor(INVENTORY).wrap("true", 60)  # no become


def test_a_password_with_a_line_break_is_refused_before_connecting() -> None:
    result = RemoteExecutor(INVENTORY, sudo_password="a\nb").run(
        INVENTORY.host("web1"), "true", become="root"
    )
    assert not result.ok and "line break" in (result.error or "")


def test_the_context_prefix_stops_at_a_failing_line() -> None:
    assert with_context("make", "/srv/my app", "077") == (
        "umask 077 || exit 1\ncd -- '/srv/my app' || exit 1\nmake"
    )
    assert with_context("make") == "make"
