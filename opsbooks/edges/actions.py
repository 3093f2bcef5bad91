"""The action harness: a ``python -m`` program of subcommands, each a typed function.

Runbook steps call helpers as commands, so an operator at 3 a.m. types the same
line. ``Program`` builds the argparse parser from each function's signature, runs
the chosen one, prints what it returns, and turns a failure into one line on stderr
and an exit code (0 done, 1 failed, 2 bad input), never a traceback::

    program = Program("python -m mytools.cache", __doc__)

    @program.command
    def purge(url: Annotated[str, Arg(help="the cache to purge")], dry_run: bool = False) -> Result:
        \"\"\"Purge the cache.\"\"\"
        return Result(f"purged {url}", outputs={"purged": url})

    if __name__ == "__main__":
        raise SystemExit(program.main())

The public import path is ``opsbooks.actions``; docs/guides/writing-runbooks.md has
the rules for mapping annotations to flags.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO, TypeVar, Union, get_args, get_origin
from urllib.parse import unquote, urlsplit

from opsbooks.define.params import REDACTED
from opsbooks.errors import EXIT_BAD_INPUT, EXIT_FAILED, OpsbooksError

__all__ = ["Arg", "Program", "Result", "output_lines"]

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[argparse.Namespace], object]

EXIT_INTERRUPTED = 130
_HANDLER = "_opsbooks_handler"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEQUENCES = (list, tuple, Sequence, Iterable)


@dataclass(frozen=True)
class Arg:
    """How one parameter appears on the command line; put it in ``Annotated[T, Arg(...)]``.

    ``name`` is a flag (``"--dir"``) or, without dashes, a positional (``"dir"``);
    by default the parameter ``feed_dir`` is ``--feed-dir``. ``type`` parses the text
    (raise ``argparse.ArgumentTypeError`` or ``ValueError`` for a bad value: exit 2).
    Parameters sharing a ``one_of`` name form a group of which exactly one is given.
    """

    name: str | None = None
    help: str | None = None
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    one_of: str | None = None


@dataclass(frozen=True)
class Result:
    """What a command prints: a report for people, then its step outputs.

    A command may also return a plain ``str``, printed as it is (build its output
    lines with ``output_lines``); a ``Result``'s text is printed with any line that
    would read as an output indented, so only ``outputs`` publish.
    """

    text: str = ""
    outputs: Mapping[str, object] = field(default_factory=dict)


def output_lines(outputs: Mapping[str, object]) -> str:
    """``::output NAME=VALUE`` lines, as the engine reads them into ``{outputs.NAME}``.

    A name must be an identifier and a value one line, so no value can end the line
    early and publish an output of its own; anything else raises ``ValueError``.
    """
    lines = []
    for name, value in outputs.items():
        text = str(value)
        if not _NAME.fullmatch(name):
            raise ValueError(f"output name {name!r} is not an identifier like target_version")
        if "".join(text.splitlines()) != text:
            raise ValueError(f"output {name} = {text!r} spans lines; an output is one line")
        lines.append(f"::output {name}={text}")
    return "\n".join(lines)


def _defused(text: str) -> str:
    """Indent report lines that would read as outputs: only ``Result.outputs`` publish.

    A report may quote what it found (a commit message, a file), so a line of it
    starting ``::output`` must not publish anything.
    """
    return "\n".join(
        f" {line}" if line.startswith("::output ") else line for line in text.split("\n")
    )


def _rendered(result: object) -> str:
    if result is None:
        return ""
    if isinstance(result, Result):
        parts = [_defused(result.text)] if result.text else []
        if result.outputs:
            parts.append(output_lines(result.outputs))
        return "\n".join(parts)
    return str(result)


def summary(doc: str | None) -> str:
    """The first line of a docstring, without reST markup, for ``--help``."""
    return doc.strip().splitlines()[0].replace("``", "") if doc and doc.strip() else ""


class Program:
    """A command-line program of subcommands: ``prog COMMAND [flags]``.

    ``errors`` maps exception types of your own to exit codes (the nearest class in
    an exception's MRO wins). Built in: an ``OpsbooksError`` exits with its
    ``exit_code``, an ``OSError`` with 1, Ctrl-C with 130, anything else with 1 and a
    line calling it a bug. Passwords in URL arguments are starred in every message.
    """

    def __init__(
        self,
        prog: str,
        doc: str | None = None,
        *,
        errors: Mapping[type[BaseException], int] | None = None,
    ) -> None:
        self.prog = prog
        self._errors = dict(errors or {})
        self._parser = argparse.ArgumentParser(prog=prog, description=summary(doc))
        self._commands = self._parser.add_subparsers(
            dest="action", required=True, metavar="COMMAND"
        )

    def parser(self) -> argparse.ArgumentParser:
        """The argparse parser (for ``--help`` texts, docs and tests)."""
        return self._parser

    def add(self, name: str, handler: Handler, doc: str | None = None) -> argparse.ArgumentParser:
        """Add a subcommand whose arguments you add to the returned parser yourself.

        ``handler`` receives the parsed ``argparse.Namespace``; the first line of
        ``doc`` is the subcommand's help.
        """
        text = summary(doc)
        listed = text.replace("%", "%%") if text else text  # argparse %-formats help texts
        parser = self._commands.add_parser(name, help=listed, description=text)
        parser.set_defaults(**{_HANDLER: handler})
        return parser

    @typing.overload
    def command(self, func: F, /, *, name: str | None = None) -> F: ...

    @typing.overload
    def command(self, func: None = None, /, *, name: str | None = None) -> Callable[[F], F]: ...

    def command(self, func: F | None = None, /, *, name: str | None = None) -> Any:
        """Add ``func`` as a subcommand (``check_clean`` is ``check-clean``); flags from
        its signature, help from its docstring. Returns ``func`` unchanged."""

        def register(target: F) -> F:
            params = _params(target)
            command = name or target.__name__.replace("_", "-")
            parser = self.add(command, _caller(target, params), target.__doc__)
            groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
            for param in params:
                _add_argument(parser, groups, param)
            return target

        return register if func is None else register(func)

    def main(
        self,
        argv: Sequence[str] | None = None,
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> int:
        """Parse ``argv``, run the command, print its report; return the exit code."""
        out, err = out or sys.stdout, err or sys.stderr
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                args = self._parser.parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error (2), already printed
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        try:
            text = _rendered(getattr(args, _HANDLER)(args))
        except KeyboardInterrupt:
            print(f"{args.action}: interrupted", file=err)
            return EXIT_INTERRUPTED
        except Exception as exc:  # the border: said in one line, never a traceback
            code, message = self._failure(exc)
            print(f"{args.action}: {_starred(message, args)}", file=err)
            return code
        if text:
            try:
                print(text, file=out)
                out.flush()
            except BrokenPipeError:  # `... | head`: the reader has what it wanted
                _quiet_broken_pipe(out)
        return 0

    def _failure(self, exc: Exception) -> tuple[int, str]:
        message = str(exc) or type(exc).__name__
        for klass in type(exc).__mro__:
            if klass in self._errors:
                return self._errors[klass], message
        if isinstance(exc, OpsbooksError):
            return exc.exit_code, message
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            return EXIT_FAILED, f"{reason}: {exc.filename}" if exc.filename else reason
        return EXIT_FAILED, f"unexpected {type(exc).__name__}: {message} (a bug in {self.prog})"


@dataclass(frozen=True)
class _Param:
    name: str
    base: Any
    arg: Arg
    default: Any
    positional_only: bool

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


def _params(func: Callable[..., Any]) -> list[_Param]:
    hints = typing.get_type_hints(func, include_extras=True)
    found = []
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{func.__name__}: *{param.name} cannot be a command-line argument")
        base, arg = _unwrapped(hints.get(param.name, str))
        positional_only = param.kind is param.POSITIONAL_ONLY
        found.append(_Param(param.name, base, arg, param.default, positional_only))
    return found


def _unwrapped(annotation: Any) -> tuple[Any, Arg]:
    """``Annotated[T | None, Arg(...)]`` -> ``(T, Arg(...))``."""
    arg = Arg()
    if get_origin(annotation) is Annotated:
        annotation, *extras = get_args(annotation)
        arg = next((extra for extra in extras if isinstance(extra, Arg)), arg)
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else str
    return annotation, arg


def _caller(func: Callable[..., Any], params: list[_Param]) -> Handler:
    def call(args: argparse.Namespace) -> object:
        positional = [getattr(args, p.name) for p in params if p.positional_only]
        named = {p.name: getattr(args, p.name) for p in params if not p.positional_only}
        return func(*positional, **named)

    return call


def _converter(kind: Any) -> Callable[[str], Any]:
    if kind in (str, Any) or not callable(kind):
        return str
    return typing.cast("Callable[[str], Any]", kind)


def _add_argument(
    parser: argparse.ArgumentParser,
    groups: dict[str, argparse._MutuallyExclusiveGroup],
    param: _Param,
) -> None:
    name = param.arg.name or f"--{param.name.replace('_', '-')}"
    options = _value_options(param)
    if param.arg.help is not None:  # argparse formats help with %: "90%" must stay text
        options["help"] = param.arg.help.replace("%", "%%")
    if name.startswith("-"):
        _add_flag(_group_of(parser, groups, param), name, param, options)
    else:
        _add_positional(parser, name, param, options)


def _group_of(
    parser: argparse.ArgumentParser,
    groups: dict[str, argparse._MutuallyExclusiveGroup],
    param: _Param,
) -> argparse.ArgumentParser | argparse._MutuallyExclusiveGroup:
    """The parser, or the exactly-one-of group the parameter belongs to."""
    key = param.arg.one_of
    if key is None:
        return parser
    if key not in groups:
        groups[key] = parser.add_mutually_exclusive_group(required=True)
    return groups[key]


def _add_flag(
    target: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup,
    name: str,
    param: _Param,
    options: dict[str, Any],
) -> None:
    takes_value = options.get("action") in (None, "append") and "choices" not in options
    if param.arg.metavar or takes_value:
        options["metavar"] = param.arg.metavar or name.lstrip("-").replace("-", "_").upper()
    if param.required:
        options["required"] = param.arg.one_of is None
    else:
        options["default"] = [] if options.get("action") == "append" else param.default
    target.add_argument(name, dest=param.name, **options)


def _add_positional(
    parser: argparse.ArgumentParser, name: str, param: _Param, options: dict[str, Any]
) -> None:
    if options.pop("action", None) == "append":
        options["nargs"] = "+" if param.required else "*"
    elif not param.required:
        options["nargs"] = "?"
    if not param.required:
        options["default"] = param.default
    options.setdefault("metavar", param.arg.metavar or name)
    parser.add_argument(param.name, **options)


def _value_options(param: _Param) -> dict[str, Any]:
    """argparse keywords for the parameter's type: a flag, a list, a choice or a value."""
    base, origin = param.base, get_origin(param.base)
    if base is bool:
        action = argparse.BooleanOptionalAction if param.default is True else "store_true"
        return {"action": action}
    if origin in _SEQUENCES or base in (list, tuple):
        item = (get_args(base) or (str,))[0]
        return {"action": "append", "type": param.arg.type or _converter(item)}
    if origin is Literal:
        choices = get_args(base)
        return {"choices": choices, "type": param.arg.type or _converter(type(choices[0]))}
    return {"type": param.arg.type or _converter(base)}


def _quiet_broken_pipe(out: TextIO) -> None:
    """Point a closed pipe at /dev/null, so flushing it at exit prints no traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())


def _starred(message: str, args: argparse.Namespace) -> str:
    """``message`` with every password of a URL argument replaced by stars."""
    for secret in _url_passwords(vars(args).values()):
        message = message.replace(secret, REDACTED)
    return message


def _url_passwords(values: Iterable[object]) -> list[str]:
    found: list[str] = []
    for value in values:
        if isinstance(value, list | tuple):
            found += _url_passwords(value)
        elif isinstance(value, str | Path) and "://" in str(value):
            try:
                password = urlsplit(str(value)).password
            except ValueError:
                continue
            if password:
                found += [password, unquote(password)]
    return sorted(set(found), key=len, reverse=True)
