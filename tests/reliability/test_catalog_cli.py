"""Issue 13 item 20 through the real CLI: one catalog module that fails to import (a
pydantic ``SchemaError``, a ``TypeError``) is reported in one paragraph, and the other
runbooks still list, show and run."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_helpers import cli, make_project
from test_faults_cli import assert_clean

pytestmark = pytest.mark.slow

# -- item 20: one broken catalog module --------------------------------------------------------

GOOD = '''
class Good(ob.Runbook):
    """A runbook that imports."""

    name = "cat.good"
    scope = "a file"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    one = ob.Command("echo one >> one.count")
'''

SCHEMA = '''
from pydantic import Field


class Schema(ob.Runbook):
    """Its params use a look-ahead pattern: pydantic raises SchemaError on import."""

    name = "cat.schema"
    scope = "nothing"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        tag: str = Field("v1", pattern=r"^(?!latest).*$")

    one = ob.Command("true")
'''

KEYWORD = '''
class Keyword(ob.Runbook):
    """A step with an unknown keyword: TypeError on import."""

    name = "cat.keyword"
    scope = "nothing"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    one = ob.Command("true", retires=3)
'''


def test_a_broken_catalog_module_is_reported_and_the_others_still_work(tmp_path: Path) -> None:
    modules = {"cat/good": GOOD, "cat/schema": SCHEMA, "cat/keyword": KEYWORD}
    root, package = make_project(tmp_path / "p", modules)
    for args in (("list",), ("show", "cat.good"), ("run", "cat.good", "--yes")):
        result = cli(root, *args)
        assert_clean(result, 0)
        said = result.stderr
        assert f"{package}.cat.schema" in said and f"{package}.cat.keyword" in said, said
        assert "SchemaError" in said and "look-around" in said, said
        assert "retires" in said, said
    assert "cat.good" in cli(root, "list").stdout
    assert (root / "one.count").read_text() == "one\n"
    for name, said in (("cat.schema", "look-around"), ("cat.keyword", "retires")):
        broken = cli(root, "run", name, "--yes")
        assert_clean(broken, 2)
        assert said in broken.stderr, broken.stderr
