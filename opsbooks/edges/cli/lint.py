"""``opsbooks lint``: check every runbook of the catalog against the governance rules.

One line per finding (``RULE-ID severity runbook: message (fix)``) or ``--format json``;
exit 1 when any finding is an error, 2 when the lint configuration is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence

from opsbooks.define.runbook import Runbook
from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.governance import exercised, read_history
from opsbooks.errors import EXIT_FAILED, EXIT_OK
from opsbooks.govern.lint_rules import RULE_IDS, Facts, Finding, has_errors, lint
from opsbooks.govern.settings import LintSettings, load
from opsbooks.govern.subjects import subject_of


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "lint", help="check every runbook: sections, reviews, drills, gates, undo, argv"
    )
    parser.add_argument("names", nargs="*", help="only these runbooks (default: the catalog)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=lint_command)


def lint_command(args: argparse.Namespace, app: App) -> int:
    chosen, findings = lint_findings(app, args.names)
    if args.format == "json":
        app.say(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            app.say(finding.line())
        errors = sum(1 for f in findings if f.severity == "error")
        app.say(
            f"{len(chosen)} runbook(s) checked: {errors} error(s), "
            f"{len(findings) - errors} warning(s)"
        )
    return EXIT_FAILED if has_errors(findings) else EXIT_OK


def lint_findings(app: App, names: Sequence[str] = ()) -> tuple[list[type[Runbook]], list[Finding]]:
    """The runbooks checked (``names``, else the catalog) and the findings, as ``lint``."""
    settings: LintSettings = load(LintSettings, app.config.lint, "lint").checked(RULE_IDS)
    catalog = app.catalog(*names)
    chosen = [catalog.get(name) for name in names] if names else catalog.all()
    facts = Facts(
        today=dt.datetime.now(dt.UTC).date(),
        known=frozenset(catalog.names()),
        contacts=app.config.contacts,
        exercised=exercised(read_history(app.config, detail=False)),
        # a broken module is a finding of the whole catalog, not of the runbooks asked for
        broken={} if names else catalog.broken,
    )
    return chosen, lint([subject_of(rb) for rb in chosen], facts, settings)
