"""Set up a project for opsbooks (``opsbooks init``): configuration, catalog, drill, CI.

Every file is planned first, then written only when it is missing (or differs and
``force`` is given); a file that already has the wanted bytes is left alone, so a
second run changes nothing. A user's ``pyproject.toml`` is only ever appended to (a
``[tool.opsbooks]`` table, when tomllib finds none), and a user's ``tasks.py`` only
when it defines ``ns = Collection(...)``; anything else is said as advice instead.
"""

from __future__ import annotations

import ast
import keyword
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from opsbooks.edges import scaffold_files as files
from opsbooks.errors import BadInput

CI_PATH = ".github/workflows/runbooks.yml"

NO_GIT = (
    "opsbooks init works in a git repository, and {cwd} is not in one ({why}). Run "
    "`git init` first, or set the project up by hand: an opsbooks.toml with "
    '`packages = ["runbooks"]`, a package runbooks/<category>/ with one module per '
    "runbook, a tasks.py with `from opsbooks.tasks import collection` and "
    "`ns = collection()`, and a drill in tests/ using the `drill` fixture (see "
    "docs/guides/your-project.md)."
)


@dataclass
class Outcome:
    """What ``init`` did: one line per file, advice to print, and the next steps."""

    lines: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    changed: int = 0

    def note(self, verb: str, path: Path, why: str = "") -> None:
        self.lines.append(f"{verb:<9} {path}{f' ({why})' if why else ''}")
        if verb in ("wrote", "extended", "appended", "replaced"):
            self.changed += 1


def git_root(cwd: Path) -> Path:
    """The repository's top level (``git rev-parse --show-toplevel``), or ``BadInput``."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise BadInput(NO_GIT.format(cwd=cwd, why="git is not installed")) from None
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "git refused"
        raise BadInput(NO_GIT.format(cwd=cwd, why=why))
    return Path(done.stdout.strip())


def check_package(name: str) -> str:
    """Refuse a package name Python cannot import."""
    if not name.isidentifier() or keyword.iskeyword(name) or not name.isascii():
        raise BadInput(
            f"--package {name!r} is not a Python package name: use letters, digits and "
            f"underscores, not starting with a digit (e.g. runbooks, team_runbooks)."
        )
    return name


def put(root: Path, relative: str, text: str, force: bool, outcome: Outcome) -> None:
    """Write ``text`` unless the file has it already; replace a different one only with force."""
    path = root / relative
    if path.exists():
        if path.read_bytes() == text.encode():
            outcome.note("unchanged", path)
            return
        if not force:
            outcome.note("skipped", path, "exists and differs; --force replaces it")
            return
        path.write_text(text, encoding="utf-8")
        outcome.note("replaced", path, "--force")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    outcome.note("wrote", path)


def write_config(root: Path, package: str, own_file: bool, force: bool, outcome: Outcome) -> None:
    """An ``opsbooks.toml``, or a ``[tool.opsbooks]`` table appended to pyproject.toml."""
    pyproject = root / "pyproject.toml"
    if own_file or not pyproject.exists() or (root / "opsbooks.toml").exists():
        put(root, "opsbooks.toml", files.config_text(package, ""), force, outcome)
        return
    raw = pyproject.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(
            f"{pyproject} is not valid TOML ({exc}), so opsbooks init will not append to it. "
            f"Fix the file, or run `opsbooks init --opsbooks-toml` to use an opsbooks.toml."
        ) from None
    table = data.get("tool", {}).get("opsbooks")
    if table is not None:
        outcome.note("kept", pyproject, "[tool.opsbooks] exists; left as it is")
        if package not in (table.get("packages") or []):
            outcome.advice.append(
                f'Add "{package}" to `packages` in [tool.opsbooks] of {pyproject}, or the '
                f"example runbook is not in the catalog."
            )
        return
    separator = "" if raw.endswith("\n\n") or not raw else ("\n" if raw.endswith("\n") else "\n\n")
    with pyproject.open("a", encoding="utf-8") as handle:
        handle.write(separator + files.config_text(package, "tool.opsbooks."))
    outcome.note("appended", pyproject, "[tool.opsbooks]")


def extendable(source: str) -> bool:
    """Whether ``tasks.py`` binds ``ns`` once at module level to ``Collection(...)``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    bindings = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id == "ns" and isinstance(node.ctx, ast.Store)
    ]
    top = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["ns"]
        and isinstance(node.value, ast.Call)
        and _called(node.value) == "Collection"
    ]
    return len(bindings) == 1 and len(top) == 1


def _called(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def write_tasks(root: Path, package: str, outcome: Outcome) -> None:
    """A new tasks.py, or the catalog added to an existing ``ns = Collection(...)``."""
    path = root / "tasks.py"
    if not path.exists():
        put(root, "tasks.py", files.TASKS, False, outcome)
        return
    source = path.read_text(encoding="utf-8")
    if "opsbooks.tasks" in source:
        outcome.note("unchanged", path, "already exposes opsbooks")
        return
    extension = files.TASKS_EXTENSION.replace("__PACKAGE__", package)
    if extendable(source):
        with path.open("a", encoding="utf-8") as handle:
            handle.write(("" if source.endswith("\n") else "\n") + extension)
        outcome.note(
            "extended",
            path,
            f"the catalog as `invoke {package.replace('_', '-')}.<category>.<name>`",
        )
        return
    outcome.note("skipped", path, "no single `ns = Collection(...)`; not safe to change")
    outcome.advice.append(
        f"{path} was left untouched. To expose the runbooks to invoke, add at its end "
        f"(with `ns` your root Collection):\n{extension}"
    )


def write_ci(root: Path, force: bool, outcome: Outcome) -> None:
    """The workflow under .github, or the snippet as advice when the repository has none."""
    if (root / ".github").is_dir():
        put(root, CI_PATH, files.CI_WORKFLOW, force, outcome)
        return
    outcome.advice.append(
        f"This repository has no .github directory; for GitHub Actions save this as "
        f"{CI_PATH} (other CI: run the same commands):\n\n{files.CI_WORKFLOW}"
    )


def scaffold(root: Path, package: str, *, force: bool, own_file: bool) -> Outcome:
    """Write everything but the generated pages (the caller renders them)."""
    outcome = Outcome()
    write_config(root, package, own_file, force, outcome)
    sources = {
        f"{package}/__init__.py": files.PACKAGE_INIT,
        f"{package}/ops/__init__.py": files.CATEGORY_INIT,
        f"{package}/ops/clean_logs.py": files.EXAMPLE_RUNBOOK,
        "tests/test_runbooks.py": files.EXAMPLE_TEST,
    }
    for relative, text in sources.items():
        put(root, relative, text.replace("__PACKAGE__", package), force, outcome)
    write_tasks(root, package, outcome)
    write_ci(root, force, outcome)
    return outcome
