"""The error tree is complete: every ``OpsbooksError`` lives in ``opsbooks.errors``, is
drawn in its docstring under its real parent, and is exported from ``opsbooks``."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import opsbooks
from opsbooks import errors
from opsbooks.errors import HostsUnreachable, InventoryError, OpsbooksError

BRANCH = re.compile(r"^(?P<indent>(?:│   |    )*)(?:├── |└── )(?P<name>\w+)")
REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def import_every_module() -> None:
    for module in pkgutil.walk_packages(opsbooks.__path__, "opsbooks."):
        if module.name.rsplit(".", 1)[-1] != "__main__":  # __main__ runs the CLI
            importlib.import_module(module.name)


def subclasses(cls: type[OpsbooksError]) -> Iterator[type[OpsbooksError]]:
    for sub in cls.__subclasses__():
        if sub.__module__.split(".")[0] == "opsbooks":
            yield sub
            yield from subclasses(sub)


def drawn_tree() -> str:
    """The tree block of the ``opsbooks.errors`` docstring, dedented."""
    assert errors.__doc__ is not None
    block = errors.__doc__.split("::\n\n", 1)[1].rstrip()
    return "\n".join(line[4:] for line in block.splitlines()) + "\n"


def drawn_parents() -> dict[str, str]:
    """Each class named in the drawing, mapped to the class it is drawn under."""
    lines = drawn_tree().splitlines()
    assert lines[0] == "OpsbooksError"
    stack = ["OpsbooksError"]
    parents: dict[str, str] = {}
    for line in lines[1:]:
        match = BRANCH.match(line)
        assert match, f"not a branch of the tree: {line!r}"
        depth = len(match["indent"]) // 4
        del stack[depth + 1 :]
        parents[match["name"]] = stack[depth]
        stack.append(match["name"])
    return parents


def test_every_error_lives_in_errors_is_exported_and_is_drawn_under_its_parent() -> None:
    import_every_module()
    parents = drawn_parents()
    found = list(subclasses(OpsbooksError))
    assert found
    for cls in found:
        name = cls.__name__
        assert cls.__module__ == "opsbooks.errors", f"{name} is defined in {cls.__module__}"
        assert name in opsbooks.__all__, f"{name} is not in opsbooks.__all__"
        assert getattr(opsbooks, name) is cls
        assert name in parents, f"{name} is not drawn in the opsbooks.errors docstring"
        assert parents[name] == cls.__bases__[0].__name__, f"{name} is drawn under the wrong parent"
    assert set(parents) == {cls.__name__ for cls in found}, "the drawing names a class that is gone"


def test_public_names_are_sorted() -> None:
    assert opsbooks.__all__ == sorted(opsbooks.__all__)


def test_the_reference_draws_the_same_tree() -> None:
    assert drawn_tree() in REFERENCE.read_text(encoding="utf-8")


def test_an_inventory_error_says_what_to_fix() -> None:
    default = InventoryError("host 'web1' must be a table of settings")
    assert str(default) == (
        "host 'web1' must be a table of settings; "
        "fix the hosts and ssh tables of the opsbooks configuration"
    )
    assert default.exit_code == 2
    own = InventoryError("ssh_config file x does not exist", fix="create it")
    assert (str(own), own.problem, own.fix) == (
        "ssh_config file x does not exist; create it",
        "ssh_config file x does not exist",
        "create it",
    )


def test_unreachable_hosts_name_each_role_and_the_way_out() -> None:
    error = HostsUnreachable("app.deploy", ["role 'web': 2 of 3 host(s) unreachable"])
    assert str(error).splitlines() == [
        "app.deploy cannot start; nothing was run:",
        "  role 'web': 2 of 3 host(s) unreachable",
        "Check that the hosts are up and their address, port, user and key in the hosts "
        "configuration, or take them out of the role.",
    ]
    assert error.exit_code == 2
