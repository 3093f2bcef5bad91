"""The public in-process API: ``opsbooks.run`` and ``opsbooks.resume``, for scripts and
notebooks.

A composition root like the CLI: it reads the configuration, the environment and the
working directory, then hands the same ``Invocation`` or ``ResumeRequest`` to the same
``edges.session`` entry that ``opsbooks run``, ``opsbooks resume``, the invoke tasks and
the drill harness use. So a run started here has the CLI's journal, audit trail, lock,
redaction, params check and preflight; bad input raises the CLI's ``BadInput`` (an
exception, never ``sys.exit``), and a run that fails returns its ``RunReport``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from opsbooks.define.params import Params
from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Config, load_config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import (
    Invocation,
    ResumeRequest,
    Surroundings,
    load_catalog,
    resume_run,
    start_run,
)
from opsbooks.errors import BadInput, GateStopped, OpsbooksError, ParamsError
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport

__all__ = ["resume", "run"]

ConfigLike = Config | str | os.PathLike[str] | None


def run(
    runbook: str | type[Runbook],
    params: Mapping[str, Any] | Params | None = None,
    *,
    answers: Mapping[str, Any] | None = None,
    journal: str | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    operator: str | None = None,
    config: ConfigLike = None,
    force: bool = False,
    yes: bool = False,
    output: TextIO | None = None,
    interactive: bool = False,
) -> RunReport:
    """Run ``runbook`` (a class, or a ``category.name`` of the configured catalog) to its end.

    ``params`` is a mapping or an instance of the runbook's ``Params``; ``answers`` maps a
    gate's step id to its answer, as an ``--answers`` file does. ``journal`` (a URL) and
    ``state_dir`` override the configuration, which is ``config`` (a ``Config``, or the
    path of an ``opsbooks.toml`` or ``pyproject.toml``) or else the nearest one above the
    working directory. ``operator`` is the name recorded with the run and every answer
    (default: ``OPSBOOKS_USER``, the git user, the OS user). The console goes to
    ``output`` (default ``sys.stdout``). A gate nobody answered stops the run (outcome
    ``stopped``, exit code 3) unless ``interactive`` lets a person answer on stdin.
    ``force`` takes the lock of a crashed run whose process is gone, as ``--force`` does.

    Raises ``BadInput`` (``ParamsError``, ``AnswersError``, ``UnknownRunbook``,
    ``LockHeld`` ...) before any step runs; returns the report of a run that ran,
    succeeded or not.
    """
    settings = _config(config, journal, state_dir)
    catalog, outside = _catalog(settings, runbook)
    name = runbook if isinstance(runbook, str) else runbook.name
    invocation = Invocation(
        runbook=name,
        params=_values(catalog.get(name), params),
        options=RunOptions(yes=yes, force=force),
    )
    surroundings = _surroundings(answers, operator, output, interactive)
    with _in_api_words():
        report = start_run(invocation, settings, surroundings, catalog)
    if report is None:  # only a dry run returns none, and this API never asks for one
        raise BadInput(f"{name} did not run; use `opsbooks run {name} --dry-run` for a plan")
    return _api_report(report, outside)


def resume(
    run_id: str,
    *,
    answers: Mapping[str, Any] | None = None,
    journal: str | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    operator: str | None = None,
    config: ConfigLike = None,
    force: bool = False,
    yes: bool = False,
    mark_done: Mapping[str, str] | None = None,
    secrets: Mapping[str, str | SecretStr] | None = None,
    runbooks: Iterable[type[Runbook]] = (),
    output: TextIO | None = None,
    interactive: bool = False,
) -> RunReport:
    """Continue a failed, stopped or crashed run (``run_id`` or a unique prefix of it).

    As ``opsbooks resume``: steps that succeeded are not run again; ``force`` takes the
    lock of a crashed run whose process is gone; ``mark_done`` maps a step id to the
    reason it counts as done by hand. The journal never holds a secret param, so
    ``secrets`` gives them again by name (as ``OPSBOOKS_SECRET_<NAME>`` does for the CLI);
    a secret that is missing is ``BadInput``. ``runbooks`` are classes that are not in the
    configured packages (one defined in a notebook and passed to ``run`` as a class).
    The other keywords are those of ``run``.
    """
    settings = _config(config, journal, state_dir)
    catalog = load_catalog(settings)
    extra = [rb for rb in runbooks if rb not in catalog]
    if extra:
        catalog = Catalog([*catalog, *extra])
    marked = dict(mark_done or {})
    reason = "; ".join(dict.fromkeys(marked.values())) or None
    if marked and not reason:
        raise BadInput("mark_done needs a reason for each step: {step_id: 'why it is done'}")
    options = RunOptions(yes=yes, force=force, mark_done=tuple(marked), reason=reason)
    request = ResumeRequest(run_id=run_id, options=options)
    surroundings = _surroundings(answers, operator, output, interactive, secrets)
    with _in_api_words():
        report = resume_run(request, settings, surroundings, catalog)
    return _api_report(report, [rb for rb in extra if rb.name == report.runbook])


#: the CLI's words in an error or a report, and the keyword this API takes instead
_API_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"`opsbooks resume ([\w-]+)`"), r"`opsbooks.resume('\1')`"),
    (re.compile(r"`([\w.:-]+): yes` in --answers"), r"answers={'\1': True}"),
    (re.compile(r"--force\b"), "force=True"),
    (re.compile(r"--mark-done\b"), "mark_done"),
    (re.compile(r"--yes\b"), "yes=True"),
    (
        re.compile(r"--answers FILE \(a YAML or JSON mapping, e\.g\. `([^`]+?): \.\.\.`\)"),
        r"answers={'\1': ...}",
    ),
    (re.compile(r"resume the run from a terminal"), "resume it with interactive=True"),
    (
        re.compile(
            r"secret parameter '(\w+)'(.*?); set OPSBOOKS_SECRET_\w+ in the environment or "
            r"resume from a terminal"
        ),
        r"secret parameter '\1'\2; pass secrets={'\1': ...} to opsbooks.resume(), or "
        r"interactive=True to be asked for it",
    ),
)
#: a ParamsError line names the flag (``  --dry-run-id: ...``); this API takes the field
_FLAG_LINE = re.compile(r"^(\s*)--([a-z0-9][a-z0-9-]*):", re.MULTILINE)


def api_words(message: str) -> str:
    """``message`` (built for the command line) in this API's words: keywords, not flags."""
    message = _FLAG_LINE.sub(lambda m: f"{m[1]}{m[2].replace('-', '_')}:", message)
    for pattern, replacement in _API_WORDS:
        message = pattern.sub(replacement, message)
    return message


