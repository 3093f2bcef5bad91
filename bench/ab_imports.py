"""A/B of the run-path import fixes (issue 18, rows 1 and 5): what ``opsbooks run`` imports.

``python -m bench.ab_imports [--rounds N] [--base REV] [VARIANT ...]``: every variant is
REV's ``opsbooks`` package (``git archive``, default ``HEAD``) unpacked to a temporary
folder and put first on ``PYTHONPATH``, with some of the working tree's files laid
over it, so other sessions' edits in the tree do not blur the figure:

- ``base``: REV as it is (before);
- ``all``: REV with every file of ``CHANGES`` from the tree (after);
- ``without:NAME``: ``all`` but the files of change ``NAME`` as REV has them (what
  that change alone buys);
- ``round4`` and ``round4-without:NAME``: the same for the round-4 changes
  (``ROUND4``), against the commit before them.

Each variant runs row 1's command (``opsbooks run`` of 20 ``true`` steps, in a project
of its own, so no variant invalidates another's catalog index) and ``python -c "import
opsbooks.edges.cli.run"``; plain invoke running one task of 20 ``c.run("true")`` is the
baseline. Rounds are interleaved, order alternating, after a discarded warm-up round;
it prints medians of wall and CPU (user + system of the child) and ratios to invoke.
``--modules`` times nothing: it prints how many modules each variant's run loads.

The overlay takes whole files from the tree: once other edits land in the same files,
give ``--base`` the commit before these fixes and the tree's versions of the files.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.measure import BIN, Sample, interleave, run_process
from bench.projects import write_config, write_plain_invoke, write_runbook

ROOT = Path(__file__).resolve().parents[1]

#: each change of the run-path import fixes: the working-tree files it consists of
CHANGES: dict[str, tuple[str, ...]] = {
    "ssh": ("opsbooks/run/per_host.py", "opsbooks/run/host_outputs.py", "opsbooks/run/notes.py"),
    "notify": ("opsbooks/backends/notify.py",),
    "render": ("opsbooks/render/__init__.py",),
    "regex": ("opsbooks/records/redaction.py", "opsbooks/edges/config.py"),
    "tenacity": ("opsbooks/run/retrying.py",),
    "approvals": ("opsbooks/edges/approvals.py",),
    "version": ("opsbooks/edges/cli/main.py",),
    "dryrun": ("opsbooks/edges/session.py",),
}

#: round 4 (measured against the commit before it, ``--base HEAD`` at the time):
#: ``round4`` is REV with every file below from the tree, ``round4-without:NAME`` the
#: same with change ``NAME``'s files as REV has them
ROUND4: dict[str, tuple[str, ...]] = {
    "remote": (
        "opsbooks/define/base.py",
        "opsbooks/define/checks.py",
        "opsbooks/define/checks_per_host.py",
    ),
    "postgres": ("opsbooks/records/journal/__init__.py",),
    "events": ("opsbooks/records/events.py",),
    "docstrings": ("opsbooks/records/journal/records.py",),
    "services": (
        "opsbooks/run/execute.py",
        "opsbooks/run/questions.py",
        "opsbooks/run/runner.py",
        "opsbooks/run/stepping.py",
    ),
    "hookscan": ("opsbooks/edges/hooks.py",),
}


def _unpack(rev: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "opsbooks"], capture_output=True, check=True
    )
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def _overlay(base: Path, into: Path, paths: list[str]) -> None:
    shutil.copytree(base, into)
    for path in paths:
        shutil.copy2(ROOT / path, into / path)
    # byte-compiled once here: with PYTHONDONTWRITEBYTECODE set, every run would
    # otherwise compile every module again, and the variant that imports more would pay more
    compileall.compile_dir(into, quiet=1)


def _variant_paths(name: str) -> list[str]:
    every = [p for paths in CHANGES.values() for p in paths]
    if name == "base":
        return []
    if name.startswith("round4"):
        return _round4_paths(name)
    if name == "all":
        return every
    if name.startswith("without:") and name[8:] in CHANGES:
        left_out = set(CHANGES[name[8:]])
        return [p for p in every if p not in left_out]
    raise SystemExit(
        f"unknown variant {name!r}: base, all, without:{'|'.join(CHANGES)}, round4, "
        f"round4-without:{'|'.join(ROUND4)}"
    )


def _round4_paths(name: str) -> list[str]:
    every = [p for paths in ROUND4.values() for p in paths]
    if name == "round4":
        return every
    left = name.removeprefix("round4-without:")
    if left not in ROUND4:
        raise SystemExit(f"unknown variant {name!r}: round4-without:{'|'.join(ROUND4)}")
    return [p for p in every if p not in set(ROUND4[left])]


#: run in a variant's project: the CLI's ``main`` in-process, then how many modules it loaded
PROBE = """
import sys
from opsbooks.edges.cli.main import main
code = main(["run", "bench.twenty", "--yes"])
ours = [m for m in sys.modules if m.startswith("opsbooks")]
print(f"MODULES={len(sys.modules)} OPSBOOKS={len(ours)} EXIT={code}")
"""


def _modules(work: Path, names: list[str], rev: str) -> None:
    """Print the modules each variant's run loads: exact, the same on any machine."""
    base = work / "base"
    _unpack(rev, base)
    print("| Variant | Modules loaded by the run | of them opsbooks' |\n| --- | --- | --- |")
    for index, name in enumerate(names):
        code, project = work / f"code-{index}", work / f"project-{index}"
        _overlay(base, code, _variant_paths(name))
        write_runbook(project, "bench", "twenty", steps=20)
        write_config(project)
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(code)},
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("MODULES=")), "")
        if not line.endswith("EXIT=0"):
            raise SystemExit(f"{name}: the run failed:\n{done.stdout}{done.stderr}")
        counts = dict(part.split("=") for part in line.split())
        print(f"| {name} | {counts['MODULES']} | {counts['OPSBOOKS']} |")


