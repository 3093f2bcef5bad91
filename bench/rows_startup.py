"""Rows 3 and 6: start-up (listing the catalog) and rendering pages, whole processes.

Row 3 lists the house catalog plus 50 generated runbooks with ``invoke --list`` and
``opsbooks list`` against ``invoke --list`` on a plain ``tasks.py`` of 50 tasks, and
reads ``python -X importtime`` for what ``import opsbooks`` costs. The packages are
byte-compiled first, as an installed wheel is (invoke turns off writing ``.pyc`` files
before it loads ``tasks.py``, so in a checkout whose environment sets
``PYTHONDONTWRITEBYTECODE`` the modules only a task listing imports would be compiled on
every run, which no installed copy pays). Row 6 renders 200
generated runbooks: ``opsbooks docs --check`` against ``opsbooks list`` on the same
project, so the difference is rendering (Markdown and Mermaid) and comparing pages.
"""

from __future__ import annotations

import compileall
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.measure import BIN, Row, compare, interleave, run_process
from bench.projects import write_config, write_plain_invoke, write_runbook

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pydantic", "structlog", "fabric", "paramiko", "invoke", "tenacity", "jinja2", "yaml")


def catalog_project(root: Path, *, runbooks: int, steps: int, house: bool) -> None:
    for index in range(runbooks):
        write_runbook(root, f"cat{index % 10}", f"book_{index:03d}", steps=steps, kind="mixed")
    write_config(root, ["opsbooks_playbooks", "gen"] if house else ["gen"])


def startup_rows(work: Path, *, reps: int, runbooks: int = 50) -> list[Row]:
    ours, plain = work / "startup-ours", work / "startup-plain"
    catalog_project(ours, runbooks=runbooks, steps=5, house=True)
    write_plain_invoke(plain, tasks=runbooks)
    for package in ("opsbooks", "opsbooks_playbooks"):
        compileall.compile_dir(str(REPO / package), quiet=1)
    invoke, opsbooks = str(BIN / "invoke"), str(BIN / "opsbooks")
    samples = interleave(
        {
            "invoke": lambda: run_process([invoke, "--list"], cwd=ours),
            "list": lambda: run_process([opsbooks, "list"], cwd=ours),
            "plain": lambda: run_process([invoke, "--list"], cwd=plain),
        },
        reps,
    )
    heavy = {" ".join(argv): loaded_by(argv, ours) for argv in (["list"], ["--help"])}
    base = f"invoke --list, plain tasks.py of {runbooks} tasks"
    rows = []
    for variant, label in (("invoke", "invoke --list"), ("list", "opsbooks list")):
        for metric in ("wall", "cpu"):
            rows.append(
                compare(
                    3,
                    "startup",
                    f"{label} {metric}",
                    ours=f"{label}, house catalog + {runbooks} runbooks",
                    baseline=base,
                    ours_values=[getattr(s, metric) for s in samples[variant]],
                    baseline_values=[getattr(s, metric) for s in samples["plain"]],
                    target_ratio=1.2,
                )
            )
    rows[2].note = "; ".join(
        f"`opsbooks {k}` imports {', '.join(v) or 'nothing heavy'}" for k, v in heavy.items()
    )
    return rows


def loaded_by(argv: list[str], cwd: Path) -> list[str]:
    """Which heavy modules ``opsbooks ARGV`` imports (``list``, ``--help``, ``docs --check``)."""
    probe = (
        "import sys\nfrom opsbooks.edges.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    marks = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    return [m for m in marks[-1].removeprefix("HEAVY=").split(",") if m] if marks else ["?"]


def import_report() -> dict[str, Any]:
    """Top cumulative import costs of ``import opsbooks`` and which heavy modules it loads."""
    probe = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys, opsbooks; print(','.join(m for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    costs: list[tuple[int, str]] = []
    for line in probe.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            costs.append((int(parts[1]), parts[2].rstrip()))
    loaded = set(probe.stdout.strip().split(","))
    total = max((us for us, _ in costs), default=0)
    top = sorted(costs, reverse=True)[:8]
    return {
        "cumulative_us": total,
        "top": [
            {"us": us, "module": name.strip(), "depth": len(name) - len(name.lstrip())}
            for us, name in top
        ],
        "heavy_loaded": sorted(m for m in HEAVY if m in loaded),
    }


def import_row(*, reps: int) -> Row:
    """``python -c "import opsbooks"`` against ``python -c "import invoke"``, whole process."""
    here = Path.cwd()
    samples = interleave(
        {
            "ours": lambda: run_process([sys.executable, "-c", "import opsbooks"], cwd=here),
            "invoke": lambda: run_process([sys.executable, "-c", "import invoke"], cwd=here),
        },
        reps,
    )
    report = import_report()
    heavy = ", ".join(report["heavy_loaded"]) or "none"
    return compare(
        3,
        "startup",
        "import opsbooks wall",
        ours="python -c 'import opsbooks'",
        baseline="python -c 'import invoke'",
        ours_values=[s.wall for s in samples["ours"]],
        baseline_values=[s.wall for s in samples["invoke"]],
        target="nothing heavy imported",
        note=f"heavy modules loaded: {heavy}; cumulative {report['cumulative_us'] / 1000:.0f} ms",
    )


def render_rows(work: Path, *, reps: int, runbooks: int = 200) -> list[Row]:
    ours = work / "render"
    catalog_project(ours, runbooks=runbooks, steps=10, house=False)
    opsbooks = str(BIN / "opsbooks")
    run_process([opsbooks, "docs"], cwd=ours)
    samples = interleave(
        {
            "check": lambda: run_process([opsbooks, "docs", "--check"], cwd=ours),
            "list": lambda: run_process([opsbooks, "list"], cwd=ours),
        },
        reps,
    )
    checks = [s.wall for s in samples["check"]]
    lists = [s.wall for s in samples["list"]]
    row = compare(
        6,
        "render",
        f"docs --check, {runbooks} runbooks",
        ours="opsbooks docs --check",
        baseline="opsbooks list (same catalog)",
        ours_values=checks,
        baseline_values=lists,
        target=f"render < 1 s for {runbooks}",
    )
    rendering = sorted(c - li for c, li in zip(checks, lists, strict=True))
    cost = rendering[len(rendering) // 2]
    row.met = cost < 1.0
    row.note = f"rendering + compare (check - list): {cost:.2f} s, Mermaid included"
    return [row]
