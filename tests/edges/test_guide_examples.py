"""The examples of the hook and the harness in docs/guides/writing-runbooks.md run."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import opsbooks as ob
from opsbooks.define import outputs

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"


def example(heading: str) -> dict[str, Any]:
    """Run the first python block after ``heading``; return its namespace."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(r"^```python\n(.*?)^```", text[text.index(heading) :], re.M | re.S)
    assert match, f"no python example after {heading!r}"
    namespace: dict[str, Any] = {"__name__": "guide_example"}
    exec(compile(match.group(1), str(GUIDE), "exec"), namespace)
    return namespace


def test_the_prepare_project_example_sets_up_once_and_redirects(tmp_path: Path) -> None:
    made: list[Path] = []

    def make_sandbox(target: Path) -> None:
        made.append(target)
        target.mkdir(parents=True)
        (target / "opsbooks.toml").write_text("")

    namespace = example("## Preparing before first use")
    namespace["make_sandbox"] = make_sandbox
    base = namespace["Sandboxed"]
    said: list[str] = []
    project = ob.Project(
        root=tmp_path, configured=True, settings={"sandbox": "sb"}, say=said.append
    )
    assert base.prepare_project(project) == tmp_path / "sb" / "opsbooks.toml"
    assert base.prepare_project(project) == tmp_path / "sb" / "opsbooks.toml"
    assert made == [tmp_path / "sb"] and said == [f"creating a sandbox in {tmp_path / 'sb'}"]
    assert base.prepare_project(ob.Project(root=tmp_path, configured=True)) is None


def test_the_helper_example_is_a_working_program() -> None:
    program = example("## Helpers as commands")["program"]
    out, err = io.StringIO(), io.StringIO()
    assert (
        program.main(["purge", "--url", "redis://cache", "--scope", "all"], out=out, err=err) == 0
    )
    assert out.getvalue().startswith("purged ") and err.getvalue() == ""
    assert set(outputs.parse(out.getvalue())) == {"purged"}
    assert program.main(["purge"], out=out, err=err) == 2
