"""The wheel as a new user gets it: built from this tree, installed into a fresh venv,
used from a fresh git repository far from this checkout.

One test on purpose: the wheel build and the venv are the expensive part (most of the
minute is pip fetching the dependencies), and split across tests they would be made
again on every pytest-xdist worker. Each stage is a helper whose assertions say which
stage failed. What it proves, in order:

- the wheel holds exactly ``opsbooks`` and ``opsbooks_playbooks`` (never a top-level
  ``playbooks``, ``tests``, ``bench`` or ``scripts``), every file git tracks under them
  (``py.typed``, any template or data file), and the three entry points;
- in a venv without system site packages: ``opsbooks --version``, ``python -m opsbooks``,
  ``opsbooks init``, ``opsbooks new ops.restart --from runbook.md``, ``invoke --list``,
  the generated drills under pytest, ``opsbooks docs --check`` and ``opsbooks lint``;
- the user's own package named ``playbooks`` imports, from python and from pytest;
- the README's 60-second tour, command by command, in that project, and its page excerpt;
- the site: the guide's ``mkdocs.yml`` builds the project's pages with ``--strict``;
- the guide's house-catalog section as written: ``opsbooks_playbooks`` enabled next to
  the user's catalog, listed, shown, run, and extended by a subclass that runs too.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
#: pip runs with the machine's own HOME (its configured indexes), captured at import,
#: before the suite's isolation fixture points HOME at an empty directory.
PIP_HOME = str(Path.home())

README = REPO / "README.md"
GUIDE = REPO / "docs/guides/your-project.md"
TOUR = "## The 60-second tour"
SITE = "## Publish the docs"
HOUSE = "## Use the house catalog"

RUNBOOK_MD = """\
# Restart the App Service

## Purpose
Restart the app service when its health check fails and a restart is the agreed fix.

## Prerequisites
- Shell access to the app host
- The incident channel open

## Steps

### Step 1: Announce
1. Post "restarting app" in the incident channel
2. Note the time

### Step 2: Restart
1. Restart the service from the service manager
2. Wait for it to report "active"

```bash
echo restarted
```

## Verification
- [ ] The health check answers 200
- [ ] No new errors in the app log

## Troubleshooting

### Issue: The service does not start
**Symptoms**: The service manager reports "failed"
**Cause**: A bad configuration file
**Solution**: Restore the previous configuration and restart again

## Related Procedures
- [Incident response](incident.md)
"""


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: a gate stops the run, as in CI
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str], what: str) -> str:
    assert done.returncode == 0, f"{what}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, f"{what}: {done.stderr}"
    return done.stdout


def build_wheel(work: Path) -> Path:
    """``pip wheel`` of a clean copy of the tree (what git would commit, no build/ left-overs)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    source = work / "src"
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        if path.is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    env = {**os.environ, "HOME": PIP_HOME}
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist")]
    _ok(_run([*argv, str(source)], work, env), "pip wheel")
    (wheel,) = (work / "dist").glob("opsbooks-*.whl")
    return wheel


