"""Check the size rules of docs/architecture.md: no module over 400 lines, no function
above radon grade C (cyclomatic complexity 20).

    .venv/bin/python scripts/check-sizes.py [PATH ...]      # default: opsbooks

Prints one line per offender, biggest first, and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radon.complexity import cc_rank  # type: ignore[import-untyped]
from radon.visitors import ComplexityVisitor  # type: ignore[import-untyped]

MAX_LINES = 400
MAX_GRADE = "C"


@dataclass(frozen=True)
class Offender:
    """One module or function over its limit."""

    where: str
    measure: int
    what: str

    def __str__(self) -> str:
        return f"  {self.where}: {self.what}"


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``.py`` file under ``paths`` (files are taken as given), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        else:
            yield path


def long_modules(files: Iterable[Path], max_lines: int) -> list[Offender]:
    """The modules with more than ``max_lines`` lines."""
    found = []
    for file in files:
        lines = len(file.read_text(encoding="utf-8").splitlines())
        if lines > max_lines:
            found.append(Offender(str(file), lines, f"{lines} lines (limit {max_lines})"))
    return found


def _functions(blocks: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every function, method and closure in radon's blocks, with a dotted name."""
    for block in blocks:
        name = f"{prefix}{block.name}"
        if hasattr(block, "methods"):  # a class: its methods and inner classes
            yield from _functions([*block.methods, *block.inner_classes], f"{name}.")
        else:
            yield name, block
            yield from _functions(block.closures, f"{name}.")


def complex_functions(files: Iterable[Path], max_grade: str) -> list[Offender]:
    """The functions whose radon grade is worse than ``max_grade``."""
    found = []
    for file in files:
        visitor = ComplexityVisitor.from_code(file.read_text(encoding="utf-8"))
        for name, block in _functions([*visitor.functions, *visitor.classes]):
            score: int = block.complexity
            grade: str = cc_rank(score)
            if grade > max_grade:
                where = f"{file}:{block.lineno} {name}"
                found.append(Offender(where, score, f"grade {grade} (complexity {score})"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("opsbooks")])
    parser.add_argument("--max-lines", type=int, default=MAX_LINES)
    parser.add_argument("--max-grade", default=MAX_GRADE, choices=list("ABCDEF"))
    args = parser.parse_args(argv)
    files = list(python_files(args.paths))
    modules = long_modules(files, args.max_lines)
    functions = complex_functions(files, args.max_grade)
    for title, offenders in (
        (f"Modules over {args.max_lines} lines (split them by responsibility):", modules),
        (f"Functions above grade {args.max_grade} (extract well-named steps):", functions),
    ):
        if offenders:
            print(title)
            print("\n".join(str(o) for o in sorted(offenders, key=lambda o: -o.measure)))
    if modules or functions:
        print(f"check-sizes: {len(modules) + len(functions)} offender(s) in {len(files)} files")
        return 1
    print(f"check-sizes: {len(files)} files, none over {args.max_lines} lines or grade C")
    return 0


if __name__ == "__main__":
    sys.exit(main())
