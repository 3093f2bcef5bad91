"""A/B of the start-up fixes (issue 18, row 3): a git revision's opsbooks against the tree.

``python -m bench.ab_startup [ROUNDS] [REV]`` exports REV's ``opsbooks`` and
``opsbooks_playbooks`` (``git archive``, default ``HEAD``) to a temporary folder and runs
the same commands with it first on ``PYTHONPATH`` ("before") and with the working tree
("after"), interleaved round by round after one discarded warm-up round (which also
writes the catalog index), on row 3's projects: the house catalog plus 50 generated
runbooks, and a plain ``tasks.py`` of 50 tasks as the baseline. Prints median wall and
CPU (user + system of the child) and each one's ratio to the baseline.

Both packages are byte-compiled first, as an installed wheel is: invoke turns off writing
``.pyc`` files before it loads ``tasks.py``, so in a checkout whose environment also
sets ``PYTHONDONTWRITEBYTECODE`` the modules a listing imports would be compiled on
every run, on one side only. The tree's variants also run ``invoke --list`` with the
fixes of the invoke listing taken out in-process (``_VARIANTS``: invoke's own
``Collection.to_contexts``; every catalog file hashed), ``invoke TASK --help``, and
``invoke --list`` in a copy of the project with ``catalog_index = false`` (``no
index``: every runbook module imported, as a cold listing does).
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.projects import write_plain_invoke
from bench.rows_startup import catalog_project

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
#: ``invoke`` as its console script runs it, with this change's fixes taken out in-process:
#: ``eager`` (invoke's own ``Collection.to_contexts``), ``rehash`` (every catalog file
#: read and hashed, as if none had its marks)
_INVOKE = (
    "import sys\nimport opsbooks.edges.tasks as adapter\n"
    "import opsbooks.edges.catalog_index as index\nout = sys.argv.pop(1).split(',')\n"
    "if 'eager' in out:\n    adapter._LAZY_VERSIONS = set()\n"
    "if 'rehash' in out:\n    index._RACY_NS = 1 << 80\n"
    "from invoke.main import program\nsys.exit(program.run())\n"
)
#: label -> what the in-process variant takes out
_VARIANTS = {
    "every fix in": "-",
    "eager contexts": "eager",
    "every file re-read": "rehash",
    "both out": "eager,rehash",
}


def _commands(work: Path, before: dict[str, str], after: dict[str, str]) -> dict[str, tuple]:
    # one project per side: an index is keyed by the opsbooks it was built with, so a
    # shared one would be rebuilt on every alternation
    for side in ("before", "after"):
        catalog_project(work / side, runbooks=50, steps=5, house=True)
    cold = work / "cold"
    catalog_project(cold, runbooks=50, steps=5, house=True)
    with (cold / "opsbooks.toml").open("a") as toml:
        toml.write("catalog_index = false\n")
    plain = work / "plain"
    write_plain_invoke(plain, tasks=50)
    invoke = str(BIN / "invoke")
    commands: dict[str, tuple] = {"plain invoke --list": ([invoke, "--list"], plain, after)}
    for label, argv, folder in (
        ("invoke --list", [invoke, "--list"], None),
        ("invoke TASK --help", [invoke, "backup.restore", "--help"], None),
        ("invoke --list, no index", [invoke, "--list"], cold),
        ("opsbooks list", [str(BIN / "opsbooks"), "list"], None),
        ("opsbooks --help", [str(BIN / "opsbooks"), "--help"], None),
        ("import opsbooks", [sys.executable, "-c", "import opsbooks"], work),
    ):
        for side, env in (("before", before), ("after", after)):
            commands[f"{label} ({side})"] = (argv, folder or work / side, env)
    for label, out in _VARIANTS.items():
        argv = [sys.executable, "-c", _INVOKE, out, "--list"]
        commands[f"invoke --list, {label} (after)"] = (argv, work / "after", after)
    return commands


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    start_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime - start_usage.ru_utime + usage.ru_stime - start_usage.ru_stime
    return wall, cpu


def main(rounds: int, rev: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ab-startup-") as folder:
        work = Path(folder)
        old = work / "rev"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", rev, "opsbooks", "opsbooks_playbooks"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        for folder in (old, REPO):
            for package in ("opsbooks", "opsbooks_playbooks"):
                compileall.compile_dir(str(folder / package), quiet=1)
        after = dict(os.environ)
        before = {**after, "PYTHONPATH": str(old)}
        commands = _commands(work, before, after)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for round_ in range(rounds + 1):
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                measured = _time(*commands[name])
                if round_:
                    samples[name].append(measured)
    base_wall = statistics.median(s[0] for s in samples["plain invoke --list"])
    base_cpu = statistics.median(s[1] for s in samples["plain invoke --list"])
    print(f"{rounds} rounds against {rev}; load average {os.getloadavg()[0]:.1f}")
    print("| Command | Wall | Ratio | CPU | Ratio |\n| --- | --- | --- | --- | --- |")
    for name, values in samples.items():
        wall = statistics.median(s[0] for s in values)
        cpu = statistics.median(s[1] for s in values)
        print(
            f"| {name} | {wall * 1000:.0f} ms | {wall / base_wall:.2f}x "
            f"| {cpu * 1000:.0f} ms | {cpu / base_cpu:.2f}x |"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, sys.argv[2] if len(sys.argv) > 2 else "HEAD")