def _commands(work: Path, names: list[str], rev: str) -> dict[str, Callable[[], Sample]]:
    base = work / "base"
    _unpack(rev, base)
    plain = work / "plain"
    write_plain_invoke(plain, tasks=1, runs=20)
    commands: dict[str, Callable[[], Sample]] = {
        "invoke task (baseline)": lambda: run_process([str(BIN / "invoke"), "task-000"], cwd=plain)
    }
    for index, name in enumerate(names):
        code = work / f"code-{index}"
        _overlay(base, code, _variant_paths(name))
        project = work / f"project-{index}"
        write_runbook(project, "bench", "twenty", steps=20)
        write_config(project)
        env = {"PYTHONPATH": str(code)}
        run = [str(BIN / "opsbooks"), "run", "bench.twenty", "--yes"]
        imp = [sys.executable, "-c", "import opsbooks.edges.cli.run"]
        commands[f"run {name}"] = lambda r=run, p=project, e=env: run_process(r, cwd=p, env=e)
        commands[f"import {name}"] = lambda i=imp, p=project, e=env: run_process(i, cwd=p, env=e)
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab_imports")
    parser.add_argument("variants", nargs="*", default=["base", "all"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--base", default="HEAD", help="the revision before the fixes")
    parser.add_argument("--modules", action="store_true", help="count modules, time nothing")
    args = parser.parse_args(argv)
    if args.modules:
        with tempfile.TemporaryDirectory(prefix="ab-imports-") as folder:
            _modules(Path(folder), args.variants, args.base)
        return 0
    with tempfile.TemporaryDirectory(prefix="ab-imports-") as folder:
        commands = _commands(Path(folder), args.variants, args.base)
        samples = interleave(commands, args.rounds, warmup=True)
    base = samples["invoke task (baseline)"]
    wall0 = statistics.median(s.wall for s in base)
    cpu0 = statistics.median(s.cpu for s in base)
    print(f"{args.rounds} rounds against {args.base}; load average {os.getloadavg()[0]:.1f}")
    print("| Command | Wall | vs invoke | CPU | vs invoke |\n| --- | --- | --- | --- | --- |")
    for name, values in samples.items():
        wall = statistics.median(s.wall for s in values)
        cpu = statistics.median(s.cpu for s in values)
        print(
            f"| {name} | {wall * 1000:.0f} ms | {wall / wall0:.2f}x "
            f"| {cpu * 1000:.0f} ms | {cpu / cpu0:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
