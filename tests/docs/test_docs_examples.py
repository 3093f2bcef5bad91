"""The docs stay true: their examples run, and their links point at real files."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import opsbooks as ob

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
GENERATED = DOCS / "runbooks"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced blocks of ``language`` in a Markdown text, in order."""
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def block_after(path: Path, heading: str, language: str = "python") -> str:
    """The first ``language`` block that follows ``heading`` in the file."""
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    blocks = code_blocks(text[start:], language)
    assert blocks, f"no {language} block after {heading!r} in {path}"
    return blocks[0]


def readme_python() -> tuple[str, str, str]:
    """The README's python blocks: the tour's runbook, the Deploy runbook, the API example."""
    blocks = code_blocks((REPO / "README.md").read_text(encoding="utf-8"), "python")
    assert len(blocks) == 3, "README.md: the tour's runbook, the Deploy runbook, the API example"
    return blocks[0], blocks[1], blocks[2]


def runbook_in(source: str, name: str) -> type[ob.Runbook]:
    """The one runbook class ``source`` defines, run as a module ``name`` of its own.

    A real module object (registered while it runs, removed after), so pydantic resolves
    the annotations of its ``Params``; compiled without this file's ``__future__`` flags.
    """
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, name, "exec", dont_inherit=True), module.__dict__)
    finally:
        del sys.modules[name]
    runbooks = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ob.Runbook) and value is not ob.Runbook
    ]
    assert len(runbooks) == 1
    return runbooks[0]


def test_readme_tour_runbook_is_the_init_example_abridged() -> None:
    """Every step the tour shows is the example's own step: same id, kind, command."""
    from opsbooks.edges.scaffold_files import EXAMPLE_RUNBOOK

    tour = runbook_in(readme_python()[0], "readme_tour.ops.clean_logs")
    example = runbook_in(EXAMPLE_RUNBOOK, "init_example.ops.clean_logs")
    assert (
        (tour.name, tour.title)
        == (example.name, example.title)
        == (
            "ops.clean_logs",
            "Clean Up Old Rotated Logs",
        )
    )
    params = {"log_dir": "/var/log/app", "days": 30}
    shown, real = ob.plan(tour, tour.Params(**params)), ob.plan(example, example.Params(**params))
    assert set(shown.ids()) < set(real.ids())
    for step_id in shown.ids():
        mine, theirs = shown.get(step_id), real.get(step_id)
        assert (mine.kind, mine.command) == (theirs.kind, theirs.command), step_id
    assert set(tour.Params.model_fields) == set(example.Params.model_fields)


def test_readme_example_defines_a_valid_runbook() -> None:
    runbook = runbook_in(readme_python()[1], "readme_example")
    assert not runbook.abstract
    unbound = ob.plan(runbook)
    assert unbound.ids() == ["tag", "approve", "push", "check", "announce"]
    bound = ob.plan(runbook, runbook.Params(version="1.2.3"))
    assert bound.get("tag").command == "git tag -a v1.2.3 -m 'Release 1.2.3'"
    assert bound.get("tag").undo == "untag"
    with pytest.raises(ob.ParamsError):
        from opsbooks.define.params import validate_params

        validate_params(runbook.name, runbook.Params, {"version": "banana"})


@pytest.mark.slow
def test_readme_python_api_example_runs_the_readme_runbook_for_real(tmp_path: Path) -> None:
    """The README's Deploy and API blocks, as a user pastes them into a script in a git
    repository with an origin: the API runs the runbook through the journal and it succeeds."""
    _, runbook, example = readme_python()
    git = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
    subprocess.run([*git, "init", "-q", "--bare", "origin.git"], cwd=tmp_path, check=True)
    work = tmp_path / "work"
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], cwd=work, check=True)
    subprocess.run(["git", "remote", "add", "origin", "../origin.git"], cwd=work, check=True)
    script = work / "release.py"
    script.write_text(f"{runbook}\n{example}\nprint('OUTCOME', report.outcome.value)\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        **{
            f"GIT_{who}_{what}": value
            for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "dev"), ("EMAIL", "dev@example.com"))
        },
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OUTCOME succeeded" in done.stdout
    tags = subprocess.run(
        ["git", "ls-remote", "--tags", "origin"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "refs/tags/v1.2.3" in tags


@pytest.mark.slow
def test_drill_example_in_the_testing_guide_runs_and_passes(tmp_path: Path) -> None:
    source = block_after(DOCS / "guides" / "testing-drills.md", "## A complete example")
    test_file = tmp_path / "test_failover_drill.py"
    test_file.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(test_file),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b4 passed\b", done.stdout), done.stdout


def _markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def _slug(heading: str) -> str:
    """The anchor mkdocs and GitHub give a heading (for the headings these docs use)."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"\s+", "-", text).strip("-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    found = {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)}
    found |= set(re.findall(r'<a id="([^"]+)"', text))
    return found


def _links(path: Path) -> list[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    return _LINK.findall(text)


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_at_existing_files(page: Path) -> None:
    problems = []
    for link in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
            continue
        target_text, _, anchor = link.partition("#")
        target = (page.parent / target_text).resolve() if target_text else page
        if not target.exists():
            if GENERATED in target.parents and GENERATED not in page.parents:
                continue  # pages `opsbooks docs` has not generated yet
            problems.append(f"{link}: {target} does not exist")
            continue
        if (
            anchor
            and target.suffix == ".md"
            and GENERATED not in target.parents
            and anchor not in _anchors(target)
        ):
            problems.append(f"{link}: no heading #{anchor} in {target.name}")
    assert not problems, f"broken links in {page.relative_to(REPO)}:\n" + "\n".join(problems)


def test_mkdocs_nav_names_existing_pages() -> None:
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    pages = re.findall(r":\s+(\S+\.md)\s*$", config, re.MULTILINE)
    assert "index.md" in pages and "reference.md" in pages
    missing = [
        page for page in pages if not (DOCS / page).exists() and not page.startswith("runbooks/")
    ]
    assert not missing, f"mkdocs.yml names missing pages: {missing}"
