"""Expose the catalog as invoke tasks: ``invoke release.deploy --version 1.2.3``.

Put these lines in a project's ``tasks.py``::

    from opsbooks.tasks import collection

    ns = collection()

One namespace per category, one task per runbook, flags from its ``Params`` model
plus the run options. Values are validated by pydantic in ``opsbooks.edges.session`` (the
same entry as ``opsbooks run``), so a bad value exits 2 with one line per field.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task

from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Config, load_config
from opsbooks.edges.discovery import Catalog, discover
from opsbooks.edges.paramflags import flag_specs, help_line
from opsbooks.errors import OpsbooksError
from opsbooks.run.options import RunOptions, declared

#: invoke task parameter -> its declared option (generated from ``run.options``)
RUN_OPTIONS = {spec.task_name: spec for spec in declared("new")}


def collection(config: Config | None = None, *, catalog: Catalog | None = None) -> Collection:
    """Build the invoke namespace from the configured catalog.

    Runs when invoke loads ``tasks.py``: a bad configuration or catalog is said in one
    paragraph and exits 2 there, instead of a traceback from invoke's loader.
    """
    try:
        config = config or load_config(Path.cwd())
        catalog = catalog if catalog is not None else _load_catalog(config)
    except OpsbooksError as exc:
        print(f"opsbooks: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    root = Collection()
    namespaces: dict[str, Collection] = {}
    for runbook in catalog:
        category, _, short = runbook.name.partition(".")
        if category not in namespaces:
            namespaces[category] = Collection(category)
            root.add_collection(namespaces[category])
        namespaces[category].add_task(runbook_task(runbook, config), name=short or category)
    return root


def runbook_task(runbook: type[Runbook], config: Config) -> Task[Callable[..., None]]:
    configured = config.param_defaults(runbook.name, set(runbook.Params.model_fields))
    specs = flag_specs(runbook.Params, configured)
    clashes = {s.name for s in specs} & set(RUN_OPTIONS)
    if clashes:
        raise OpsbooksError(
            f"{runbook.name}: parameter(s) {', '.join(sorted(clashes))} clash with run options"
        )
    help_text = {s.name: help_line(s) for s in specs}
    help_text.update({name: spec.help for name, spec in RUN_OPTIONS.items()})
    parameters = [inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for spec in specs:
        default: Any = None
        if spec.kind == "bool":
            default = bool(spec.default)
        parameters.append(
            inspect.Parameter(spec.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
    for name, option in RUN_OPTIONS.items():
        default = [] if option.kind == "list" else option.default
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
    param_names = [s.name for s in specs]

    def body(c: Context, **kwargs: Any) -> None:
        _run(runbook, config, param_names, kwargs)

    body.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    body.__name__ = runbook.name.partition(".")[2] or runbook.name
    body.__doc__ = f"{runbook.title}: {runbook.purpose().splitlines()[0]}"
    iterable = [s.name for s in specs if s.kind == "list"]
    iterable += [name for name, spec in RUN_OPTIONS.items() if spec.kind == "list"]
    return Task(body, help=help_text, iterable=iterable, auto_shortflags=False, positional=[])


def _load_catalog(config: Config) -> Catalog:
    """``session.load_catalog`` without importing the session (the runner, SSH, audit).

    ``invoke --list`` loads ``tasks.py`` and builds every task, and runs none: the
    session is imported in ``_run``, when a task really runs (bench row 3).
    """
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    return discover(config.packages, config.exclude)


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
