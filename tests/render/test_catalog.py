"""The docs tree: index, paths, drift check and writing only what changed."""

from __future__ import annotations

from pathlib import Path

from every_kind import EveryKind, Minimal

from opsbooks.edges.config import Contacts
from opsbooks.render import GENERATED_MARKER, check_docs, render_catalog, write_docs
from opsbooks.render.catalog import automated_share

CONTACTS = Contacts(L1="first")


def rendered() -> dict[str, str]:
    return render_catalog([Minimal, EveryKind], CONTACTS)


def test_paths_are_category_and_short_name_plus_index() -> None:
    assert sorted(rendered()) == ["fixtures/every_kind.md", "index.md", "tests/minimal.md"]


def test_index_groups_runbooks_by_category_with_automated_share() -> None:
    index = rendered()["index.md"]
    assert index.startswith(GENERATED_MARKER)
    assert "2 runbooks in 2 categories." in index
    fixtures = index.split("\n## fixtures\n", 1)[1].split("\n## ", 1)[0]
    assert (
        "| [Every Kind of Step](fixtures/every_kind.md) (`fixtures.every_kind`) "
        "| Docs team | 11 | 64% | 2026-11-01 | 2026-12-01 |" in fixtures
    )
    tests = index.split("\n## tests\n", 1)[1]
    assert "| [Minimal](tests/minimal.md) (`tests.minimal`) | me | 1 | 100% |" in tests
    assert "| [fixtures](#fixtures) | 1 |" in index


def test_the_house_index_describes_each_category_by_its_package_docstring() -> None:
    from opsbooks_playbooks.backup.restore import BackupRestore

    index = render_catalog([BackupRestore], CONTACTS)["index.md"]
    assert "| [backup](#backup) | 1 | Backup runbooks: take, verify and restore" in index


def test_automated_share_ignores_compensation_steps() -> None:
    assert len(EveryKind.compensations) == 2
    assert automated_share(EveryKind) == "64%"


def test_related_links_in_catalog_use_titles() -> None:
    from opsbooks_playbooks.security.incident_response import IncidentResponse

    page = render_catalog([EveryKind, IncidentResponse], CONTACTS)["fixtures/every_kind.md"]
    link = "[Security Incident Response](../security/incident_response.md)"
    assert f"- {link} (`security.incident_response`)" in page
    assert "- [release.rollback](../release/rollback.md)" in page


def test_missing_then_written_then_in_sync(tmp_path: Path) -> None:
    pages = rendered()
    drift = check_docs(tmp_path, pages)
    assert drift.missing == tuple(sorted(pages)) and not drift.in_sync
    first = write_docs(tmp_path, pages)
    assert first.written == tuple(sorted(pages))
    assert check_docs(tmp_path, pages).in_sync
    again = write_docs(tmp_path, pages)
    assert again.written == () and again.unchanged == len(pages)


def test_edited_page_is_stale(tmp_path: Path) -> None:
    pages = rendered()
    write_docs(tmp_path, pages)
    (tmp_path / "tests/minimal.md").write_text("edited by hand\n")
    assert check_docs(tmp_path, pages).stale == ("tests/minimal.md",)


def test_generated_orphans_reported_and_removed_hand_written_kept(tmp_path: Path) -> None:
    pages = rendered()
    write_docs(tmp_path, pages)
    orphan = tmp_path / "old/gone.md"
    orphan.parent.mkdir()
    orphan.write_text(f"{GENERATED_MARKER}\n\n# Gone\n")
    notes = tmp_path / "notes.md"
    notes.write_text("# Hand-written notes\n")
    drift = check_docs(tmp_path, pages)
    assert drift.orphans == ("old/gone.md",)
    assert drift.unmanaged == ("notes.md",)
    assert not drift.in_sync
    result = write_docs(tmp_path, pages)
    assert result.removed == ("old/gone.md",)
    assert not orphan.exists() and notes.exists()
    assert not orphan.parent.exists()
    assert check_docs(tmp_path, pages).in_sync
