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
configuration, when it is called. A task's parser arguments are made only when
invoke reads them (``_LazyContext``): a listing builds none.
"""

from __future__ import annotations

import copy
import inspect
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from invoke._version import __version_info__ as _INVOKE_VERSION
from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.parser.context import ParserContext
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
            namespaces[category] = _Namespace(category)
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
    _install_lazy_contexts()
    return _Task(body, help=help_text, iterable=iterable, auto_shortflags=False, positional=[])


class _Task(Task[Callable[..., None]]):
    """A task invoke copies cheaply (bench row 3).

    invoke deep-copies every task once when it loads the collection, and the parser
    arguments of each task it builds (``_LazyContext``: those named on the command
    line) twice per command line; with the run options a task has about 15 of them.
    What is copied here is what invoke changes on a copy (containers, an argument's
    value); the rest is strings, bools and the body.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _Task:
        return _copy(self, memo)

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        # invoke's pops each help line it uses: a second call (a lazy context copied
        # before it was built, completion's second parser) would lose them
        shared, self.help = self.help, dict(self.help)
        try:
            arguments = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = shared
        for argument in arguments:
            argument.__class__ = _Argument
        return arguments


class _Namespace(Collection):
    """A category's namespace, which invoke's loader copies cheaply (bench row 3).

    ``Collection.from_module`` deep-copies each namespace of ``ns``: the generic copy
    rebuilt each task table entry by entry through ``Lexicon.__setitem__``.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _Namespace:
        clone = _Namespace.__new__(_Namespace)
        memo[id(self)] = clone
        state = dict(vars(self))
        state["tasks"] = _lexicon(self.tasks, memo)
        state["collections"] = _lexicon(self.collections, memo)
        state["_configuration"] = copy.deepcopy(self._configuration, memo)
        clone.__dict__.update(state)
        return clone


def _lexicon(table: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of an invoke ``Lexicon`` (its values copied, its aliases kept)."""
    clone = type(table)()
    dict.update(clone, {key: copy.deepcopy(value, memo) for key, value in table.items()})
    clone.aliases.update(table.aliases)
    return clone


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


class _LazyContext(ParserContext):
    """A task's parser context whose arguments are made when invoke first reads them.

    invoke makes, formats (for its debug log) and deep-copies a context for every task
    on every command line, ``--list`` included, and reads the arguments of only the
    tasks named on it, the one ``--help`` shows and the one completion looks at: with
    the run options, about 15 arguments per task were most of ``invoke --list`` (bench
    row 3). Any attribute but the name and aliases builds it, as invoke would have.
    """

    def __init__(
        self,
        name: str | None,
        aliases: Iterable[str],
        task: _Task,
        ignore_unknown_help: bool | None,
    ) -> None:
        # not ParserContext.__init__: adding the arguments is what is deferred
        self.name = name
        self.aliases = aliases
        self._pending = (task, ignore_unknown_help)

    def __getattr__(self, attr: str) -> Any:
        pending = self.__dict__.pop("_pending", None)
        if pending is None or attr.startswith("__"):
            if pending is not None:
                self._pending = pending
            raise AttributeError(attr)
        task, ignore_unknown_help = pending
        arguments = task.get_arguments(ignore_unknown_help=ignore_unknown_help)
        ParserContext.__init__(self, self.name, self.aliases, arguments)
        return getattr(self, attr)

    def __repr__(self) -> str:
        if "_pending" in self.__dict__ and not _INVOKE_LOG.isEnabledFor(logging.DEBUG):
            return f"<parser/Context {self.name!r} (arguments not built)>"
        return str(super().__repr__())

    def __deepcopy__(self, memo: dict[int, Any]) -> _LazyContext:
        pending = self.__dict__.get("_pending")
        if pending is not None:
            clone = _LazyContext(self.name, list(self.aliases), *pending)
        else:
            clone = _LazyContext.__new__(_LazyContext)
            memo[id(self)] = clone
            clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = clone
        return clone


_INVOKE_LOG = logging.getLogger("invoke")
#: the invoke releases whose ``Collection.to_contexts`` ``_to_contexts`` repeats
#: (``tests/tasks/test_lazy_contexts.py`` pins its source)
_LAZY_VERSIONS = {(2, 2)}
_EAGER_TO_CONTEXTS = Collection.to_contexts


def _to_contexts(self: Collection, ignore_unknown_help: bool | None = None) -> list[ParserContext]:
    """``Collection.to_contexts``, with a lazy context for each opsbooks task."""
    result: list[ParserContext] = []
    for primary, aliases in self.task_names.items():
        task = self[primary]
        if isinstance(task, _Task):
            result.append(_LazyContext(primary, aliases, task, ignore_unknown_help))
        else:
            arguments = task.get_arguments(ignore_unknown_help=ignore_unknown_help)
            result.append(ParserContext(name=primary, aliases=aliases, args=arguments))
    return result


def _install_lazy_contexts() -> None:
    """Make invoke build opsbooks tasks' parser contexts on demand (its other tasks'
    as before); an invoke release not checked against keeps the eager build."""
    if tuple(_INVOKE_VERSION[:2]) in _LAZY_VERSIONS:
        Collection.to_contexts = _to_contexts  # type: ignore[method-assign]


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
