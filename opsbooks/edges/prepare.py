"""Call a runbook's ``prepare_project`` hook and load the configuration it points at;
call its ``check_params`` hook once params are bound.

The composition roots call ``prepare_run`` (runs, dry runs, invoke tasks) or
``prepare_resume`` once, before params are bound. The hooks of the runbooks it
includes (``ob.Include``) are called too, once each, after its own: an included
runbook's steps may need what its hook prepares. Whatever goes wrong in a hook
becomes a ``BadInput`` naming the runbook, never a traceback: nothing has run yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from opsbooks.define.hooks import included_runbooks
from opsbooks.define.params import Params
from opsbooks.define.project import Mode, Project
from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Config, load_config
from opsbooks.edges.config_source import find_config_file
from opsbooks.errors import BadInput, OpsbooksError

Say = Callable[[str], None]


def project_of(runbook: type[Runbook], config: Config, say: Say, mode: Mode = "run") -> Project:
    """The ``Project`` the hook of ``runbook`` sees for ``config``."""
    return Project(
        root=config.root,
        source=config.source,
        configured=config.configured,
        settings=MappingProxyType(config.runbook_settings(runbook.name)),
        mode=mode,
        say=say,
    )


def prepare_run(runbook: type[Runbook], config: Config, say: Say, *, dry_run: bool) -> Config:
    """Run the hook for a new run; return the configuration the run uses."""
    return _prepare(runbook, config, say, "dry-run" if dry_run else "run")


def prepare_resume(runbook: type[Runbook], config: Config, say: Say) -> Config:
    """Run the hook for a resume; the run stays with the project that journaled it."""
    prepared = _prepare(runbook, config, say, "resume")
    if prepared.source != config.source:
        raise BadInput(
            f"{runbook.name} is recorded in the journal of {config.source}, but its "
            f"prepare_project hook now points it at {prepared.source}; resume it with the "
            f"configuration it started with (undo that configuration change), or start a "
            f"new run"
        )
    return config


def _prepare(runbook: type[Runbook], config: Config, say: Say, mode: Mode) -> Config:
    """The runbook's hook, then each included runbook's (distinct ones, once each).

    Each sees the configuration chosen so far. The first hook that chooses another
    configuration decides the run's; a later one may choose only that same one, since
    one run journals, locks and reads its inventory in one configuration.
    """
    prepared = _prepare_one(runbook, config, say, mode)
    chosen_by = runbook.name if prepared is not config else ""
    called = {_call_key(runbook, config)}
    for section, child in included_runbooks(runbook):
        key = _call_key(child, prepared)
        if key in called:
            continue  # the same hook with the same settings: it has run
        called.add(key)
        picked = _prepare_one(child, prepared, say, mode)
        if picked is prepared:
            continue
        if chosen_by and picked.source != prepared.source:
            raise BadInput(
                f"{runbook.name} includes {child.name} (section {section}), whose "
                f"prepare_project hook chose {picked.source}, but {chosen_by}'s chose "
                f"{prepared.source}; one run has one configuration: make the hooks agree "
                f"(or let one return None); nothing was run"
            )
        prepared, chosen_by = picked, chosen_by or child.name
    return prepared


def _call_key(runbook: type[Runbook], config: Config) -> tuple[object, str, str]:
    """What makes two calls of a hook the same call: its code, project and settings."""
    hook = getattr(runbook.prepare_project, "__func__", runbook.prepare_project)
    return hook, config.source, repr(sorted(config.runbook_settings(runbook.name).items()))


def _prepare_one(runbook: type[Runbook], config: Config, say: Say, mode: Mode) -> Config:
    project = project_of(runbook, config, say, mode)
    try:
        chosen = runbook.prepare_project(project)
    except OpsbooksError:
        raise
    except Exception as exc:  # the hook is user code; its failure is said, not thrown
        raise BadInput(
            f"{runbook.name} could not prepare its project in {config.root}: "
            f"{exc or type(exc).__name__}; nothing was run"
        ) from None
    if chosen is None:
        return config
    return _load(runbook, project.path(chosen))


def _load(runbook: type[Runbook], target: Path) -> Config:
    """The configuration in ``target``: a config file, or a folder holding one."""
    if target.is_dir():
        found = find_config_file(target)
        if found is None or found[0].parent != target:
            raise BadInput(
                f"{runbook.name}'s prepare_project hook chose {target}, which holds no "
                f"opsbooks.toml (nor a pyproject.toml with [tool.opsbooks]); nothing was run"
            )
        target = found[0]
    if not target.is_file():
        raise BadInput(
            f"{runbook.name}'s prepare_project hook chose {target}, which does not exist; "
            f"nothing was run"
        )
    return load_config(target.parent, file=target)


def check_params(runbook: type[Runbook], params: Params, config: Config) -> None:
    """Call the runbook's ``check_params`` hook; any refusal is a ``BadInput`` (exit 2).

    For new runs and dry runs, after params are bound and before a run is created, so a
    value the project's configuration does not allow leaves no run to abandon.
    """
    seen: dict[str, Any] = config.model_dump()
    try:
        runbook.check_params(params, seen)
    except BadInput:
        raise
    except Exception as exc:  # user code: a ValueError is the usual way to say no
        raise BadInput(
            f"invalid parameters for {runbook.name}; nothing was run: "
            f"{exc or type(exc).__name__}. Run `opsbooks show {runbook.name}` to see every "
            f"parameter."
        ) from None
