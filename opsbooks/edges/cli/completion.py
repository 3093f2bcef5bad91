"""``opsbooks completion bash|zsh|fish`` and the hidden ``opsbooks __complete``.

The printed scripts are thin: on every TAB they call ``opsbooks __complete SHELL -- WORDS...``
with the words typed so far (the last one is the word being completed), and offer the
lines it prints. The candidates (commands, runbook names from the catalog, a runbook's
``--param`` flags and their choices, run options) are computed here, once, for all
three shells.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from opsbooks.edges.catalog_index import load_catalog
from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.config_source import config_source
from opsbooks.edges.discovery import Catalog
from opsbooks.errors import EXIT_OK, OpsbooksError
from opsbooks.run.options import declared

SHELLS = ("bash", "zsh", "fish")

#: commands whose first argument is a runbook name (``lint`` takes several)
NAMED = frozenset({"run", "show", "review", "history", "lint"})

GLOBAL_FLAGS = ("--config", "--help", "--version")

BASH = """\
# opsbooks completion for bash: eval "$(opsbooks completion bash)" in ~/.bashrc
_opsbooks_complete() {
    local IFS=$'\\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete bash -- "${COMP_WORDS[@]:1:COMP_CWORD}" \\
        2>/dev/null))
}
complete -o default -F _opsbooks_complete opsbooks
"""

ZSH = """\
#compdef opsbooks
# opsbooks completion for zsh: eval "$(opsbooks completion zsh)" in ~/.zshrc (after compinit)
_opsbooks_complete() {
    local -a candidates
    candidates=(${(f)"$("${words[1]}" __complete zsh -- "${(@)words[2,CURRENT]}" 2>/dev/null)"})
    compadd -a candidates
}
compdef _opsbooks_complete opsbooks
"""

FISH = """\
# opsbooks completion for fish: opsbooks completion fish > ~/.config/fish/completions/opsbooks.fish
function __opsbooks_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    $words[1] __complete fish -- $words[2..-1] "$current" 2>/dev/null
end
complete -c opsbooks -f -a '(__opsbooks_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def register(subparsers: Subparsers) -> None:
    """Add ``completion`` and the hidden ``__complete`` (no help line: not listed)."""
    completion = subparsers.add_parser(
        "completion", help="print a shell completion script (bash, zsh or fish)"
    )
    completion.add_argument("shell", choices=SHELLS)
    completion.set_defaults(handler=completion_command)

    complete = subparsers.add_parser("__complete")
    complete.add_argument("shell", choices=SHELLS)
    complete.add_argument("words", nargs=argparse.REMAINDER)
    complete.set_defaults(handler=complete_command)


def completion_command(args: argparse.Namespace, app: App) -> int:
    app.out.write(SCRIPTS[args.shell])
    return EXIT_OK


def complete_command(args: argparse.Namespace, app: App) -> int:
    """Print the candidates for the last of ``words``, one a line; a broken catalog or
    config completes nothing rather than print an error into the operator's line."""
    try:
        found = Candidates(app, list(args.words), shell=args.shell).find()
    except OpsbooksError:
        found = []
    for candidate in found:
        app.say(candidate)
    return EXIT_OK


def rejoin(words: Sequence[str]) -> tuple[list[str], bool]:
    """Undo bash's split of ``--flag=value`` at ``=`` (``COMP_WORDBREAKS``): the words as
    typed, and whether the last one was split (bash then replaces only what follows ``=``)."""
    joined: list[str] = []
    split = False
    for word in words:
        last = joined[-1] if joined else ""
        if last.startswith("--") and "=" not in last and word == "=":
            joined[-1] += word
            split = True
        elif last.startswith("--") and last.endswith("=") and last.count("=") == 1 and split:
            joined[-1] += word
        else:
            joined.append(word)
            split = False
    return joined, split


def commands() -> list[str]:
    """The program's commands (those of ``main.COMMAND_OWNERS``), hidden ones left out."""
    from opsbooks.edges.cli.main import COMMAND_OWNERS  # main imports this module lazily

    return sorted(name for name in COMMAND_OWNERS if not name.startswith("_"))


