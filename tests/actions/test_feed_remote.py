"""The update feed mirrored to web hosts over real SSH (sshd on 127.0.0.1), and releases using it.

Each test host is this machine behind its own sshd, so each gets its own folder
through ``feed_path = ".../{host.name}/updates"``, the way two web servers with
different document roots would be configured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.sshd import SshdCluster, sshd_hosts
from opsbooks_playbooks.actions import ActionError, feed, feed_remote, sandbox
from opsbooks_playbooks.actions.artifacts import build, sha256_of
from opsbooks_playbooks.actions.git import create_tag

pytestmark = pytest.mark.slow

ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
HOSTS = ["web1", "web2"]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def inventory_toml(cluster: SshdCluster) -> str:
    """The ``[hosts]`` and ``[ssh]`` tables an operator would add to ``opsbooks.toml``."""
    config = cluster.inventory_config(roles=["web"], connect_timeout=3)
    lines: list[str] = []
    for name, table in config["hosts"].items():
        lines.append(f"\n[hosts.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items() if k != "vars"]
    lines.append("\n[ssh]")
    lines += [f"{k} = {toml_value(v)}" for k, v in config["ssh"].items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path, names=HOSTS) as running:
        yield running


@pytest.fixture
def box(tmp_path: Path, cluster: SshdCluster) -> Path:
    """A release sandbox (1.0.0 published locally) whose config lists the two web hosts."""
    root = tmp_path / "sandbox"
    sandbox.create(root, date="2026-11-01")
    with (root / "opsbooks.toml").open("a") as handle:
        handle.write(inventory_toml(cluster))
    return root


def www(box: Path, host: str) -> Path:
    return box.parent / "www" / host / "updates"


def remote_path(box: Path) -> str:
    return str(box.parent / "www" / "{host.name}" / "updates")


def action(box: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m opsbooks_playbooks.actions.feed_remote ...`` in the sandbox like a step."""
    return subprocess.run(
        [sys.executable, "-m", "opsbooks_playbooks.actions.feed_remote", *args],
        cwd=box,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def mirror(box: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return action(
        box, "mirror", "--feed-dir", str(box / "feed"), "--host", "web",
        "--path", remote_path(box), *extra,
    )  # fmt: skip


def verify(box: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return action(
        box, "verify", "--feed-dir", str(box / "feed"), "--host", "web",
        "--path", remote_path(box), *extra,
    )  # fmt: skip


def same_as_local(box: Path, host: str) -> None:
    local, remote = box / "feed", www(box, host)
    for name in (feed.FEED_JSON, feed.APPCAST):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), (host, name)
    for release in feed.load(local).releases:
        assert sha256_of(remote / release.file) == release.sha256, (host, release.file)
    leftovers = [p.name for p in remote.iterdir() if p.name.startswith(".")]
    assert leftovers == [], (host, leftovers)


def test_mirror_copies_the_feed_to_every_host_then_uploads_nothing(box: Path) -> None:
    first = mirror(box)
    assert first.returncode == 0, first.stderr
    assert "web1:" in first.stdout and "web2:" in first.stdout
    assert "uploaded demo-app-1.0.0.tar.gz" in first.stdout
    for host in HOSTS:
        same_as_local(box, host)

    again = mirror(box)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("uploaded no artifacts") == 2

    checked = verify(box, "--version", "1.0.0", "--base-url", sandbox.BASE_URL)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count("offers 1.0.0") == 2


def test_verify_catches_a_tampered_artifact_and_mirror_repairs_it(box: Path) -> None:
    assert mirror(box).returncode == 0
    artifact = www(box, "web2") / "demo-app-1.0.0.tar.gz"
    artifact.write_bytes(artifact.read_bytes() + b"tampered")

    checked = verify(box, "--version", "1.0.0")
    assert checked.returncode == 1
    assert "web2:" in checked.stderr and "demo-app-1.0.0.tar.gz" in checked.stderr
    assert "web1:" not in checked.stderr.split("(done:")[0]

    repaired = mirror(box)
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.count("uploaded demo-app-1.0.0.tar.gz") == 1
    assert verify(box, "--version", "1.0.0").returncode == 0


def test_verify_catches_a_host_out_of_step_with_the_local_feed(box: Path) -> None:
    assert mirror(box).returncode == 0
    sandbox.bump(box, "1.1.0")
    feed.publish(box / "feed", "1.1.0", sandbox.BASE_URL, artifact=_build(box, "1.1.0"))

    stale = verify(box, "--version", "1.1.0")
    assert stale.returncode == 1
    assert "differs from the local feed folder" in stale.stderr

    assert mirror(box).returncode == 0
    assert verify(box, "--version", "1.1.0").returncode == 0


def test_excluding_a_version_takes_it_and_its_artifact_off_the_hosts(box: Path) -> None:
    sandbox.bump(box, "1.1.0")
    feed.publish(box / "feed", "1.1.0", sandbox.BASE_URL, artifact=_build(box, "1.1.0"))
    assert mirror(box).returncode == 0
    assert (www(box, "web1") / "demo-app-1.1.0.tar.gz").is_file()

    undone = mirror(box, "--exclude-version", "1.1.0")
    assert undone.returncode == 0, undone.stderr
    assert "deleted demo-app-1.1.0.tar.gz" in undone.stdout
    for host in HOSTS:
        served = feed.from_json((www(box, host) / feed.FEED_JSON).read_bytes())
        assert served.latest == "1.0.0"
        assert served.find("1.1.0") is None
        assert not (www(box, host) / "demo-app-1.1.0.tar.gz").exists()
        assert (www(box, host) / "demo-app-1.0.0.tar.gz").is_file()


def test_bad_input_exits_2_before_connecting(box: Path, cluster: SshdCluster) -> None:
    cluster.kill("web1")  # were a connection tried, the message would say refused
    unknown = action(
        box, "mirror", "--feed-dir", str(box / "feed"), "--host", "web9", "--path", "/x"
    )
    assert unknown.returncode == 2
    assert "'web9' is neither a host nor a role" in unknown.stderr
    assert "hosts: web1, web2; roles: web" in unknown.stderr

    no_feed = action(
        box, "mirror", "--feed-dir", str(box / "nowhere"), "--host", "web", "--path", "/x"
    )
    assert no_feed.returncode == 2
    assert "has no feed.json" in no_feed.stderr

    bad_var = action(
        box, "check", "--host", "web", "--path", "/srv/{host.docroot}/updates"
    )  # fmt: skip
    assert bad_var.returncode == 2
    assert "docroot" in bad_var.stderr
    assert not (box.parent / "www").exists()


def test_a_host_down_is_named_and_the_others_are_still_mirrored(
    box: Path, cluster: SshdCluster
) -> None:
    cluster.kill("web2")
    done = mirror(box)
    assert done.returncode == 1
    assert "web2:" in done.stderr and "(done: web1:" in done.stderr
    assert "Traceback" not in done.stderr
    same_as_local(box, "web1")
    assert not www(box, "web2").exists()


def test_check_reports_each_folder(box: Path) -> None:
    checked = action(box, "check", "--host", "web1", "--path", remote_path(box))
    assert checked.returncode == 0, checked.stderr
    assert "is writable (no feed yet)" in checked.stdout
    assert www(box, "web1").is_dir() and not www(box, "web2").exists()


def test_mirror_refuses_a_feed_naming_a_path_instead_of_a_file(box: Path) -> None:
    data = json.loads((box / "feed" / feed.FEED_JSON).read_text())
    data["releases"][0]["file"] = "../../etc/passwd"
    (box / "feed" / feed.FEED_JSON).write_text(json.dumps(data))
    with pytest.raises(ActionError, match="not a plain file name"):
        feed_remote.mirror(box / "feed", "web", remote_path(box), config=box / "opsbooks.toml")


# -- the release runbooks through the engine, mirroring to both hosts -------------------


def _build(box: Path, version: str) -> Path:
    """Tag and build ``version`` in the sandbox, as release.deploy's steps would."""
    create_tag(box / "app", version, f"Release {version}")
    build(box / "app", version, box / "dist" / version)
    return box / "dist" / version / f"demo-app-{version}.tar.gz"


def drill_for(box: Path) -> Drill:
    """A drill using the sandbox's own configuration, with the feed mirrored to ``web``."""
    with (box / "opsbooks.toml").open("rb") as handle:
        settings = tomllib.load(handle)
    mirrored = {"feed_host": "web", "feed_path": remote_path(box)}
    for name in ("release.deploy", "release.rollback"):
        settings["params"][name].update(mirrored)
    settings.pop("state_dir", None)
    return Drill(root=box, settings=settings, clock=FakeClock(), environ={"PATH": ENV["PATH"]})


def test_deploy_and_rollback_mirror_the_feed_to_the_hosts(box: Path) -> None:
    sandbox.bump(box, "1.1.0", notes="Say goodbye too")
    drill = drill_for(box)
    deployed = drill.run("release.deploy", {"version": "1.1.0"}, yes=True)
    deployed.assert_succeeded()
    for step in ("check_feed_host", "mirror_feed", "verify_mirror"):
        deployed.assert_succeeded_step(step)
    for host in HOSTS:
        same_as_local(box, host)
        assert feed.from_json((www(box, host) / feed.FEED_JSON).read_bytes()).latest == "1.1.0"

    rolled = drill.run(
        "release.rollback",
        {"to_version": "1.0.0"},
        answers={"approve": "rollback", "follow_up": True},
    )
    rolled.assert_succeeded()
    rolled.assert_succeeded_step("verify_mirror")
    for host in HOSTS:
        same_as_local(box, host)
        served = feed.from_json((www(box, host) / feed.FEED_JSON).read_bytes())
        assert served.latest == "1.0.0"
        assert served.find("1.1.0") is not None and served.find("1.1.0").withdrawn  # type: ignore[union-attr]
    deployed.assert_audit_intact()


def test_a_deploy_failing_after_the_mirror_takes_the_release_off_the_hosts(box: Path) -> None:
    sandbox.bump(box, "1.1.0")
    drill = drill_for(box)
    failed = drill.run("release.deploy", {"version": "1.1.0"}, yes=True, fail=["verify_feed"])
    assert failed.outcome == "rolled_back", failed.steps
    for done in ("mirror_feed", "publish", "push_tag", "tag"):
        failed.assert_compensated(done)
    assert "undo mirror_feed via unmirror: compensated" in failed.output
    for host in HOSTS:
        same_as_local(box, host)
        assert feed.from_json((www(box, host) / feed.FEED_JSON).read_bytes()).latest == "1.0.0"
        assert not (www(box, host) / "demo-app-1.1.0.tar.gz").exists()


def test_a_mirror_failing_on_one_host_is_undone_on_the_others(box: Path) -> None:
    """web1 took 1.1.0, web2 could not: the run must not leave web1 offering it."""
    sandbox.bump(box, "1.1.0")
    (www(box, "web2") / feed.FEED_JSON).mkdir(parents=True)  # feed.json cannot be replaced
    drill = drill_for(box)
    failed = drill.run("release.deploy", {"version": "1.1.0"}, yes=True)
    assert failed.steps["mirror_feed"] in ("compensated", "compensation_failed"), failed.output
    assert "web2:" in failed.output and "undo mirror_feed via unmirror" in failed.output
    served = feed.from_json((www(box, "web1") / feed.FEED_JSON).read_bytes())
    assert served.latest == "1.0.0" and served.find("1.1.0") is None
    assert not (www(box, "web1") / "demo-app-1.1.0.tar.gz").exists()
    assert feed.load(box / "feed").latest == "1.0.0"


def test_users_of_a_mirrored_web_server_are_offered_the_release(
    box: Path, http_server: Callable[[Path], AbstractContextManager[str]]
) -> None:
    """verify_feed fetches feed, appcast and artifact over HTTP from what web1 serves."""
    sandbox.bump(box, "1.1.0")
    served = www(box, "web1")
    served.mkdir(parents=True)
    with http_server(served) as url:
        drill = drill_for(box)
        result = drill.run(
            "release.deploy", {"version": "1.1.0", "base_url": url, "verify_url": url}, yes=True
        )
        result.assert_succeeded()
        assert f"feed offers 1.1.0: feed.json, appcast.xml and the artifact agree ({url})" in (
            result.output
        )
