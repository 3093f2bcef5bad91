"""The site's MkDocs hook (scripts/site_nav.py), on the real docs/ and mkdocs.yml: fast."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("site_nav", REPO / "scripts" / "site_nav.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


site_nav = _hook()


def _paths(items: list[Any]) -> list[str]:
    found: list[str] = []
    for item in items:
        if isinstance(item, str):
            found.append(item)
        else:
            for value in item.values():
                found.extend([value] if isinstance(value, str) else _paths(value))
    return found


def _mkdocs_nav() -> list[Any]:
    config = load_config(str(REPO / "mkdocs.yml"))
    nav = config.nav
    assert isinstance(nav, list)
    return nav


def test_runbooks_entry_becomes_one_section_per_category_with_every_page() -> None:
    nav = _mkdocs_nav()
    expanded = site_nav.expand_nav(nav, DOCS)
    # everything but the Runbooks entry is left as mkdocs.yml has it
    assert [i for i in expanded if "Runbooks" not in i] == [i for i in nav if "Runbooks" not in i]
    (runbooks,) = [i["Runbooks"] for i in expanded if isinstance(i, dict) and "Runbooks" in i]
    assert runbooks[0] == "runbooks/index.md"
    categories = sorted(p.name for p in (DOCS / "runbooks").iterdir() if p.is_dir())
    assert [next(iter(section)) for section in runbooks[1:]] == categories
    pages = sorted(p.relative_to(DOCS).as_posix() for p in (DOCS / "runbooks").glob("*/*.md"))
    assert sorted(_paths(runbooks[1:])) == pages


def test_pages_are_titled_by_their_heading_not_their_file_name() -> None:
    section = site_nav.runbook_sections(DOCS)
    (troubleshoot,) = [s["troubleshoot"] for s in section[1:] if "troubleshoot" in s]
    assert {"Troubleshoot Service Connectivity": "runbooks/troubleshoot/connectivity.md"} in (
        troubleshoot
    )


def test_a_new_category_and_page_join_the_nav_with_no_config_edit(tmp_path: Path) -> None:
    (tmp_path / "runbooks" / "zeta").mkdir(parents=True)
    (tmp_path / "runbooks" / "index.md").write_text("# Runbooks\n", encoding="utf-8")
    page = tmp_path / "runbooks" / "zeta" / "rotate.md"
    page.write_text("<!-- generated -->\n\n# Rotate Keys\n\nBody.\n", encoding="utf-8")
    nav = site_nav.expand_nav([{"Home": "index.md"}, {"Runbooks": "runbooks/index.md"}], tmp_path)
    assert nav == [
        {"Home": "index.md"},
        {"Runbooks": ["runbooks/index.md", {"zeta": [{"Rotate Keys": "runbooks/zeta/rotate.md"}]}]},
    ]


def test_local_scripts_must_exist_and_urls_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "here.js").write_text("", encoding="utf-8")
    scripts = ["assets/here.js", "assets/vendor/mermaid.min.js", "https://example.org/x.js"]
    assert site_nav.missing_scripts(scripts, tmp_path) == ["assets/vendor/mermaid.min.js"]


def test_config_without_the_local_mermaid_fails_with_what_to_run(tmp_path: Path) -> None:
    config = load_config(str(REPO / "mkdocs.yml"), docs_dir=str(tmp_path))
    with pytest.raises(PluginError) as failure:
        site_nav.on_config(config)
    message = str(failure.value)
    assert "assets/vendor/mermaid.min.js" in message
    assert "bash scripts/fetch-mermaid.sh" in message
