"""Find runbooks by importing the configured packages; names are ``category.name``.

What is imported: every module and subpackage under each package, recursively,
except names starting with ``_``, dotted names matching an ``exclude`` glob of the
configuration (never imported), and what is under a package whose ``__init__`` sets
``__runbooks__ = False`` (helpers its runbooks call, not runbooks). With no
``packages`` configured, the packages installed catalogs declare in the entry-point
group ``opsbooks.catalogs`` are used.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from types import ModuleType

from opsbooks.define.runbook import Runbook
from opsbooks.errors import BadInput, UnknownRunbook

#: The entry-point group an installed distribution declares its runbook packages in.
CATALOG_GROUP = "opsbooks.catalogs"


class Catalog:
    """The runbooks of one or more packages, sorted by name."""

    def __init__(self, runbooks: Iterable[type[Runbook]]) -> None:
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
        return len(self._by_name)

    def all(self) -> list[type[Runbook]]:
        return [self._by_name[name] for name in sorted(self._by_name)]

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> type[Runbook]:
        try:
            return self._by_name[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
            close += [n for n in self.names() if name and name in n and n not in close]
            raise UnknownRunbook(name, close[:3]) from None


def discover(packages: Iterable[str], exclude: Iterable[str] = ()) -> Catalog:
    """Import the modules under ``packages`` and collect the concrete runbooks in them.

    ``exclude`` holds globs over dotted module names (``mycatalog.lib``,
    ``*.tests``); a matching module or package, and all under it, is not imported.
    """
    patterns = tuple(exclude)
    found: list[type[Runbook]] = []
    for package in packages:
        for module in _modules(package, patterns):
            found.extend(_runbooks_in(module))
    return Catalog(found)


@functools.cache
def _declared_catalogs() -> tuple[str, ...]:
    declared = {ep.value.partition(":")[0].strip() for ep in entry_points(group=CATALOG_GROUP)}
    return tuple(sorted(declared))


def installed_catalogs() -> list[str]:
    """The runbook packages installed distributions declare (group ``opsbooks.catalogs``)."""
    return list(_declared_catalogs())


def _modules(package: str, exclude: tuple[str, ...]) -> list[ModuleType]:
    if _excluded(package, exclude):
        return []
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise BadInput(
            f"cannot import runbook package {package!r} ({exc}); check `packages` in "
            f"[tool.opsbooks] and that it is importable from the project root"
        ) from None
    if not _holds_runbooks(root):
        return []
    return [root, *_walk(root, exclude)] if hasattr(root, "__path__") else [root]


def _walk(package: ModuleType, exclude: tuple[str, ...]) -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or _excluded(info.name, exclude):
            continue
        module = importlib.import_module(info.name)
        if not _holds_runbooks(module):
            continue
        yield module
        if info.ispkg:
            yield from _walk(module, exclude)


def _excluded(name: str, exclude: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude)


def _holds_runbooks(module: ModuleType) -> bool:
    """False for a package that says ``__runbooks__ = False`` in its ``__init__``."""
    return getattr(module, "__runbooks__", True) is not False


def _runbooks_in(module: ModuleType) -> list[type[Runbook]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Runbook)
        and not value.abstract
        and value.__module__ == module.__name__
    ]


def _where(runbook: type[Runbook]) -> str:
    return f"{runbook.__module__}.{runbook.__qualname__}"
