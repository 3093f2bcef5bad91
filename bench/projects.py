"""Throwaway projects for the bench: an opsbooks catalog, a plain invoke ``tasks.py``.

Generated runbooks are ordinary catalog modules (``gen/<category>/<name>.py``), found by
discovery like any user's, so start-up and rendering rows pay what a real project pays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HEADER = '''"""Generated for the bench: {doc}"""

from __future__ import annotations

import datetime as dt

import opsbooks as ob


class {cls}(ob.Runbook):
    """{doc}"""

    owner = "bench"
    scope = "A throwaway project made by python -m bench."
    last_reviewed = dt.date(2026, 11, 1)
'''


def _step_lines(kind: str, steps: int, command: str) -> list[str]:
    lines: list[str] = []
    for index in range(steps):
        name = f"s{index:04d}"
        if kind == "python":
            lines += ["", "    @ob.step()", f"    def {name}(self, ctx: object) -> None:"]
            lines += [f'        """Do nothing (step {index})."""']
        elif kind == "mixed" and index % 2:
            lines.append(f'    {name} = ob.Command("echo {index}", description="Echo {index}.")')
        else:
            lines.append(f"    {name} = ob.Command({command!r})")
    return lines


def write_runbook(
    root: Path,
    category: str,
    name: str,
    *,
    steps: int,
    kind: str = "command",
    command: str = "true",
    extra: Sequence[str] = (),
) -> str:
    """Write ``gen/<category>/<name>.py`` with ``steps`` steps; return its runbook name."""
    folder = root / "gen" / category
    folder.mkdir(parents=True, exist_ok=True)
    for package in (root / "gen", folder):
        (package / "__init__.py").touch()
    cls = "".join(part.title() for part in name.split("_")) or "Bench"
    body = HEADER.format(cls=cls, doc=f"{steps} {kind} steps.")
    lines = [body.rstrip("\n"), *_step_lines(kind, steps, command), *extra]
    (folder / f"{name}.py").write_text("\n".join(lines) + "\n")
    return f"{category}.{name}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(
    root: Path,
    packages: Sequence[str] = ("gen",),
    *,
    hosts: Mapping[str, Mapping[str, Any]] | None = None,
    ssh: Mapping[str, Any] | None = None,
) -> None:
    """``opsbooks.toml`` for the project, with an inventory when SSH rows need one."""
    lines = [f"packages = {_toml_value(list(packages))}", 'docs_dir = "docs/runbooks"']
    if ssh:
        lines += ["", "[ssh]", *(f"{k} = {_toml_value(v)}" for k, v in ssh.items())]
    for host, entry in (hosts or {}).items():
        lines += ["", f'[hosts."{host}"]']
        for key, value in entry.items():
            if isinstance(value, Mapping):
                continue  # vars: none in the bench
            lines.append(f"{key} = {_toml_value(value)}")
    (root / "opsbooks.toml").write_text("\n".join(lines) + "\n")
    (root / "tasks.py").write_text(
        '"""invoke tasks for the bench catalog."""\n\n'
        "from opsbooks.tasks import collection\n\nns = collection()\n"
    )


def write_plain_invoke(root: Path, *, tasks: int, runs: int = 0) -> None:
    """A plain invoke ``tasks.py``: ``tasks`` tasks, the first running ``true`` ``runs`` times."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ['"""Plain invoke tasks: the baseline."""', "", "from invoke import task", ""]
    for index in range(tasks):
        lines += ["", "@task", f"def task_{index:03d}(c):", f'    """Task number {index}."""']
        lines += ['    c.run("true")' for _ in range(runs if index == 0 else 1)]
    (root / "tasks.py").write_text("\n".join(lines) + "\n")
