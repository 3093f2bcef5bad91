"""Issue 13 items 7, 9 and 10 on real hosts: two sshd servers on 127.0.0.1, a project on
disk and the real CLI in subprocesses (and a pytest drill for item 10).

The fast tier (tests/reliability/test_issue13_bindings.py) proves the fixes with fakes;
here what reaches a real host, file and environment is the bound value: an
``{outputs.x}`` a host wrote to disk, a token a command read from its environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_kit import PYTHON, clean_env, cli, journal_runs, write_project

from opsbooks.records.journal import open_journal
from opsbooks.testing import Drill
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow  # real sshd, the CLI in subprocesses

HOSTS = ["web1", "web2"]
CANARY = "tok-9Zq4-canary"

BOOKS = '''
"""Runbooks for the issue-13 real-host tests (written into a temp project)."""

import datetime as dt

import opsbooks as ob

META = dict(scope="integration tests", owner="sre", last_reviewed=dt.date(2026, 11, 1))


class Bind(ob.Runbook):
    """An output found locally, bound on each host, in transfer paths, in env= and cwd=."""

    name = "i13.bind"
    scope, owner, last_reviewed = META["scope"], META["owner"], META["last_reviewed"]

    class Params(ob.Params):
        token: ob.SecretStr = ob.Field(description="token the local command reads")
        where: str = ob.Field(default="run dir", description="folder the command runs in")

    find = ob.Command("cat release.txt; echo found >> find.count", outputs=("release",))
    stamp = ob.Remote(
        "printf '%s\\\\n' {outputs.release} > {host.dir}/stamp-{outputs.release}.txt",
        role="web",
    )
    push = ob.Upload("art/{outputs.release}.tgz", "{host.dir}/{outputs.release}.tgz", role="web")
    pull = ob.Download(
        "{host.dir}/{outputs.release}.tgz", "back/{host.name}-{outputs.release}.tgz", role="web"
    )
    local = ob.Command(
        'echo "token=$T release=$R"; '
        'printf "%s|%s|%s|%s" "$T" "$R" "$(pwd)" "${{DRILL_VALUE-}}" > seen.txt',
        env={"T": "{token}", "R": "{outputs.release}"},
        cwd="{where}",
    )


class Flaky(ob.Runbook):
    """A remote command that fails twice on every host, then succeeds."""

    name = "i13.flaky"
    scope, owner, last_reviewed = META["scope"], META["owner"], META["last_reviewed"]

    flaky = ob.Remote(
        "n=$(cat {host.dir}/tries 2>/dev/null || echo 0); n=$((n+1)); "
        "echo $n > {host.dir}/tries; test $n -ge 3",
        role="web",
        strategy="parallel",
        retry=ob.Retry(attempts=3, wait=0.05),
    )


class Crash(ob.Runbook):
    """An output, then a step the test kills the run in, then a remote step using it."""

    name = "i13.crash"
    scope, owner, last_reviewed = META["scope"], META["owner"], META["last_reviewed"]

    find = ob.Command("cat release.txt; echo found >> find.count", outputs=("release",))
    hold = ob.Command(
        "test -e reached && exit 0; touch reached; echo $$ > hold.pid; exec sleep 60",
        idempotent=True,
    )
    stamp = ob.Remote("printf '%s\\\\n' {outputs.release} > {host.dir}/stamp.txt", role="web")
'''

PER_HOST = '''
"""Per-host outputs (its own module: a definition change there breaks only its test)."""

import datetime as dt
import json

import opsbooks as ob

META = dict(scope="integration tests", owner="sre", last_reviewed=dt.date(2026, 11, 1))


class PerHost(ob.Runbook):
    """A remote step publishes an output on each host; later steps use each host's own."""

    name = "i13.per_host"
    scope, owner, last_reviewed = META["scope"], META["owner"], META["last_reviewed"]

    grab = ob.Remote("echo ::output n=$(cat {host.dir}/version)", role="web", outputs=("n",))
    use = ob.Remote("printf '%s\\\\n' {outputs.n} > {host.dir}/used.txt", role="web")

    @ob.step()
    def look(self, ctx):
        """Write what a local @step sees of the per-host output."""
        seen = {name: value for name, value in ctx.outputs.items()}
        (ctx.workdir / "seen-outputs.json").write_text(json.dumps(seen, default=dict))
'''

BAD = '''
"""A local step that names a per-host output: refused when the class is defined."""

import datetime as dt

import opsbooks as ob


class Grab(ob.Runbook):
    """Read a version on each host, then use it locally (which host's?)."""

    name = "i13.grab"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    grab = ob.Remote("touch {host.dir}/ran; echo ::output n=1", role="web", outputs=("n",))
    use = ob.Command("echo {outputs.n} > used-locally.txt")
