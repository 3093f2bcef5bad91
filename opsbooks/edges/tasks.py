"""Expose the catalog as invoke tasks: ``invoke release.deploy --version 1.2.3``.

Put these lines in a project's ``tasks.py``::

    from opsbooks.tasks import collection

    ns = collection()

One namespace per category, one task per runbook, flags from its ``Params`` model
plus the run options. Values are validated by pydantic in ``opsbooks.edges.session`` (the
same entry as ``opsbooks run``), so a bad value exits 2 with one line per field.

The tasks are built from the catalog index (``opsbooks.edges.catalog_index``) when it
is current: ``invoke --list`` and a task's ``--help`` then import no runbook module
and no pydantic; a task imports its runbook's module, and validates the
configuration, when it is called.
"""

from __future__ import annotations

import copy
import inspect
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.tasks import Task

from opsbooks.edges.catalog_index import load_catalog
from opsbooks.edges.config_source import ConfigSource, config_source
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.paramflags import FlagSpec, help_line
from opsbooks.edges.summaries import Summary
from opsbooks.errors import OpsbooksError
from opsbooks.run.options import RunOptions, declared

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook
    from opsbooks.edges.config import Config

_T = TypeVar("_T")

#: invoke task parameter -> its declared option (generated from ``run.options``)
RUN_OPTIONS = {spec.task_name: spec for spec in declared("new")}

# What every task shares, built once rather than once per task (``invoke --list``
# builds every task: bench row 3).
_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
_CONTEXT = inspect.Parameter("c", _POSITIONAL)
_RUN_PARAMETERS = [
    inspect.Parameter(name, _POSITIONAL, default=[] if spec.kind == "list" else spec.default)
    for name, spec in RUN_OPTIONS.items()
]
_RUN_HELP = {name: spec.help for name, spec in RUN_OPTIONS.items()}
_RUN_ITERABLE = [name for name, spec in RUN_OPTIONS.items() if spec.kind == "list"]


