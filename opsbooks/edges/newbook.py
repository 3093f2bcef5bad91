"""Add one runbook to a project (``opsbooks new``): its module, its drill, its page.

The name is checked, the target files are worked out, and the prose (``--from``) is
parsed before anything is written, so a bad name, an existing runbook or a file with no
procedure changes nothing. The module is never replaced without ``force``; the drill is
written like ``opsbooks init`` writes its files (``scaffold.put``).
"""

from __future__ import annotations

import importlib.util
import inspect
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.prose import Header, NoProcedure, Prose, parse_prose, render_module
from opsbooks.edges.prose.drill import drill_module
from opsbooks.edges.scaffold import Outcome, put
from opsbooks.errors import BadInput

_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
RESERVED = frozenset(n for n in dir(Runbook) if not n.startswith("_"))

#: What ``opsbooks new`` without ``--from`` starts from: the house template, as prose,
#: through the same mapping as any prose runbook.
TEMPLATE = """# {title}

## Overview
- **Purpose:** Say in a sentence what this runbook does and when to use it.
- **Scope:** Say which hosts, services and environments it covers.

## Prerequisites
- The access it needs (accounts, VPN, which hosts)
- The tools it needs, and who must approve the change

## Steps
1. Check that the service is healthy before you start, and note what you see
2. Carry out the change
3. Check that the service is healthy again

## Verification
- [ ] The service answers its health check
- [ ] Its dashboards show no new errors

## Troubleshooting
### Issue: The service is not healthy after the change
**Symptoms**: the health check fails, or errors rise on the dashboards
**Cause**: the change did not apply cleanly
**Solution**: undo the change as Recovery says, then escalate to the contacts

## Recovery
Undo the change step by step, newest first, and check the service again.
"""


@dataclass(frozen=True)
class Target:
    """Where the new runbook goes."""

    name: str
    category: str
    module: str
    package: str
    package_dir: Path
    root: Path

    @property
    def module_path(self) -> Path:
        return self.package_dir / self.category / f"{self.module}.py"

    @property
    def test_relative(self) -> str:
        return f"tests/test_{self.category}_{self.module}.py"

    @property
    def class_name(self) -> str:
        return "".join(word.capitalize() for word in self.module.split("_") if word) or "Runbook"


def check_name(name: str) -> tuple[str, str]:
    """``category.name`` as its two parts, or ``BadInput`` saying what a name looks like."""
    parts = name.split(".")
    if not _NAME.fullmatch(name) or any(keyword.iskeyword(p) for p in parts):
        raise BadInput(
            f"{name!r} is not a runbook name: write CATEGORY.NAME, two lower-case Python "
            f"identifiers joined by a dot (letters, digits, underscores; not a keyword), "
            f"e.g. `opsbooks new ops.restart_app`. The runbook goes to "
            f"<package>/CATEGORY/NAME.py."
        )
    return parts[0], parts[1]


def target(config: Config, name: str, package: str | None) -> Target:
    """The target of ``name`` in the configured catalog package (the first by default)."""
    category, module = check_name(name)
    if config.source == "(defaults)":
        raise BadInput(
            f"opsbooks new adds a runbook to a configured project, and no opsbooks.toml or "
            f"[tool.opsbooks] in pyproject.toml was found above {config.root}. Run "
            f"`opsbooks init` in the repository first, or pass --config PATH."
        )
    chosen = package or (config.packages[0] if config.packages else "")
    if chosen not in config.packages:
        listed = ", ".join(config.packages) or "none"
        raise BadInput(
            f"--package {chosen!r} is not a catalog package of {config.source} (packages: "
            f"{listed}), so its runbook would not be found. Add it to `packages` there, or "
            f"pick one of those."
        )
    return Target(name, category, module, chosen, _package_dir(config.root, chosen), config.root)


def _package_dir(root: Path, package: str) -> Path:
    """Where the package's files are: as Python imports it, else ``root/package``."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return root / package


def refuse_existing(where: Target, catalog: Catalog, force: bool) -> None:
    """``BadInput`` when the name or module exists (a module only ``force`` replaces)."""
    path = where.module_path.resolve()
    taken = path.exists() or path.with_suffix("").is_dir()
    if where.name in catalog.names():
        defined = _defined_in(catalog, where.name)
        if defined != path:
            raise BadInput(
                f"{where.name} is already a runbook of the catalog, defined in "
                f"{defined or 'another module'}; --force cannot replace a runbook another "
                f"module defines. Pick another name (`opsbooks list` shows the names)."
            )
        taken = True
    if taken and not force:
        raise BadInput(
            f"{where.name} exists already ({path}). Pick another name, or pass --force to "
            f"replace its module and its drill."
        )
    clash = where.package_dir / f"{where.category}.py"
    if clash.exists():
        raise BadInput(
            f"{clash} is a module, so {where.category} cannot be a category package of "
            f"{where.package}. Pick another category."
        )


def _defined_in(catalog: Catalog, name: str) -> Path | None:
    try:
        return Path(inspect.getfile(catalog.get(name))).resolve()
    except (TypeError, OSError, BadInput):
        return None


def read_prose(path: Path, cwd: Path) -> str:
    """The text of ``--from`` (relative to cwd), or ``BadInput`` saying why not."""
    full = path if path.is_absolute() else cwd / path
    try:
        return full.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(
            f"--from {path}: no such file ({full}). Give the path of a Markdown runbook."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(
            f"--from {path}: the file cannot be read as UTF-8 text ({why}). Give a Markdown "
            f"file (save it as UTF-8), or run `opsbooks new` without --from for the template."
        ) from None


def prose_of(text: str | None, where: Target, origin: str, known: frozenset[str]) -> Prose:
    """The model: of the prose, or of the house template when there is none."""
    source = (
        text if text is not None else TEMPLATE.format(title=where.module.replace("_", " ").title())
    )
    try:
        prose = parse_prose(source, reserved=RESERVED, fallback=where.class_name)
    except NoProcedure as exc:
        raise BadInput(
            f"--from {origin} has no procedure to make steps of ({exc}). opsbooks new needs "
            f"a numbered list, a checklist or a shell code block (```bash) of the steps; add "
            f"them, or run `opsbooks new {where.name}` without --from for the template."
        ) from None
    return prose.settle_related(known)


def write(where: Target, prose: Prose, header: Header, force: bool) -> Outcome:
    """The catalog and category packages if missing, the module, the drill."""
    if not where.package_dir.is_relative_to(where.root):
        raise BadInput(
            f"the package {where.package} is outside the project ({where.package_dir}), so "
            f"opsbooks new does not write into it; add the runbook there by hand."
        )
    outcome = Outcome()
    package = where.package_dir.relative_to(where.root).as_posix()
    category = f"{package}/{where.category}"
    if not (where.package_dir / "__init__.py").exists():
        put(where.root, f"{package}/__init__.py", '"""The team\'s runbooks."""\n', False, outcome)
    if not (where.package_dir / where.category / "__init__.py").exists():
        words = where.category.replace("_", " ").capitalize()
        put(where.root, f"{category}/__init__.py", f'"""{words} runbooks."""\n', False, outcome)
    module = render_module(prose, header)
    put(where.root, f"{category}/{where.module}.py", module, force, outcome)
    drill = drill_module(prose, where.name, where.package)
    put(where.root, where.test_relative, drill, force, outcome)
    return outcome
