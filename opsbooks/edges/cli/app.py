"""Subcommands of the ``opsbooks`` program, one module each.

A command module exposes ``register(subparsers) -> None``; it adds its parsers and
binds each with ``set_defaults(handler=...)``. A handler takes the parsed arguments
and an ``App`` and returns the exit code. ``App`` carries what the composition root
(``opsbooks.edges.cli.main``) read from the outside world, so handlers never read it themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

from opsbooks.edges.config_source import ConfigSource

if TYPE_CHECKING:
    from opsbooks.edges.config import Config
    from opsbooks.edges.discovery import Catalog

#: What ``register`` receives: the program's subparsers.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


@dataclass
class App:
    """What a command may use: configuration, the catalog (found on first use), streams.

    The configuration is validated (with pydantic) on first use of ``config``, which
    every command but a listing from a current catalog index makes before it does
    anything (``cli.main``), so a bad table is still refused first.
    """

    source: ConfigSource
    out: TextIO
    err: TextIO
    cwd: Path
    environ: Mapping[str, str] = field(default_factory=dict)
    _config: Config | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, init=False, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            from opsbooks.edges.config import validate

            self._config = validate(self.source)
        return self._config

    def catalog(self, *wanted: str) -> Catalog:
        """Return the configured packages' runbooks: from the catalog index, or imported.

        The first call warns about modules that failed to import, except those of the
        runbooks in ``wanted`` (the names the command was given): asking for one of
        those is refused by ``Catalog.get`` with the same error, and the operator should
        read it once, as the error, not twice.
        """
        if self._catalog is None:
            from opsbooks.edges.catalog_index import load_catalog

            self._catalog = load_catalog(self.source, lambda: self.config, self._warn)
            warning = self._catalog.warning(skip=wanted)
            if warning:
                print(f"opsbooks: {warning}", file=self.err)
        return self._catalog

    def _warn(self, line: str) -> None:
        print(line, file=self.err)

    def say(self, text: str = "") -> None:
        print(text, file=self.out)


Handler = Callable[[argparse.Namespace, App], int]