def _translate(exc: OpsbooksError) -> None:
    """Reword ``exc`` in place: same type, same attributes, this API's words."""
    exc.args = (api_words(str(exc)), *exc.args[1:])
    if isinstance(exc, ParamsError):
        exc.problems = [api_words(problem) for problem in exc.problems]
    if isinstance(exc, GateStopped):
        exc.reason = api_words(exc.reason)


@contextlib.contextmanager
def _in_api_words() -> Iterator[None]:
    """Raise the session's errors in this API's words (the CLI's builders, reworded once)."""
    try:
        yield
    except OpsbooksError as exc:
        _translate(exc)
        raise


def _api_report(report: RunReport, outside: Sequence[type[Runbook]]) -> RunReport:
    """The report in this API's words; a class outside the catalog resumes from Python."""
    if report.error is not None:
        _translate(report.error)
    command = report.resume_command
    if command and outside:
        classes = ", ".join(rb.__qualname__ for rb in outside)
        command = f"opsbooks.resume({report.run_id!r}, runbooks=[{classes}])"
    return dataclasses.replace(report, reason=api_words(report.reason), resume_command=command)


def _config(
    given: ConfigLike, journal: str | None, state_dir: str | os.PathLike[str] | None
) -> Config:
    """The configuration to run with; the caller's ``Config`` is copied, never changed."""
    if isinstance(given, Config):
        config = given.model_copy(deep=True)
        config.root = given.root
        config.source = given.source
    elif given is None:
        config = load_config(Path.cwd())
    else:
        config = load_config(Path.cwd(), file=Path(given).expanduser())
    if journal is not None:
        config.journal = journal
    if state_dir is not None:
        config.state_dir = str(Path(state_dir).expanduser().resolve())
    return config


def _catalog(config: Config, runbook: str | type[Runbook]) -> tuple[Catalog, list[type[Runbook]]]:
    """The configured catalog plus ``runbook`` when it is a class from elsewhere, and the
    classes added so (their runs resume from Python with ``runbooks=[...]``)."""
    catalog = load_catalog(config)
    if isinstance(runbook, str) or runbook in catalog:
        return catalog, []
    if not (isinstance(runbook, type) and issubclass(runbook, Runbook)):
        raise BadInput(
            f"opsbooks.run() takes a Runbook subclass or a runbook name, not {runbook!r}"
        )
    return Catalog([*catalog, runbook]), [runbook]


def _values(runbook: type[Runbook], params: Mapping[str, Any] | Params | None) -> dict[str, Any]:
    """Params as the mapping the session validates (the fields an instance was given)."""
    if params is None:
        return {}
    if isinstance(params, Params):
        if not isinstance(params, runbook.Params):
            raise BadInput(
                f"params for {runbook.name} must be a mapping or a "
                f"{runbook.Params.__qualname__}, not a {type(params).__qualname__}"
            )
        return {name: getattr(params, name) for name in params.model_fields_set}
    if not isinstance(params, Mapping):
        raise BadInput(
            f"params for {runbook.name} must be a mapping of field name to value or a "
            f"{runbook.Params.__qualname__}, not {type(params).__name__}"
        )
    return dict(params)


def _surroundings(
    answers: Mapping[str, Any] | None,
    operator: str | None,
    output: TextIO | None,
    interactive: bool,
    secrets: Mapping[str, str | SecretStr] | None = None,
) -> Surroundings:
    environ = dict(os.environ)
    for name, value in (secrets or {}).items():  # where bind_params looks for secrets
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        environ[f"OPSBOOKS_SECRET_{name.upper()}"] = plain
    if operator:
        environ["OPSBOOKS_USER"] = operator
    return Surroundings(
        stdin=sys.stdin if interactive else io.StringIO(),
        stdout=output or sys.stdout,
        environ=environ,
        interactive=interactive,
        scripted=dict(answers or {}),
    )


class LayerEntry:
    """``opsbooks.run``: the ``run`` function, which also answers for the attributes of the
    run layer (the ``opsbooks.run`` subpackage it shadows), so ``import opsbooks.run.x as y``
    and dotted paths such as ``"opsbooks.run.execute.execute"`` keep resolving."""

    def __init__(self, function: Callable[..., RunReport]) -> None:
        functools.update_wrapper(self, function)
        self._function = function

    def __call__(self, *args: Any, **kwargs: Any) -> RunReport:
        return self._function(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(sys.modules["opsbooks.run"], name)
        except AttributeError:
            raise AttributeError(f"opsbooks.run has no attribute {name!r}") from None

    def __repr__(self) -> str:
        return f"<function opsbooks.run{self._function.__qualname__.removeprefix('run')}>"


#: what ``opsbooks.run`` is (``opsbooks/__init__.py`` serves it)
run_entry = LayerEntry(run)
