"""``opsbooks review NAME --notes TEXT``: record a review in the runbook's own source.

Sets ``last_reviewed`` to today and appends a ``Change`` (date, "Reviewed: notes",
author=reviewer) through a concrete syntax tree edit that keeps the file's formatting;
``--print`` shows the edit as a unified diff and writes nothing. The reviewer is
``OPSBOOKS_USER``, else git's user.name; with ``require_distinct_reviewer`` the last
author of the module (git log) may not review it.
"""

from __future__ import annotations

import argparse
import datetime as dt

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.governance import last_author, module_file
from opsbooks.edges.operator import approver
from opsbooks.errors import EXIT_OK, BadInput
from opsbooks.govern.review_edit import Review, review_source, unified_diff
from opsbooks.govern.settings import ReviewSettings, load


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "review", help="record a review: set last_reviewed and add a change log entry"
    )
    parser.add_argument("name", help="runbook name, category.name (see `opsbooks list`)")
    parser.add_argument("--notes", required=True, help="what was checked; kept in the change log")
    parser.add_argument(
        "--print", action="store_true", help="print the edit as a unified diff; write nothing"
    )
    parser.set_defaults(handler=review_command)


def review_command(args: argparse.Namespace, app: App) -> int:
    settings: ReviewSettings = load(ReviewSettings, app.config.review, "review")
    notes = " ".join(args.notes.split())
    if not notes:
        raise BadInput("--notes is empty; say what the review checked (it goes in the change log)")
    runbook = app.catalog(args.name).get(args.name)
    path = module_file(runbook)
    reviewer = approver(app.environ)
    if settings.require_distinct_reviewer:
        author = last_author(path)
        if author and author.casefold() == reviewer.casefold():
            raise BadInput(
                f"{reviewer} wrote the last change to {path.name} (git log), and this project "
                f"requires a reviewer other than the last author (require_distinct_reviewer "
                f"in [tool.opsbooks.review]); ask another engineer to run `opsbooks review "
                f"{runbook.name}`"
            )
    before = path.read_text(encoding="utf-8")
    review = Review(reviewer=reviewer, date=dt.date.today().isoformat(), notes=notes)
    after = review_source(before, runbook.__qualname__, review, where=str(path))
    shown = _shown(path, app)
    if args.print:
        app.out.write(unified_diff(before, after, shown))
        return EXIT_OK
    path.write_text(after, encoding="utf-8")
    app.say(f"recorded the review of {runbook.name} by {reviewer} on {review.date} in {shown}")
    return EXIT_OK


def _shown(path: object, app: App) -> str:
    try:
        return str(path.relative_to(app.config.root))  # type: ignore[attr-defined]
    except ValueError:
        return str(path)
