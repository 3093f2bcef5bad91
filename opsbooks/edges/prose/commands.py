"""Decide whether a code block is a plain, safe list of commands, and which rule says not.

A block becomes ``Command`` steps only when it is a shell block (``sh``, ``bash``,
``shell``, ``console``, ``zsh``) whose every line is one command that a run may
execute unattended. Otherwise it stays a ``Manual`` step that shows the block, and the
first rule that refused it is named in a comment above the step. Unsure means Manual:
a person reading the command costs a minute, a wrong command run by a drill costs more.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

SHELL_LANGS = frozenset({"sh", "bash", "shell", "console", "zsh", "shell-session"})

#: (rule name, pattern over one command line), checked in order
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("heredoc", re.compile(r"<<")),
    ("sudo", re.compile(r"(^|[;&|(]\s*|\s)(sudo|doas|su|pkexec)(\s|$)")),
    ("pipe-to-shell", re.compile(r"\|\s*(sudo\s+)?(ba|z|k|da)?sh\b|\b(eval|source)\s|^\.\s")),
    (
        "placeholder",
        re.compile(r"<[^<>\s|&;]+>|(?<!\$)\{\{?\s*[A-Za-z_][\w.]*\s*\}?\}|\[[A-Z][A-Z_ -]*\]"),
    ),
    (
        "destructive",
        re.compile(
            r"(^|[;&|]\s*|\s)(rm|rmdir|dd|mkfs(\.\w+)?|shred|wipefs|fdisk|parted|truncate"
            r"|shutdown|reboot|halt|poweroff|kill|killall|pkill)(\s|$)"
            r"|\bgit\s+(push\s+.*(--force|-f\b)|reset\s+--hard|clean\b|branch\s+-D)"
            r"|\b(systemctl|service)\s+.*\b(stop|restart|disable|mask|kill)\b"
            r"|\b(kubectl|oc)\s+(delete|drain|replace|scale)\b|\bterraform\s+(apply|destroy)\b"
            r"|\bdocker\s+(rm|rmi|kill|stop|system\s+prune)\b|\bhelm\s+(uninstall|delete)\b"
            r"|\b(DROP|TRUNCATE|DELETE\s+FROM|ALTER)\s|\bchmod\s+-R\b|\bchown\s+-R\b|>\s*/dev/sd",
            re.IGNORECASE,
        ),
    ),
    ("shell-state", re.compile(r"^\s*(cd|export|unset|alias|set|pushd|popd)\s|^\s*\w+=")),
)

#: characters that need a shell: the line is kept as a shell string, not split into argv
_SHELL_CHARS = re.compile(r"[|&;<>()$`*?~!\[\]{}\\]")


@dataclass(frozen=True)
class Verdict:
    """The commands of a block (each a shell string or argv), or the rule that refused it."""

    commands: tuple[str | tuple[str, ...], ...]
    rule: str


def command_lines(code: str) -> list[str]:
    """The command lines of a block: continuations joined, comments and output dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = [line.rstrip() for line in joined.split("\n")]
    prompted = [line for line in lines if re.match(r"^\s*\$\s", line)]
    if prompted:  # a console transcript: the `$ ` lines are commands, the rest output
        lines = [re.sub(r"^\s*\$\s+", "", line) for line in prompted]
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def judge(code: str, lang: str) -> Verdict:
    """The verdict on one fenced block of language ``lang``."""
    if lang not in SHELL_LANGS:
        why = f"a {lang} block" if lang else "an unlabelled block"
        return Verdict((), f"not-shell: {why}, not known to be shell commands")
    lines = command_lines(code)
    if not lines:
        return Verdict((), "empty: no command in the block")
    for name, pattern in RULES:
        if any(pattern.search(line) for line in lines):
            return Verdict((), name)
    commands: list[str | tuple[str, ...]] = []
    for line in lines:
        if _SHELL_CHARS.search(line):
            commands.append(line)
            continue
        try:
            commands.append(tuple(shlex.split(line)))
        except ValueError:
            return Verdict((), "unreadable")
    return Verdict(tuple(commands), "plain")


RULE_TEXT = {
    "heredoc": "a heredoc (<<) spans lines a step would run as one",
    "sudo": "it needs elevated rights (sudo, su, doas)",
    "pipe-to-shell": "it pipes text into a shell or evals it",
    "placeholder": "it has a placeholder (<host>, {{name}}, [NAME]) to fill in",
    "destructive": "it deletes, stops or overwrites something",
    "shell-state": "it changes the shell (cd, export, VAR=) that later lines rely on",
    "unreadable": "its quotes do not balance",
    "empty": "the block holds no command",
    "plain": "a plain command from a shell block",
}


def explain(rule: str) -> str:
    """The comment text for ``rule`` (the part before a colon names it)."""
    name, _, rest = rule.partition(": ")
    return RULE_TEXT.get(name, rest or name)
