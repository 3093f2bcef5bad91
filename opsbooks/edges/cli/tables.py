"""Aligned tables for ``opsbooks history`` and ``stats``: rich on a terminal, text in a pipe.

Column widths come from the content either way. In a pipe (a script, ``grep``, a CI
log) the table is plain text, two spaces between columns, no escape code, and rich is
not imported; on a terminal it is a rich table, without colour under ``NO_COLOR``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import IO

from opsbooks.edges.tty import on_terminal, wants_color


def show_table(
    out: IO[str],
    environ: Mapping[str, str],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[int] = (),
) -> None:
    """Print ``rows`` under ``header``; columns in ``right`` are right-aligned."""
    if on_terminal(out, environ):
        _rich_table(out, environ, header, rows, right)
        return
    for line in plain_table(header, rows, right=right):
        print(line, file=out)


def plain_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, right: Collection[int] = ()
) -> list[str]:
    """The table as text lines, each column as wide as its widest cell."""
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return [
        "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]


def _rich_table(
    out: IO[str],
    environ: Mapping[str, str],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Collection[int],
) -> None:
    from rich import box
    from rich.table import Table

    from opsbooks.edges.console_live import rich_console

    color = wants_color(environ)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold" if color else "", pad_edge=False)
    for index, name in enumerate(header):
        table.add_column(name, justify="right" if index in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    rich_console(out, environ, color=color).print(table)
