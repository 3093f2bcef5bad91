"""Write the generated step-kind and placeholder reference into docs/reference.md.

    python scripts/gen-reference.py          # rewrite the generated block
    python scripts/gen-reference.py --check  # exit 1 if docs/reference.md is stale

``make docs-check`` (part of ``make test``) runs the check, so a keyword added to a
step kind without regenerating the reference fails CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import opsbooks
from opsbooks.define import template
from opsbooks.render.reference import public_kinds, render_reference, splice

# the facade is lazy: load every public name, so every step kind is registered
for _name in opsbooks.__all__:
    getattr(opsbooks, _name)

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    check = parser.parse_args(argv).check
    placeholders = getattr(template, "PLACEHOLDERS", ())
    current = REFERENCE.read_text(encoding="utf-8")
    wanted = splice(current, render_reference(public_kinds(), placeholders))
    if check:
        if wanted != current:
            print(
                f"{REFERENCE} is stale: its step-kind reference differs from the code. "
                "Run `.venv/bin/python scripts/gen-reference.py` and commit the result."
            )
            return 1
        print(f"{REFERENCE}: the step-kind reference is up to date")
        return 0
    REFERENCE.write_text(wanted, encoding="utf-8")
    print(f"wrote the step-kind reference into {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
