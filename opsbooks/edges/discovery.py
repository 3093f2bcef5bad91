"""Find runbooks by importing the configured packages; names are ``category.name``."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from types import ModuleType

from opsbooks.define.runbook import Runbook
from opsbooks.errors import BadInput, UnknownRunbook


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


def discover(packages: Iterable[str]) -> Catalog:
    """Import every module under ``packages`` and collect the concrete runbooks in them."""
    found: list[type[Runbook]] = []
    for package in packages:
        for module in _modules(package):
            found.extend(_runbooks_in(module))
    return Catalog(found)


def _modules(package: str) -> list[ModuleType]:
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise BadInput(
            f"cannot import runbook package {package!r} ({exc}); check `packages` in "
            f"[tool.opsbooks] and that it is importable from the project root"
        ) from None
    modules = [root]
    if hasattr(root, "__path__"):
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if ".actions" in info.name or info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            modules.append(importlib.import_module(info.name))
    return modules


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