def check_wheel(wheel: Path) -> None:
    """Top-level names, the tracked package files, and the entry points."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    top = {name.split("/")[0] for name in names} - {info}
    assert top == {"opsbooks", "opsbooks_playbooks"}, f"top-level names: {sorted(top)}"
    tracked = subprocess.run(
        ["git", "ls-files", "opsbooks", "opsbooks_playbooks"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    missing = sorted(set(tracked) - names)
    assert not missing, f"tracked package files missing from the wheel: {missing}"
    assert "opsbooks/py.typed" in names
    parser = configparser.ConfigParser()
    parser.read_string(entry_points)
    assert parser["console_scripts"]["opsbooks"] == "opsbooks.edges.cli.main:main"
    assert parser["pytest11"]["opsbooks"] == "opsbooks.testing"
    assert dict(parser["opsbooks.catalogs"]) == {"opsbooks_playbooks": "opsbooks_playbooks"}


def make_venv(work: Path, wheel: Path) -> Path:
    """A fresh venv (no system site packages) with the wheel, pytest and invoke in it.

    The venv is made without its own pip, and this interpreter's pip installs into it
    (``pip --python``): the same install, without ensurepip's quarter of a minute.
    """
    venv = work / "venv"
    _ok(
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, {**os.environ}),
        "venv",
    )
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _ok(_run([*install, str(wheel), "pytest", "invoke"], work, {**env, "HOME": PIP_HOME}), "pip")
    return venv


def user_env(venv: Path) -> dict[str, str]:
    """A user's shell in the venv: nothing of this checkout or this suite on any path."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "OPSBOOKS_", "PYTHON", "VIRTUAL_ENV", "COV_"))
    }
    keep["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    keep["OPSBOOKS_USER"] = "new-user"
    keep["GIT_CEILING_DIRECTORIES"] = str(Path(tempfile.gettempdir()).resolve())
    return keep


def check_fresh_install(venv: Path, project: Path, env: dict[str, str], version: str) -> None:
    """The console script, ``python -m``, the installed (not editable) package, no playbooks."""
    assert _ok(_run(["opsbooks", "--version"], project, env), "--version").strip() == (
        f"opsbooks {version}"
    )
    shown = _ok(_run(["python", "-m", "opsbooks", "--version"], project, env), "python -m")
    assert shown.strip() == f"opsbooks {version}"
    probe = (
        "import importlib.util, opsbooks, opsbooks_playbooks; "
        "print(opsbooks.__file__); print(opsbooks_playbooks.__file__); "
        "print(importlib.util.find_spec('playbooks'))"
    )
    where = _ok(_run(["python", "-c", probe], project, env), "imports").split()
    assert all(line.startswith(str(venv)) for line in where[:2]), where
    assert where[2] == "None", f"an installed package named playbooks: {where[2]}"
    assert not list(venv.glob("lib/python*/site-packages/playbooks"))


def check_new_project(project: Path, env: dict[str, str]) -> None:
    """init, new --from, invoke, the drills under pytest, the drift check and lint."""
    _ok(_run(["opsbooks", "init"], project, env), "opsbooks init")
    (project / "runbook.md").write_text(RUNBOOK_MD)
    _ok(_run(["opsbooks", "new", "ops.restart", "--from", "runbook.md"], project, env), "new")
    listed = _ok(_run(["opsbooks", "list"], project, env), "list")
    assert "ops.clean_logs" in listed and "ops.restart" in listed, listed
    tasks = _ok(_run(["invoke", "--list"], project, env), "invoke --list")
    assert "ops.clean-logs" in tasks and "ops.restart" in tasks, tasks
    # the user's own package named playbooks, from python and from a test
    (project / "playbooks").mkdir()
    (project / "playbooks/__init__.py").write_text('"""Our own helpers."""\n')
    (project / "playbooks/certs.py").write_text('def issuer() -> str:\n    return "ours"\n')
    (project / "tests/test_own_playbooks.py").write_text(
        'from playbooks.certs import issuer\n\n\ndef test_ours():\n    assert issuer() == "ours"\n'
    )
    shown = _run(["python", "-c", "import playbooks.certs as c; print(c.__file__)"], project, env)
    assert _ok(shown, "import playbooks").strip() == str(project / "playbooks/certs.py")
    tested = _run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], project, env)
    summary = _ok(tested, "pytest of the drills").strip().splitlines()[-1]
    passed = re.match(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 5 and "failed" not in summary, summary
    docs = _run(["opsbooks", "docs", "--check"], project, env)
    _ok(docs, "docs --check")
    lint = _ok(_run(["opsbooks", "lint"], project, env), "lint")
    assert re.search(r"\b0 error\(s\)", lint), lint


def section(path: Path, heading: str) -> str:
    """The text of the ``## heading...`` section of a Markdown file, up to the next one."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}") + 1
    end = text.find("\n## ", start)
    return text[start : end if end != -1 else len(text)]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def run_section(path: Path, heading: str, project: Path, env: dict[str, str]) -> dict[str, str]:
    """Run the section's ``sh`` lines as written; each exits as its comment says (``exit N``).

    ``pip install`` and ``cd`` lines are left out: the venv is this test's, and the
    commands run in the project already. Returns each command's output.
    """
    outputs: dict[str, str] = {}
    for block in fenced(section(path, heading), "sh"):
        for line in block.splitlines():
            command, _, comment = line.partition("  #")
            command = command.strip()
            if not command or command.startswith(("pip install", "cd ")):
                continue
            promised = re.search(r"\bexit (\d)\b", comment)
            done = _run(["bash", "-c", command], project, env)
            assert done.returncode == (int(promised.group(1)) if promised else 0), (
                f"{path.name} {heading!r}: {command}\n{done.stdout}\n{done.stderr}"
            )
            assert "Traceback" not in done.stderr, (command, done.stderr)
            outputs[command] = done.stdout
    assert len(outputs) >= 3, f"{path.name} {heading!r}: {sorted(outputs)}"
    return outputs


def check_tour(project: Path, env: dict[str, str]) -> None:
    """Every command of the README's tour, in the project; its page excerpt is the page's."""
    outputs = run_section(README, TOUR, project, env)
    assert "Run succeeded" in outputs["opsbooks resume last --yes"]
    excerpt = fenced(section(README, TOUR), "markdown")[0]
    page = (project / "docs/runbooks/ops/clean_logs.md").read_text(encoding="utf-8")
    for line in excerpt.splitlines():
        if line.strip() and line.strip() != "...":
            assert line in page, f"README tour page line not in the generated page: {line!r}"


def check_site(project: Path, env: dict[str, str], site: Path) -> None:
    """The guide's ``mkdocs.yml`` builds the project's pages strictly (this suite's mkdocs)."""
    (config,) = fenced(section(GUIDE, SITE), "yaml")
    (project / "mkdocs.yml").write_text(config)
    argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    _ok(_run(argv, project, {**env, "NO_MKDOCS_2_WARNING": "1"}), "mkdocs build --strict")
    assert (site / "runbooks/ops/restart/index.html").is_file()


def check_house_catalog(project: Path, env: dict[str, str]) -> None:
    """The guide's house-catalog section as written: enable, list, show, run, extend."""
    config = project / "opsbooks.toml"
    text = config.read_text()
    (packages,) = fenced(section(GUIDE, HOUSE), "toml")
    assert 'packages = ["runbooks"]\n' in text, text
    config.write_text(text.replace('packages = ["runbooks"]\n', packages))
    (subclass,) = fenced(section(GUIDE, HOUSE), "python")
    (project / "runbooks/backup").mkdir()
    (project / "runbooks/backup/__init__.py").write_text('"""Backups, our way."""\n')
    (project / "runbooks/backup/verify_nightly.py").write_text(subclass)
    sql = "create table t(x); insert into t values (1);"
    made = f"import sqlite3; sqlite3.connect('app.db').executescript('{sql}')"
    _ok(_run(["python", "-c", made], project, env), "app.db")
    outputs = run_section(GUIDE, HOUSE, project, env)
    listed = outputs["opsbooks list"]
    for name in ("release.deploy", "backup.verify", "ops.clean_logs", "ops.restart"):
        assert re.search(rf"^{re.escape(name)}\s", listed, re.MULTILINE), (name, listed)
    assert re.search(r"^backup\.verify_nightly\s.*Nightly Backup Verification", listed, re.M)
    page = outputs["opsbooks show release.deploy"]
    assert "# Release Deployment" in page and "`release.deploy`" in page
    ran = outputs["opsbooks run backup.verify_nightly --backup backups --yes"]
    assert "Verify the backup" in ran and "Run succeeded" in ran, ran


class Laps:
    """Seconds per stage, printed as each ends (pytest shows them on failure, or with -s)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def __call__(self, stage: str) -> None:
        now = time.monotonic()
        print(f"install test: {stage} {now - self.last:.1f}s (total {now - self.start:.1f}s)")
        self.last = now


def test_the_wheel_in_a_fresh_venv_serves_a_new_project(tmp_path: Path) -> None:
    lap = Laps()
    wheel = build_wheel(tmp_path)
    check_wheel(wheel)
    lap("wheel built and inspected")
    venv = make_venv(tmp_path, wheel)
    lap("venv and pip install")
    project = tmp_path / "app"
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    env = user_env(venv)
    check_fresh_install(venv, project, env, version=wheel.name.split("-")[1])
    check_new_project(project, env)
    lap("init, new, invoke, pytest, docs --check, lint")
    check_tour(project, env)
    lap("README tour")
    check_site(project, env, tmp_path / "site")
    lap("mkdocs site")
    check_house_catalog(project, env)
    lap("house catalog")
