"""Find runbooks by importing the configured packages; names are ``category.name``.

What is imported: every module and subpackage under each package, recursively,
except names starting with ``_``, dotted names matching an ``exclude`` glob of the
configuration (never imported), and what is under a package whose ``__init__`` sets
``__runbooks__ = False`` (helpers its runbooks call, not runbooks). With no
``packages`` configured, the packages installed catalogs declare in the entry-point
group ``opsbooks.catalogs`` are used.

A module under a package that fails to import (a syntax error, a pydantic schema
error, an unknown step keyword) does not break the catalog: it is recorded in
``Catalog.broken`` with its error in one paragraph, the other runbooks still list,
show and run, and asking for the broken one is bad input naming the error.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import linecache
import pkgutil
import re
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING

from opsbooks.errors import BadInput, DefinitionError, OpsbooksError, UnknownRunbook

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook
    from opsbooks.edges.summaries import Summary

#: The entry-point group an installed distribution declares its runbook packages in.
CATALOG_GROUP = "opsbooks.catalogs"

#: How much of an import error that is not opsbooks' own (a pydantic schema dump, a
#: third-party exception) a one-paragraph report keeps.
FOREIGN_ERROR_CHARS = 300


class Catalog:
    """The runbooks of one or more packages, sorted by name.

    ``lazy`` holds runbooks known from the catalog index by their summary only: the
    module of one is imported when its class is first asked for (``get``, iterating),
    so listing, completion and ``invoke --list`` import no runbook module.
    """

    def __init__(
        self,
        runbooks: Iterable[type[Runbook]],
        broken: Mapping[str, str] | None = None,
        broken_names: Mapping[str, str] | None = None,
        *,
        lazy: Iterable[Summary] = (),
    ) -> None:
        self._lazy: dict[str, Summary] = {summary.name: summary for summary in lazy}
        #: module name -> its import error, in one paragraph
        self.broken: dict[str, str] = dict(broken or {})
        #: runbook name -> the broken module that defines it, where the error named it (a
        #: DefinitionError does), so ``get`` refuses it even when the name is not the module's
        self.broken_names: dict[str, str] = dict(broken_names or {})
        self._by_name: dict[str, type[Runbook]] = {}
        for runbook in runbooks:
            other = self._by_name.get(runbook.name)
            if other is not None and other is not runbook:
                raise BadInput(
                    f"two runbooks are named {runbook.name}: {_where(other)} and "
                    f"{_where(runbook)}; set `name` on one of them"
                )
            self._by_name[runbook.name] = runbook

    def __iter__(self) -> Iterator[type[Runbook]]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.names())

    def all(self) -> list[type[Runbook]]:
        return [self.get(name) for name in self.names()]

    def names(self) -> list[str]:
        return sorted({*self._by_name, *self._lazy})

    def classes(self) -> Mapping[str, type[Runbook]]:
        """The runbooks by name, each imported when it is looked up (``show``'s links)."""
        return _Classes(self)

    def summaries(self) -> list[Summary]:
        """Every runbook's summary, sorted by name, importing no module the index knows."""
        from opsbooks.edges.summaries import summarize

        return [
            self._lazy[name] if name in self._lazy else summarize(self._by_name[name])
            for name in self.names()
        ]

    def summary(self, name: str) -> Summary:
        """One runbook's summary; unknown names are refused as by ``get``."""
        if name in self._lazy:
            return self._lazy[name]
        from opsbooks.edges.summaries import summarize

        return summarize(self.get(name))

    def get(self, name: str) -> type[Runbook]:
        if name not in self._by_name and name in self._lazy:
            self._by_name[name] = _load(self._lazy[name])
        try:
            return self._by_name[name]
        except KeyError:
            import difflib

            self._refuse_broken(name)
            close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
            close += [n for n in self.names() if name and name in n and n not in close]
            raise UnknownRunbook(name, close[:3]) from None

    def warning(self, skip: Iterable[str] = ()) -> str:
        """One paragraph naming every module that failed to import ('' if none).

        ``skip`` holds runbook names the command asked for: their broken modules are
        left out, since ``get`` refuses each with the same error, and one paragraph
        saying it once is what the operator should read.
        """
        asked = {self.broken_module(name) for name in skip}
        others = {m: e for m, e in self.broken.items() if m not in asked}
        if not others:
            return ""
        problems = "; ".join(f"{module}: {error}" for module, error in sorted(others.items()))
        return (
            f"warning: {len(others)} catalog module(s) failed to import and their "
            f"runbooks are missing ({problems}). Fix the module(s); the other runbooks work."
        )

    def broken_module(self, name: str) -> str | None:
        """The module that failed to import and would define runbook ``name``, if any."""
        if name in self.broken_names:
            return self.broken_names[name]
        suffix = "." + name
        for module in sorted(self.broken):
            if module.endswith(suffix) or module == name:
                return module
        return None

    def _refuse_broken(self, name: str) -> None:
        """A name that would live in a module that failed to import: say why it is missing."""
        module = self.broken_module(name)
        if module is not None:
            raise BadInput(
                f"runbook {name!r} cannot be loaded: its module {module} failed to "
                f"import ({self.broken[module]}). Fix the module, then run it again."
            )


def discover(packages: Iterable[str], exclude: Iterable[str] = ()) -> Catalog:
    """Import the modules under ``packages`` and collect the concrete runbooks in them.

    ``exclude`` holds globs over dotted module names (``mycatalog.lib``,
    ``*.tests``); a matching module or package, and all under it, is not imported.
    """
    patterns = tuple(exclude)
    found: list[type[Runbook]] = []
    broken: dict[str, str] = {}
    names: dict[str, str] = {}
    for package in packages:
        for module in _modules(package, patterns, broken, names):
            found.extend(_runbooks_in(module))
    return Catalog(found, broken, names)


@functools.cache
def _declared_catalogs() -> tuple[str, ...]:
    from importlib.metadata import entry_points  # costs more than a warm listing: on use

    declared = {ep.value.partition(":")[0].strip() for ep in entry_points(group=CATALOG_GROUP)}
    return tuple(sorted(declared))


def installed_catalogs() -> list[str]:
    """The runbook packages installed distributions declare (group ``opsbooks.catalogs``)."""
    return list(_declared_catalogs())


def _modules(
    package: str, exclude: tuple[str, ...], broken: dict[str, str], names: dict[str, str]
) -> list[ModuleType]:
    if _excluded(package, exclude):
        return []
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise BadInput(
            f"cannot import runbook package {package!r} ({exc}); check `packages` in "
            f"[tool.opsbooks] and that it is importable from the project root"
        ) from None
    except Exception as exc:
        raise BadInput(
            f"cannot import runbook package {package!r}: {import_error(exc, package)}"
        ) from None
    if not _holds_runbooks(root):
        return []
    if not hasattr(root, "__path__"):
        return [root]
    return [root, *_walk(root, exclude, broken, names)]


def _walk(
    package: ModuleType, exclude: tuple[str, ...], broken: dict[str, str], names: dict[str, str]
) -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or _excluded(info.name, exclude):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:
            broken[info.name] = import_error(exc, info.name)
            if isinstance(exc, DefinitionError):
                names[exc.runbook] = info.name
            continue
        if not _holds_runbooks(module):
            continue
        yield module
        if info.ispkg:
            yield from _walk(module, exclude, broken, names)


def import_error(exc: BaseException, module: str) -> str:
    """``exc`` in one line: its type, where in the module's own file, and its message.

    A ``DefinitionError`` naming a step points at that step's line, not at the ``class``
    line where Python raised it, and is never shortened: its last words say how to fix
    it. Only a foreign error (a pydantic schema dump can run to pages) is cut.
    """
    import traceback

    where = ""
    leaf = module.rsplit(".", 1)[-1]
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        stem = frame.filename.rsplit("/", 1)[-1]
        if stem in (f"{leaf}.py", "__init__.py") and frame.lineno is not None:
            line = frame.lineno
            if isinstance(exc, DefinitionError) and exc.step:
                line = step_line(frame.filename, line, exc.step)
            where = f" at {frame.filename}:{line}"
            break
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" at {exc.filename}:{exc.lineno}"
    message = " ".join(str(exc).split()) or "no message"
    nested = f"{type(exc).__name__}: "
    message = message.rsplit(nested, 1)[-1]  # pydantic nests one SchemaError per level
    if not isinstance(exc, OpsbooksError) and len(message) > FOREIGN_ERROR_CHARS:
        message = message[: FOREIGN_ERROR_CHARS - 3] + "..."
    return f"{type(exc).__name__}{where}: {message}"


def step_line(filename: str, class_line: int, step: str) -> int:
    """The line assigning ``step`` in the class body starting at ``class_line``, or it.

    A dotted id (``checks.disk``) is found segment by segment: the section's ``class
    checks`` (or the ``checks = ob.Include(...)``), then ``disk`` under it. A segment
    not found (an included runbook's own step) leaves the deepest line found so far.
    """
    lines = linecache.getlines(filename)
    found = class_line
    for segment in step.split("."):
        line = _assignment(lines, found, segment)
        if line is None:
            break
        found = line
    return found


def _assignment(lines: list[str], start: int, name: str) -> int | None:
    """The 1-based line under line ``start``'s block that defines ``name``, or None."""
    while 0 < start < len(lines) and lines[start - 1].lstrip().startswith("@"):
        start += 1  # a decorated class: its block starts at the `class` line
    if not 0 < start <= len(lines):
        return None
    head = lines[start - 1]
    indent = len(head) - len(head.lstrip())
    pattern = re.compile(
        rf"\s*(?:(?:async\s+)?def\s+|class\s+)?{re.escape(name)}\s*(?:[:(]|=(?!=))"
    )
    for number in range(start + 1, len(lines) + 1):
        text = lines[number - 1]
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            return None  # the block ended
        if pattern.match(text):
            return number
    return None


def _excluded(name: str, exclude: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def _holds_runbooks(module: ModuleType) -> bool:
    """False for a package that says ``__runbooks__ = False`` in its ``__init__``."""
    return getattr(module, "__runbooks__", True) is not False


def _runbooks_in(module: ModuleType) -> list[type[Runbook]]:
    from opsbooks.define.runbook import Runbook

    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Runbook)
        and not value.abstract
        and value.__module__ == module.__name__
    ]


class _Classes(Mapping[str, "type[Runbook]"]):
    """A catalog as a mapping of name to class that imports only the names looked up."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def __getitem__(self, name: str) -> type[Runbook]:
        if name not in self._catalog.names():
            raise KeyError(name)
        return self._catalog.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._catalog.names())

    def __len__(self) -> int:
        return len(self._catalog)


def _load(summary: Summary) -> type[Runbook]:
    """Import the module an index entry names and return its runbook of that name."""
    try:
        module = importlib.import_module(summary.module)
    except Exception as exc:
        raise BadInput(
            f"runbook {summary.name!r} cannot be loaded: its module {summary.module} failed "
            f"to import ({import_error(exc, summary.module)}). Fix the module, then run it again."
        ) from None
    for runbook in _runbooks_in(module):
        if runbook.name == summary.name:
            return runbook
    raise BadInput(  # the index matched the file's content, so this is a module's own doing
        f"runbook {summary.name!r} is no longer defined by {summary.module}; run the "
        f"command again (the catalog index is rebuilt when a module changes)."
    )


def _where(runbook: type[Runbook]) -> str:
    return f"{runbook.__module__}.{runbook.__qualname__}"