'''


@dataclass
class Project:
    """A project on disk whose inventory is the two sshd hosts; each host has a folder."""

    root: Path
    cluster: SshdCluster

    def host_dir(self, host: str) -> Path:
        return self.root.parent / "hosts" / host

    def cli(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return cli(self.root, *args, cwd=cwd, env=env)

    def state_blobs(self) -> list[bytes]:
        return [p.read_bytes() for p in (self.root / ".opsbooks").rglob("*") if p.is_file()]

    def runs(self) -> list[Any]:
        return journal_runs(self.root)

    def only_run(self) -> str:
        runs = self.runs()
        assert len(runs) == 1, runs
        return str(runs[0].id)


def _make_project(
    root: Path, cluster: SshdCluster, module: str = BOOKS, where: str = "issue13.py"
) -> Project:
    project = Project(root, cluster)
    host_vars = {}
    for name in cluster.names:
        project.host_dir(name).mkdir(parents=True)
        host_vars[name] = {"dir": str(project.host_dir(name))}
    inventory = cluster.inventory_config(roles=["web"], host_vars=host_vars)
    write_project(root, {where.removesuffix(".py"): module}, config=inventory)
    (root / "settings.json").write_text(json.dumps(inventory))  # for a Drill's settings
    return project


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path / "sshd", names=HOSTS) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, cluster: SshdCluster) -> Project:
    made = _make_project(tmp_path / "proj", cluster)
    (made.root / "release.txt").write_text("::output release=r-42\n")
    (made.root / "art").mkdir()
    (made.root / "art" / "r-42.tgz").write_bytes(b"artifact r-42 from the project root\n")
    (made.root / "run dir").mkdir()
    return made


def _audit(project: Project, run_id: str) -> list[dict[str, Any]]:
    path = project.root / ".opsbooks" / "runs" / f"{run_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- item 7: outputs bound per host; env= and cwd= of Command bound ------------------


def test_item7_outputs_reach_each_host_and_command_env_cwd_are_bound(project: Project) -> None:
    done = project.cli("run", "i13.bind", "--yes", env={"OPSBOOKS_SECRET_TOKEN": CANARY})
    assert done.returncode == 0, done.stdout + done.stderr
    for host in HOSTS:
        folder = project.host_dir(host)
        assert (folder / "stamp-r-42.txt").read_text() == "r-42\n"
        assert (folder / "r-42.tgz").read_bytes() == b"artifact r-42 from the project root\n"
        back = project.root / "back" / f"{host}-r-42.tgz"
        assert back.read_bytes() == b"artifact r-42 from the project root\n"
        assert not any("{" in p.name for p in folder.iterdir()), list(folder.iterdir())
    seen = (project.root / "run dir" / "seen.txt").read_text()
    assert seen == f"{CANARY}|r-42|{project.root / 'run dir'}|"
    assert CANARY not in done.stdout + done.stderr
    assert "token=***** release=r-42" in done.stdout
    blobs = project.state_blobs()
    assert blobs and all(CANARY.encode() not in blob for blob in blobs)
    assert any(b"token=***** release=r-42" in blob for blob in blobs), "output not journaled"


def test_item7_resume_after_a_kill_replays_the_output_to_the_remote_step(
    project: Project,
) -> None:
    started = subprocess.Popen(
        [PYTHON, "-m", "opsbooks", "run", "i13.crash", "--yes"], cwd=project.root,
        env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    pid_file = project.root / "hold.pid"
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert started.poll() is None and time.monotonic() < deadline, started.communicate()
        time.sleep(0.05)
    started.send_signal(signal.SIGKILL)  # the way a crash would: no handler runs
    started.communicate(timeout=30)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the step's own command dies too
    for host in HOSTS:
        assert not (project.host_dir(host) / "stamp.txt").exists()

    (project.root / "release.txt").write_text("::output release=changed-later\n")
    resumed = project.cli("resume", project.only_run(), "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (project.root / "find.count").read_text() == "found\n", "find ran twice"
    for host in HOSTS:
        assert (project.host_dir(host) / "stamp.txt").read_text() == "r-42\n"
    checked = project.cli("audit", "verify", project.only_run())
    assert checked.returncode == 0 and "chain intact" in checked.stdout, checked.stdout


# --- item 9: Remote retry at run time; Remote outputs per host ---------------------


def test_item9_remote_retry_runs_three_attempts_on_each_host(project: Project) -> None:
    dry = project.cli("run", "i13.flaky", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "up to 3 attempts" in dry.stdout
    done = project.cli("run", "i13.flaky", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = project.only_run()
    for host in HOSTS:
        assert (project.host_dir(host) / "tries").read_text() == "3\n"
    journal = open_journal(f"sqlite:///{project.root / '.opsbooks' / 'journal.db'}")
    try:
        assert journal.get_run(run_id).outcome == "succeeded"
        records = journal.host_results(run_id, "flaky")
        finished = [t for t in journal.transitions(run_id) if t.status.value == "succeeded"]
    finally:
        journal.close()
    assert sorted((r.host, r.ok) for r in records) == [("web1", True), ("web2", True)]
    assert [t.attempt for t in finished if t.step_id == "flaky"] == [3]
    failed = [e for e in _audit(project, run_id) if e["event"] == "attempt_failed"]
    for host in HOSTS:
        mine = [e for e in failed if e["reason"].startswith(f"{host}: ")]
        assert [e["attempt"] for e in mine] == [1, 2], failed


def test_item9_remote_outputs_are_per_host(project: Project) -> None:
    """Each host's ``::output`` line binds ``{outputs.n}`` for that host's later steps; a
    local @step sees ``ctx.outputs["n"]`` as host name -> value (checks_remote.py)."""
    (project.root / "books" / "per_host.py").write_text(PER_HOST)
    for index, host in enumerate(HOSTS):
        (project.host_dir(host) / "version").write_text(f"v{index + 1}.0-{host}\n")
    done = project.cli("run", "i13.per_host", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    for index, host in enumerate(HOSTS):
        assert (project.host_dir(host) / "used.txt").read_text() == f"v{index + 1}.0-{host}\n"
    seen = json.loads((project.root / "seen-outputs.json").read_text())
    assert seen == {"n": {"web1": "v1.0-web1", "web2": "v2.0-web2"}}


def test_item9_a_local_template_naming_a_per_host_output_is_refused(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    bad = _make_project(tmp_path / "bad", cluster, module=BAD, where="i13/grab.py")
    done = bad.cli("run", "i13.grab", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    error = done.stderr.strip().splitlines()[-1]  # after the catalog's one-line warning
    assert error.startswith("opsbooks: runbook 'i13.grab' cannot be loaded"), done.stderr
    assert "{outputs.n} has one value per host" in error
    assert [list(bad.host_dir(h).iterdir()) for h in HOSTS] == [[], []]
    assert bad.runs() == []


# --- item 10: local paths against the project root; Drill(environ=) ----------------


def test_item10_cli_from_a_subdirectory_resolves_local_paths_against_the_root(
    project: Project,
) -> None:
    deeper = project.root / "sub" / "deeper"
    (deeper / "art").mkdir(parents=True)
    (deeper / "art" / "r-42.tgz").write_bytes(b"decoy in the cwd\n")
    (deeper / "release.txt").write_text("::output release=decoy\n")
    done = project.cli(
        "run", "i13.bind", "--yes", cwd=deeper, env={"OPSBOOKS_SECRET_TOKEN": "sub-token-1"}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for host in HOSTS:
        shipped = project.host_dir(host) / "r-42.tgz"
        assert shipped.read_bytes() == b"artifact r-42 from the project root\n"
        assert (project.root / "back" / f"{host}-r-42.tgz").is_file()
    assert not (deeper / "back").exists()
    assert sorted(p.name for p in deeper.iterdir()) == ["art", "release.txt"]
    assert (project.root / "run dir" / "seen.txt").is_file()


def test_item10_drill_environ_and_transfers_stay_in_the_drill_root(
    drill: Drill, project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sys.path.insert(0, str(project.root))
    try:
        from books.issue13 import Bind  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(project.root))
        for name in ("books.issue13", "books"):  # another test's project has its own
            sys.modules.pop(name, None)
    user = tmp_path / "user-project"
    (user / "art").mkdir(parents=True)
    (user / "art" / "r-42.tgz").write_bytes(b"the user's real file\n")
    (user / "release.txt").write_text("::output release=r-42\n")
    before = sorted(str(p.relative_to(user)) for p in user.rglob("*"))
    monkeypatch.chdir(user)

    root = drill.root
    (root / "release.txt").write_text("::output release=r-42\n")
    (root / "art").mkdir()
    (root / "art" / "r-42.tgz").write_bytes(b"the drill's artifact\n")
    (root / "run dir").mkdir()
    drill.runbooks = (Bind,)
    drill.settings = dict(json.loads((project.root / "settings.json").read_text()))
    drill.environ = {"OPSBOOKS_SECRET_TOKEN": "drill-token", "DRILL_VALUE": "from-environ"}
    result = drill.run(Bind)
    result.assert_succeeded()
    for host in HOSTS:
        assert (project.host_dir(host) / "r-42.tgz").read_bytes() == b"the drill's artifact\n"
        assert (root / "back" / f"{host}-r-42.tgz").read_bytes() == b"the drill's artifact\n"
    seen = (root / "run dir" / "seen.txt").read_text()
    assert seen == f"drill-token|r-42|{root / 'run dir'}|from-environ"
    assert sorted(str(p.relative_to(user)) for p in user.rglob("*")) == before
    assert (user / "art" / "r-42.tgz").read_bytes() == b"the user's real file\n"
