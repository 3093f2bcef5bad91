"""Turn ``bench/results.json`` into the docs: the table and the scaling chart.

    python -m bench.chart                              # print both
    python -m bench.chart --docs docs/performance.md   # rewrite them between their markers

The chart is Mermaid ``xychart-beta`` (rendered by the docs site and by GitHub): cost
per step, in milliseconds, against the number of steps in the run. Flat is the target.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench.__main__ import HERE, table
from bench.measure import Row

MARKERS = {"table": "bench:table", "chart": "bench:chart", "machine": "bench:machine"}


def scaling_chart(results: dict[str, Any]) -> str:
    rows = [r for r in results["rows"] if r["name"] == "scaling" and r["ours_value"] is not None]
    sizes = [r["case"].split()[0] for r in rows]
    values = [r["ours_value"] for r in rows]
    top = max(values, default=1.0) * 1.3
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            '    title "Engine cost per step (ms) by run length"',
            f'    x-axis "steps in the run" [{", ".join(sizes)}]',
            f'    y-axis "ms per step" 0 --> {top:.1f}',
            f"    bar [{', '.join(f'{v:.2f}' for v in values)}]",
            f"    line [{', '.join(f'{v:.2f}' for v in values)}]",
            "```",
        ]
    )


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (
        f"Measured {results['generated']} by `python -m bench` in {results['elapsed_s']} s: "
        f"{m['nproc']} x {m['cpu']}, disk {m['disk']}, Python {m['python']}, load average "
        f"{m['load_before'][0]} before and {m['load_after'][0]} after (other sessions share "
        f"this machine: read the ratios, not the milliseconds)."
    )


def rows_table(results: dict[str, Any]) -> str:
    return table([Row(**r) for r in results["rows"]])


def replace_between(text: str, marker: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {marker} -->\n).*?(<!-- /{marker} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"python -m bench.chart: no <!-- {marker} --> block in the docs page")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chart", description=__doc__)
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--docs", type=Path, help="rewrite the marked blocks of this page")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    parts = {
        "table": rows_table(results),
        "chart": scaling_chart(results),
        "machine": machine_line(results),
    }
    if args.docs is None:
        print("\n\n".join(parts.values()))
        return 0
    text = args.docs.read_text()
    for key, marker in MARKERS.items():
        text = replace_between(text, marker, parts[key])
    args.docs.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
