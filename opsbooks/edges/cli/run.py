"""``opsbooks run`` and ``opsbooks resume``: the command-line face of ``opsbooks.edges.session``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from opsbooks.define.runbook import Runbook
from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.identity import LocalIdentity
from opsbooks.edges.paramflags import flag_specs, help_line
from opsbooks.edges.session import (
    Invocation,
    ResumeRequest,
    Surroundings,
    journal_url,
    resume_run,
    start_run,
)
from opsbooks.errors import EXIT_BAD_INPUT, BadInput
from opsbooks.records.journal import open_journal
from opsbooks.run.options import RunOptions, declared


def register(subparsers: Subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a runbook (`opsbooks run NAME --help` lists its parameters)",
        add_help=False,
    )
    run.add_argument(
        "-h",
        "--help",
        dest="show_help",
        action="store_true",
        help="with NAME: that runbook's parameters; without: this usage",
    )
    run.add_argument("name", nargs="?", help="runbook name, category.name")
    run.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    run.set_defaults(handler=run_command)

    resume = subparsers.add_parser("resume", help="continue a failed, stopped or crashed run")
    resume.add_argument("run_id", help="run id (or a unique prefix) from `opsbooks history`")
    add_run_options(resume, scope="resume")
    resume.set_defaults(handler=resume_command)


def add_run_options(parser: argparse.ArgumentParser, *, scope: Literal["new", "resume"]) -> None:
    """The run options as flags, generated from their one declaration (``run.options``)."""
    group = parser.add_argument_group("run options")
    for spec in declared(scope):
        if spec.kind == "bool":
            group.add_argument(spec.flag, dest=spec.name, action="store_true", help=spec.help)
        elif spec.kind == "list":
            group.add_argument(
                spec.flag,
                dest=spec.name,
                action="append",
                default=[],
                metavar=spec.metavar,
                help=spec.help,
            )
        else:
            group.add_argument(
                spec.flag,
                dest=spec.name,
                metavar=spec.metavar,
                help=spec.help,
                type=Path if spec.kind == "path" else str,
            )


def runbook_parser(
    runbook: type[Runbook], prog: str, configured: Mapping[str, Any] | None = None
) -> argparse.ArgumentParser:
    """A parser with the runbook's params as flags, plus the run options."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=f"{runbook.title}: {runbook.purpose().splitlines()[0]}",
    )
    group = parser.add_argument_group("parameters")
    for spec in flag_specs(runbook.Params, configured):
        if spec.kind == "bool":
            group.add_argument(
                spec.flag,
                dest=spec.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_line(spec),
            )
        elif spec.kind == "list":
            group.add_argument(
                spec.flag,
                dest=spec.name,
                action="append",
                default=None,
                metavar=spec.name.upper(),
                help=help_line(spec),
            )
        else:
            group.add_argument(
                spec.flag,
                dest=spec.name,
                default=None,
                metavar=spec.name.upper(),
                help=help_line(spec),
            )
    add_run_options(parser, scope="new")
    return parser


def parse_params(
    runbook: type[Runbook],
    argv: Sequence[str],
    prog: str,
    configured: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], argparse.Namespace]:
    parser = runbook_parser(runbook, prog, configured)
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        raise BadInput(f"bad arguments for {runbook.name}; see `{prog} --help`") from None
    values = {spec.name: getattr(args, spec.name) for spec in flag_specs(runbook.Params)}
    return {k: v for k, v in values.items() if v is not None}, args


def run_command(args: argparse.Namespace, app: App) -> int:
    if not args.name:
        app.say(
            "usage: opsbooks run NAME [--param VALUE ...] [run options]\n"
            "Run `opsbooks list` for names, `opsbooks run NAME --help` for parameters."
        )
        return 0 if args.show_help else EXIT_BAD_INPUT
    if args.show_help:
        args.rest = ["--help", *args.rest]
    runbook = app.catalog(args.name).get(args.name)
    try:
        configured = app.config.param_defaults(runbook.name, set(runbook.Params.model_fields))
        values, opts = parse_params(runbook, args.rest, f"opsbooks run {runbook.name}", configured)
    except SystemExit:
        return 0
    invocation = Invocation(
        runbook=runbook.name, params=values, options=RunOptions.from_values(vars(opts))
    )
    report = start_run(invocation, app.config, _surroundings(app), app.catalog())
    return 0 if report is None else report.exit_code


def resume_command(args: argparse.Namespace, app: App) -> int:
    if args.mark_done and not args.reason:
        raise BadInput(
            "--mark-done needs --reason TEXT saying why the step counts as done "
            "(it is recorded with your name)"
        )
    request = ResumeRequest(run_id=args.run_id, options=RunOptions.from_values(vars(args)))
    catalog = app.catalog(_runbook_of(args.run_id, app))
    return resume_run(request, app.config, _surroundings(app), catalog).exit_code


def _runbook_of(run_id: str, app: App) -> str:
    """The runbook a run belongs to, read from the journal before the catalog loads.

    The catalog's import warning must leave out that runbook's module: if it fails to
    import, ``resume_run`` refuses the run with that same error, and the operator should
    read it once. An unknown run id is refused here, before any module is imported.
    """
    journal = open_journal(journal_url(app.config), identity=LocalIdentity())
    try:
        return journal.get_run(run_id).runbook
    finally:
        journal.close()


def _surroundings(app: App) -> Surroundings:
    return Surroundings(stdin=sys.stdin, stdout=app.out, environ=dict(app.environ))