def collection(config: Config | None = None, *, catalog: Catalog | None = None) -> Collection:
    """Build the invoke namespace from the configured catalog.

    Runs when invoke loads ``tasks.py``: a bad configuration or catalog is said in one
    paragraph and exits 2 there, instead of a traceback from invoke's loader.
    """
    try:
        settings = _Settings(config)
        catalog = catalog if catalog is not None else _load_catalog(settings)
        summaries = catalog.summaries()
    except OpsbooksError as exc:
        print(f"opsbooks: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    root = Collection()
    namespaces: dict[str, Collection] = {}
    for summary in summaries:
        category, _, short = summary.name.partition(".")
        if category not in namespaces:
            namespaces[category] = Collection(category)
            root.add_collection(namespaces[category])
        task = summary_task(summary, catalog, settings)
        namespaces[category].add_task(task, name=short or category)
    return root


class _Settings:
    """The configuration: given, or read from cwd and validated only when a task runs."""

    def __init__(self, config: Config | None) -> None:
        self._config = config
        self.source = (
            ConfigSource(root=config.root, table={"params": config.params})
            if config is not None
            else config_source(Path.cwd())
        )

    def config(self) -> Config:
        if self._config is None:
            from opsbooks.edges.config import validate

            self._config = validate(self.source)
        return self._config

    def param_defaults(self, runbook: str, fields: set[str]) -> dict[str, Any]:
        if self._config is not None:
            return self._config.param_defaults(runbook, fields)
        return self.source.param_defaults(runbook, fields)


def runbook_task(runbook: type[Runbook], config: Config) -> Task[Callable[..., None]]:
    """The task of one runbook class (the whole catalog: ``collection``)."""
    from opsbooks.edges.summaries import summarize

    return summary_task(summarize(runbook), Catalog([runbook]), _Settings(config))


def summary_task(
    summary: Summary, catalog: Catalog, settings: _Settings
) -> Task[Callable[..., None]]:
    """The task of one runbook, from its summary; its class is loaded when it is called."""
    specs = _configured(summary, settings.param_defaults(summary.name, summary.field_names))
    clashes = {s.name for s in specs} & set(RUN_OPTIONS)
    if clashes:
        raise OpsbooksError(
            f"{summary.name}: parameter(s) {', '.join(sorted(clashes))} clash with run options"
        )
    help_text = {s.name: help_line(s) for s in specs}
    help_text.update(_RUN_HELP)
    parameters = [_CONTEXT]
    for spec in specs:
        default = bool(spec.default) if spec.kind == "bool" else None
        parameters.append(inspect.Parameter(spec.name, _POSITIONAL, default=default))
    parameters += _RUN_PARAMETERS
    param_names = [s.name for s in specs]

    def body(c: Context, **kwargs: Any) -> None:
        try:
            runbook, config = catalog.get(summary.name), settings.config()
        except OpsbooksError as exc:
            raise Exit(f"opsbooks: {exc}", code=exc.exit_code) from None
        _run(runbook, config, param_names, kwargs)

    # the names are unique (clashes refused above): skip the signature's own checks
    signature = inspect.Signature(parameters, __validate_parameters__=False)
    body.__signature__ = signature  # type: ignore[attr-defined]
    body.__name__ = summary.name.partition(".")[2] or summary.name
    body.__doc__ = summary.doc
    iterable = [s.name for s in specs if s.kind == "list"]
    iterable += _RUN_ITERABLE
    return _Task(body, help=help_text, iterable=iterable, auto_shortflags=False, positional=[])


class _Task(Task[Callable[..., None]]):
    """A task invoke copies cheaply (bench row 3).

    invoke deep-copies every task once when it loads the collection and each task's
    parser arguments twice per command line, ``--list`` included: with the run
    options every task has about 25 arguments, and the generic ``deepcopy`` of them
    was a third of ``invoke --list``. What is copied here is what invoke changes on a
    copy (containers, an argument's value); the rest is strings, bools and the body.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _Task:
        return _copy(self, memo)

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        arguments = super().get_arguments(ignore_unknown_help)
        for argument in arguments:
            argument.__class__ = _Argument
        return arguments


class _Argument(Argument):
    """An invoke argument whose deep copy is a copy of its attributes and containers."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Argument:
        return _copy(self, memo)


def _copy(value: _T, memo: dict[int, Any]) -> _T:
    """A copy of ``value`` with its own containers, registered in ``memo``: a parser
    context holds one argument under several keys (name, flag, ``--no-`` flag), and
    the copies must stay one object, as ``deepcopy`` keeps them."""
    clone = value.__class__.__new__(value.__class__)
    clone.__dict__.update(
        {
            key: copy.copy(item) if type(item) in _CONTAINERS else item
            for key, item in vars(value).items()
        }
    )
    memo[id(value)] = clone
    return clone


_CONTAINERS = (list, dict, set)


def _configured(summary: Summary, configured: dict[str, Any]) -> list[FlagSpec]:
    """The summary's flags with the configured defaults (as ``flag_specs`` applies them)."""
    return [
        replace(s, required=False, default=configured[s.name], from_config=True)
        if s.name in configured and not s.secret
        else s
        for s in summary.flags
    ]


def _load_catalog(settings: _Settings) -> Catalog:
    """The catalog, from the index when current, without importing the session.

    ``invoke --list`` loads ``tasks.py`` and builds every task, and runs none: the
    session is imported in ``_run``, when a task really runs (bench row 3).
    """
    root = str(settings.source.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    return load_catalog(settings.source, settings.config, _warn)


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


def _run(runbook: type[Runbook], config: Config, names: list[str], given: dict[str, Any]) -> None:
    from opsbooks.edges.session import Invocation, Surroundings, start_run

    values = {n: given.get(n) for n in names}
    values = {k: v for k, v in values.items() if v not in (None, [])}
    chosen = {spec.name: given.get(name) for name, spec in RUN_OPTIONS.items()}
    invocation = Invocation(
        runbook=runbook.name, params=values, options=RunOptions.from_values(chosen)
    )
    try:
        surroundings = Surroundings(stdin=sys.stdin, stdout=sys.stdout)
        report = start_run(invocation, config, surroundings, Catalog([runbook]))
    except OpsbooksError as exc:
        raise Exit(f"opsbooks: {exc}", code=exc.exit_code) from None
    if report is not None and report.exit_code:
        raise Exit(code=report.exit_code)