class Candidates:
    """What may come next on a command line, from the words typed so far."""

    def __init__(self, app: App, words: Sequence[str], *, shell: str = "bash") -> None:
        self.app = app
        typed, split = rejoin(words) if shell == "bash" else (list(words), False)
        *self.done, self.current = typed or [""]
        #: ``--flag=`` being completed: its values, shown bare when bash split the word
        self.prefix = ""
        if self.current.startswith("--") and "=" in self.current:
            flag, self.current = self.current.split("=", 1)
            self.done.append(flag)
            self.prefix = "" if split else f"{flag}="
            self.value_only = True
        else:
            self.value_only = False
        self._catalog: Catalog | None = None

    def find(self) -> list[str]:
        found = [c for c in self._pool() if c.startswith(self.current)]
        if self.value_only:  # after ``--flag=`` only a value, never another flag
            found = [c for c in found if not c.startswith("-")]
        return [self.prefix + c for c in found]

    def _pool(self) -> list[str]:
        command, after = self._command()
        if command is None:
            return list(GLOBAL_FLAGS) if self.current.startswith("-") else commands()
        if command == "completion":
            return list(SHELLS) if not after else []
        wants_name = not after or command == "lint"
        if command in NAMED and wants_name and not self.current.startswith("-"):
            return self._runbooks()
        if command == "run" and after:
            return self._run_flags(after[0], after[-1])
        return parser_candidates(command, after)

    def _command(self) -> tuple[str | None, list[str]]:
        """The command word and the words after it; reads ``--config PATH`` on the way."""
        words = iter(self.done)
        for word in words:
            if word == "--config":
                self._use_config(next(words, ""))
            elif word.startswith("--config="):
                self._use_config(word.removeprefix("--config="))
            elif not word.startswith("-"):
                return word, list(words)
        return None, []

    def _use_config(self, path: str) -> None:
        if path:
            from opsbooks.edges.config import validate

            source = config_source(self.app.cwd, file=self.app.cwd / Path(path).expanduser())
            if str(source.root) not in sys.path:
                sys.path.insert(0, str(source.root))
            self._catalog = load_catalog(source, lambda: validate(source))

    def _catalog_now(self) -> Catalog:
        if self._catalog is None:
            self._catalog = self.app.catalog()
        return self._catalog

    def _runbooks(self) -> list[str]:
        return self._catalog_now().names()

    def _run_flags(self, name: str, previous: str) -> list[str]:
        """A runbook's ``--param`` flags and the run options; a choice flag's values."""
        catalog = self._catalog_now()
        if name not in catalog.names():
            return []
        specs = catalog.summary(name).flags
        for spec in specs:
            if previous == spec.flag and spec.kind != "bool":
                return list(spec.choices)
        if previous in {spec.flag for spec in declared("new") if spec.kind != "bool"}:
            return []  # the value of a run option (--answers FILE): the shell's files
        flags: list[str] = []
        for spec in specs:
            flags.append(spec.flag)
            if spec.kind == "bool":
                flags.append(f"--no-{spec.flag.removeprefix('--')}")
        return [*flags, *(spec.flag for spec in declared("new")), "--help"]


def parser_candidates(command: str, after: Sequence[str]) -> list[str]:
    """From ``command``'s own argparse parser: its sub-commands (``evidence verify``) and
    long options, or the choices of the option just typed (none for a free value)."""
    from opsbooks.edges.cli.main import build_parser  # main imports this module lazily

    parser = _sub_parsers(build_parser(command)).get(command)
    if parser is None:
        return []
    for word in after:  # into a nested sub-command once it is typed
        parser = _sub_parsers(parser).get(word, parser)
    previous = after[-1] if after else ""
    for action in parser._actions:
        if previous in action.option_strings and action.nargs != 0:
            return [str(choice) for choice in action.choices or ()]
    nested = [] if set(after) & set(_sub_parsers(parser)) else list(_sub_parsers(parser))
    options = [
        flag
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for flag in action.option_strings
        if flag.startswith("--")
    ]
    return [*nested, *options]


def _sub_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands of ``parser`` by name (hidden ones, ``__complete``, left out)."""
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
        if not name.startswith("_")
    }
