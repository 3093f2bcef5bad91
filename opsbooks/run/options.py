"""The run options, declared once: the CLI's and invoke's flags are generated from here.

Each field's metadata says its flag, its help and where it applies (``new`` runs,
``resume``, or ``both``); ``edges.cli.run`` turns them into argparse arguments and
``edges.tasks`` into invoke task parameters. The runner never reads a flag: the
composition root turns ``step_mode`` and ``no_rollback`` into injected policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

Scope = Literal["new", "resume", "both"]
Kind = Literal["bool", "value", "list", "path"]


def _option(
    flag: str, help: str, *, kind: Kind = "bool", scope: Scope = "both", metavar: str = ""
) -> Any:
    default: Any = {"bool": False, "list": (), "value": None, "path": None}[kind]
    meta = {"flag": flag, "help": help, "kind": kind, "scope": scope, "metavar": metavar}
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to run, as the operator chose; journaled with the run."""

    dry_run: bool = _option("--dry-run", "print the bound plan; execute nothing", scope="new")
    start_at: str | None = _option(
        "--start-at",
        "begin at STEP, or at the first step of a SECTION (earlier steps skipped)",
        kind="value",
        scope="new",
        metavar="STEP",
    )
    skip: tuple[str, ...] = _option(
        "--skip",
        "skip STEP, or every step of a SECTION (repeatable)",
        kind="list",
        scope="new",
        metavar="STEP",
    )
    only_tags: tuple[str, ...] = _option(
        "--only-tags",
        "run only steps tagged TAG (repeatable or a comma list; setup steps always run)",
        kind="list",
        scope="new",
        metavar="TAG",
    )
    skip_tags: tuple[str, ...] = _option(
        "--skip-tags",
        "skip steps tagged TAG (repeatable or a comma list)",
        kind="list",
        scope="new",
        metavar="TAG",
    )
    yes: bool = _option("--yes", "approve plain confirmations (asks only if yes_default=True)")
    answers: Path | None = _option(  # noqa: RUF009
        "--answers", "YAML or JSON mapping of gate id to answer", kind="path", metavar="FILE"
    )
    no_rollback: bool = _option("--no-rollback", "on failure, do not run the undo steps")
    step_mode: bool = _option("--step", "ask before every step: continue, skip or abort")
    force: bool = _option(
        "--force", "take the runbook's lock from a crashed run whose process is gone"
    )
    no_color: bool = _option(
        "--no-color",
        "no colour on the live screen (so does NO_COLOR=1); a pipe never gets any",
    )
    mark_done: tuple[str, ...] = _option(
        "--mark-done",
        "record STEP as done by hand (needs --reason)",
        kind="list",
        scope="resume",
        metavar="STEP",
    )
    reason: str | None = _option(
        "--reason",
        "why the --mark-done steps count as done",
        kind="value",
        scope="resume",
        metavar="TEXT",
    )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> RunOptions:
        """Build from parsed flags keyed by field name; lists become tuples, None is unset."""
        chosen: dict[str, Any] = {}
        for spec in declared("both", include_all=True):
            value = values.get(spec.name)
            if value is None:
                continue
            if spec.kind == "list":
                value = tuple(value)
            elif spec.kind == "path":
                value = Path(value)
            elif spec.kind == "bool":
                value = bool(value)
            chosen[spec.name] = value
        return cls(**chosen)

    @property
    def marked_done(self) -> tuple[tuple[str, str], ...]:
        steps = dict.fromkeys(self.mark_done)  # a step named twice is marked once
        return tuple((step, self.reason or "") for step in steps)

    def to_dict(self) -> dict[str, Any]:
        """What the journal keeps of the choice (paths and dry-run are not run facts)."""
        return {
            "no_rollback": self.no_rollback,
            "step_mode": self.step_mode,
            "force": self.force,
            "mark_done": [list(pair) for pair in self.marked_done],
        }


@dataclass(frozen=True)
class OptionSpec:
    """One declared option, as the flag generators read it."""

    name: str
    flag: str
    help: str
    kind: Kind
    scope: Scope
    metavar: str
    default: Any

    @property
    def task_name(self) -> str:
        """The invoke task parameter that gives this flag (``--step`` -> ``step``)."""
        return self.flag.removeprefix("--").replace("-", "_")


def declared(
    scope: Literal["new", "resume", "both"], *, include_all: bool = False
) -> list[OptionSpec]:
    """The options that apply to new runs (``new``) or to ``resume``, in declared order."""
    found = []
    for item in fields(RunOptions):
        meta = item.metadata
        if not include_all and meta["scope"] not in (scope, "both"):
            continue
        default = item.default if item.default is not MISSING else None
        found.append(
            OptionSpec(
                item.name,
                meta["flag"],
                meta["help"],
                meta["kind"],
                meta["scope"],
                meta["metavar"],
                default,
            )
        )
    return found
