"""Render the whole catalog into a docs tree, and compare that tree with what is on disk.

``render_catalog`` is pure. ``check_docs`` and ``write_docs`` at the bottom are the
only code in ``opsbooks.render`` that touches the file system, kept apart on purpose.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbooks.define.contacts import Contacts
from opsbooks.define.runbook import Runbook
from opsbooks.plan.binding import plan
from opsbooks.render.markdown import GENERATED_MARKER, page_path, render_runbook, table

INDEX = "index.md"


def render_catalog(catalog: Iterable[type[Runbook]], contacts: Contacts) -> dict[str, str]:
    """Return ``{relative path: page text}`` for every runbook plus ``index.md``."""
    runbooks = sorted(catalog, key=lambda rb: rb.name)
    known = {rb.name: rb for rb in runbooks}
    pages = {page_path(rb): render_runbook(rb, contacts, known=known) for rb in runbooks}
    pages[INDEX] = render_index(runbooks)
    return dict(sorted(pages.items()))


def automated_share(runbook: type[Runbook]) -> str:
    """Share of the main (non-compensation) steps that a machine carries out."""
    steps = plan(runbook).steps
    if not steps:
        return "0%"
    automated = sum(1 for s in steps if s.automated)
    return f"{round(100 * automated / len(steps))}%"


def render_index(runbooks: Iterable[type[Runbook]]) -> str:
    """The catalog's front page: the categories, then one table per category.

    A category is described by its package's docstring (the ``__init__.py`` of its folder),
    so the index says what each group is for without a hand-kept list.
    """
    by_category: dict[str, list[type[Runbook]]] = {}
    for rb in sorted(runbooks, key=lambda r: r.name):
        by_category.setdefault(rb.category, []).append(rb)
    intro = (
        "Every page here is generated from the runbook classes by `opsbooks docs`; "
        "edit the class, not the page. `opsbooks docs --check` fails when they drift."
    )
    if not by_category:
        return f"{GENERATED_MARKER}\n\n# Runbooks\n\n{intro}\n\nNo runbooks found.\n"
    total = sum(len(books) for books in by_category.values())
    summary = table(
        ["Category", "Runbooks", "What it covers"],
        [
            [f"[{name}](#{name})", str(len(books)), category_blurb(books[0])]
            for name, books in sorted(by_category.items())
        ],
    )
    parts = [
        f"{GENERATED_MARKER}\n\n# Runbooks\n\n{intro}\n\n"
        f"{total} runbooks in {len(by_category)} categories.\n\n{summary}\n"
    ]
    header = ["Runbook", "Owner", "Steps", "Automated", "Last reviewed", "Next review"]
    for name, books in sorted(by_category.items()):
        parts.append(f"\n## {name}\n\n{table(header, [_row(rb) for rb in books])}\n")
    return "".join(parts)


def _row(rb: type[Runbook]) -> list[str]:
    reviewed, upcoming = rb.reviewed_on(), rb.next_review()
    return [
        f"[{rb.title}]({page_path(rb)}) (`{rb.name}`)",
        rb.owner,
        str(len(rb.steps)),
        automated_share(rb),
        reviewed.isoformat() if reviewed else "never",
        upcoming.isoformat() if upcoming else "not scheduled",
    ]


def category_blurb(runbook: type[Runbook]) -> str:
    """The first line of the docstring of the package a runbook's module is in."""
    package = sys.modules.get(runbook.__module__.rpartition(".")[0])
    doc = (getattr(package, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split()) if doc else ""


# --- the file system side --------------------------------------------------------------


@dataclass(frozen=True)
class DriftReport:
    """How the docs dir differs from the rendered pages (paths relative to the docs dir).

    ``orphans`` are generated pages no runbook produces any more; ``unmanaged`` are
    hand-written pages, reported for information and never touched.
    """

    stale: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    orphans: tuple[str, ...] = ()
    unmanaged: tuple[str, ...] = ()

    @property
    def in_sync(self) -> bool:
        return not (self.stale or self.missing or self.orphans)


@dataclass(frozen=True)
class WriteReport:
    """What ``write_docs`` changed."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0


def _is_generated(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().strip() == GENERATED_MARKER
    except (OSError, UnicodeDecodeError):
        return False


def _on_disk(docs_dir: Path) -> list[str]:
    if not docs_dir.is_dir():
        return []
    return sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*.md"))


def check_docs(docs_dir: Path, rendered: Mapping[str, str]) -> DriftReport:
    """Compare ``docs_dir`` with ``rendered`` without writing anything."""
    stale, missing = [], []
    for relative, text in sorted(rendered.items()):
        target = docs_dir / relative
        if not target.is_file():
            missing.append(relative)
        elif target.read_text(encoding="utf-8") != text:
            stale.append(relative)
    extra = [rel for rel in _on_disk(docs_dir) if rel not in rendered]
    orphans = [rel for rel in extra if _is_generated(docs_dir / rel)]
    unmanaged = [rel for rel in extra if rel not in orphans]
    return DriftReport(tuple(stale), tuple(missing), tuple(orphans), tuple(unmanaged))


def write_docs(docs_dir: Path, rendered: Mapping[str, str]) -> WriteReport:
    """Write changed pages only; remove generated orphans; never touch hand-written pages."""
    drift = check_docs(docs_dir, rendered)
    written = sorted(drift.stale + drift.missing)
    for relative in written:
        target = docs_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered[relative], encoding="utf-8")
    for relative in drift.orphans:
        (docs_dir / relative).unlink()
        _prune_empty(docs_dir, (docs_dir / relative).parent)
    return WriteReport(tuple(written), drift.orphans, len(rendered) - len(written))


def _prune_empty(docs_dir: Path, folder: Path) -> None:
    """Remove folders left empty by deleted orphans, up to (not including) ``docs_dir``."""
    while folder != docs_dir and docs_dir in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
