"""``opsbooks show NAME`` on a terminal: the runbook's page drawn by rich's Markdown.

In a pipe the page is the raw Markdown ``opsbooks docs`` writes, byte for byte, and rich
is not imported. On a terminal the Mermaid flow, which no terminal draws, becomes a
readable list of its steps and its labelled branches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO

from opsbooks.edges.tty import on_terminal, wants_color

_FENCE = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
#: a node: ``    step_x["1. Title"]``, any Mermaid shape around the quoted label
_NODE = re.compile(r'^\s+(\w+)[\[\({/]+"(.*)"[\]\)}/]+\s*$')
#: an edge with a label: ``    a -->|"yes"| b`` (dotted ones too)
_EDGE = re.compile(r'^\s+(\w+)\s+-[.-]*->\|"(.*)"\|\s+(\w+)\s*$')
_ENDS = ("start", "done")
#: "1. Title" inside a bullet would read as a nested list: its dot is escaped
_NUMBER = re.compile(r"^(\d+)\. ")
_ESCAPED = r"\1\\. "


def write_page(out: IO[str], environ: Mapping[str, str], page: str) -> None:
    """The page as Markdown in a pipe; drawn for the terminal on a terminal."""
    if not on_terminal(out, environ):
        out.write(page)
        return
    from rich.markdown import Markdown

    from opsbooks.edges.console_live import rich_console

    console = rich_console(out, environ, color=wants_color(environ))
    console.print(Markdown(for_terminal(page), code_theme="ansi_dark", hyperlinks=False))


def for_terminal(page: str) -> str:
    """``page`` with each Mermaid block replaced by the list of steps it draws."""
    return _FENCE.sub(lambda match: flow_as_list(match.group(1)), page)


def flow_as_list(flow: str) -> str:
    """A Mermaid flowchart as Markdown: its steps in order, then its labelled edges."""
    labels: dict[str, str] = {}
    branches: list[str] = []
    for line in flow.splitlines():
        node, edge = _NODE.match(line), _EDGE.match(line)
        if node and node.group(1) not in _ENDS:
            labels[node.group(1)] = _unescape(node.group(2))
        elif edge:
            source, text, target = edge.groups()
            named = {"start": "Start", "done": "Done", **labels}
            branches.append(
                f"- {named.get(source, source)} *({_unescape(text)})* -> "
                f"{named.get(target, target)}"
            )
    steps = ["- " + _NUMBER.sub(_ESCAPED, text) for text in labels.values()]
    parts = ["**Flow** (the page's diagram, as a list):", "", *steps]
    if branches:
        parts += ["", "**Branches and undo steps:**", "", *branches]
    return "\n".join(parts) + "\n"


def _unescape(text: str) -> str:
    for code, char in (("#quot;", '"'), ("#lt;", "<"), ("#gt;", ">"), ("#amp;", "&")):
        text = text.replace(code, char)
    return text
