"""``opsbooks list``, ``show`` and ``docs``: read the catalog and print or write its pages."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:  # the renderers load the define layer (pydantic): not for `list`
    from opsbooks.render.catalog import DriftReport


def register(subparsers: Subparsers) -> None:
    """Add ``list``, ``show`` and ``docs`` to the program."""
    listing = subparsers.add_parser("list", help="list the runbooks in the catalog")
    listing.set_defaults(handler=list_runbooks)

    show = subparsers.add_parser("show", help="print a runbook's rendered page")
    show.add_argument("name", help="runbook name, category.name (see `opsbooks list`)")
    show.set_defaults(handler=show_runbook)

    docs = subparsers.add_parser("docs", help="write the runbook pages, or check them for drift")
    docs.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any page is stale, missing or orphaned",
    )
    docs.add_argument(
        "--dir", type=Path, help="docs directory, relative to cwd (default: docs_dir in config)"
    )
    docs.set_defaults(handler=docs_command)


def list_runbooks(args: argparse.Namespace, app: App) -> int:
    """Print name, category, title and step count in aligned columns."""
    rows = [("NAME", "CATEGORY", "TITLE", "STEPS")]
    rows += [(s.name, s.category, s.title, str(s.steps)) for s in app.catalog().summaries()]
    if len(rows) == 1:
        app.say(f"no runbooks found in {', '.join(app.source.packages)}")
        return EXIT_OK
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [value.ljust(width) for value, width in zip(row[:3], widths, strict=True)]
        app.say("  ".join([*cells, row[3].rjust(5)]).rstrip())
    return EXIT_OK


def show_runbook(args: argparse.Namespace, app: App) -> int:
    """Print one runbook's page exactly as ``opsbooks docs`` writes it (drawn on a tty)."""
    from opsbooks.edges.cli.pages import write_page
    from opsbooks.render.markdown import render_runbook

    catalog = app.catalog(args.name)
    runbook = catalog.get(args.name)
    known = catalog.classes()  # a related runbook is imported for its link only
    page = render_runbook(runbook, app.config.contacts, known=known)
    write_page(app.out, app.environ, page)  # raw Markdown in a pipe, drawn by rich on a terminal
    return EXIT_OK


def docs_command(args: argparse.Namespace, app: App) -> int:
    """Write the docs tree, or with ``--check`` report drift and exit 1 if there is any."""
    from opsbooks.render.catalog import check_docs, render_catalog, write_docs
    from opsbooks.render.markdown import page_path

    docs_dir = app.cwd / args.dir if args.dir else app.config.path(app.config.docs_dir)
    catalog = app.catalog()
    rendered = render_catalog(catalog, app.config.contacts)
    owners = {page_path(rb): rb.name for rb in catalog}
    if args.check:
        drift = check_docs(docs_dir, rendered)
        _print_drift(app, drift, owners, docs_dir)
        return EXIT_OK if drift.in_sync else EXIT_FAILED
    result = write_docs(docs_dir, rendered)
    for relative in result.written:
        app.say(f"wrote    {docs_dir / relative}{_owner(owners, relative)}")
    for relative in result.removed:
        app.say(f"removed  {docs_dir / relative} (no runbook produces it)")
    app.say(
        f"{len(result.written)} written, {len(result.removed)} removed, "
        f"{result.unchanged} unchanged in {docs_dir}"
    )
    return EXIT_OK


def _owner(owners: dict[str, str], relative: str) -> str:
    name = owners.get(relative)
    return f" ({name})" if name else ""


def _print_drift(app: App, drift: DriftReport, owners: dict[str, str], docs_dir: Path) -> None:
    for relative in drift.stale:
        app.say(f"stale    {docs_dir / relative}{_owner(owners, relative)}")
    for relative in drift.missing:
        app.say(f"missing  {docs_dir / relative}{_owner(owners, relative)}")
    for relative in drift.orphans:
        app.say(f"orphan   {docs_dir / relative} (generated, but no runbook produces it)")
    for relative in drift.unmanaged:
        app.say(f"note     {docs_dir / relative} is hand-written; left alone")
    if drift.in_sync:
        app.say(f"docs in {docs_dir} are up to date")
    else:
        app.say("docs are out of date; run `opsbooks docs` to rewrite them, then commit")
