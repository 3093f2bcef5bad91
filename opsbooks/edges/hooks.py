"""Load step hooks: project plugins (config ``hooks``, entry points) and the runbook's own.

A plugin is named ``"package.module:Name"`` in the ``hooks`` list of the opsbooks
configuration, or registered by an installed distribution under the entry point group
``opsbooks.hooks``. ``Name`` is a class (instantiated with no arguments) or an object
with any of ``before_step``, ``after_step``, ``around_step``. Every problem (a module
that does not import, a missing name, a wrong signature) is a ``ConfigError`` before
any step runs. Order, outermost first: config plugins, entry points, the runbook's
methods, then those of each runbook it includes (around that section's steps only);
so a project's timing hook also times what the runbook's own hook does.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from opsbooks.define.hooks import HOOK_METHODS, hook_methods, included_runbooks, signature_problem
from opsbooks.define.runbook import Runbook
from opsbooks.define.specs import RemoteSpec
from opsbooks.edges.config import Config
from opsbooks.errors import ConfigError, OpsbooksError
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.run.hooks import HostsOf, NamedHook, StepHooks

ENTRY_POINT_GROUP = "opsbooks.hooks"
_FIX = "fix the `hooks` list of the opsbooks configuration (see docs/guides/hooks.md)"

EntryPoints = Callable[[], Iterable[importlib.metadata.EntryPoint]]


def _installed() -> Iterable[importlib.metadata.EntryPoint]:
    if not _may_declare(ENTRY_POINT_GROUP.encode()):
        return ()
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def _may_declare(group: bytes) -> bool:
    """Whether any installed distribution's ``entry_points.txt`` may name ``group``.

    ``entry_points()`` reads every distribution's metadata (about 7 ms on every run,
    most of it parsing ``METADATA`` files for names); reading only the
    ``entry_points.txt`` files it would read costs about 1.5 ms and proves the common
    case, no plugin at all, on every run, so no cache can go stale when a plugin is
    installed. Anything this does not read as ``importlib.metadata`` would (a zip or
    egg on ``sys.path``, another finder of distributions) answers yes: the full scan.
    """
    if any(
        hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
        for finder in sys.meta_path
    ):
        return True
    for entry in sys.path:
        if not isinstance(entry, str):
            return True  # a path object or bytes: let importlib.metadata read it
        folder = entry or "."
        if folder.lower().endswith(".egg") or os.path.isfile(folder):
            return True
        if _folder_declares(folder, group):
            return True
    return False


def _folder_declares(folder: str, group: bytes) -> bool:
    try:
        names = os.listdir(folder)
    except OSError:
        return False  # a missing folder on sys.path holds no distribution
    for name in names:
        if not name.lower().endswith((".dist-info", ".egg-info")):
            continue
        try:
            with open(os.path.join(folder, name, "entry_points.txt"), "rb") as file:
                if group in file.read():
                    return True
        except OSError:
            continue  # no entry points (or a PKG-INFO file, not a folder)
    return False


def load_hooks(
    config: Config,
    bound: Plan,
    *,
    entry_points: EntryPoints = _installed,
    runbook: type[Runbook] | None = None,
) -> StepHooks:
    """Every hook of a run of ``bound``, checked; raise ``ConfigError`` on the first problem.

    With ``runbook`` (the class ``bound`` was planned from), each runbook it includes
    brings its own hook methods, called (innermost) around that section's steps only.
    """
    where = f"in {config.source}" if config.configured else "in the configuration"
    hooks = [_plugin(spec, _imported(spec), where) for spec in config.hooks]
    named = set(config.hooks)
    for point in entry_points():
        if point.value in named:
            continue  # listed in the config too: called once, in the config's place
        named.add(point.value)
        hooks.append(_plugin(point.value, _loaded(point), f"entry point {point.name!r}"))
    for instance in bound.hooks:
        methods = hook_methods(instance)
        hooks.append(NamedHook(f"{bound.name}.{type(instance).__name__}", methods))
    hooks += _included(bound, runbook)
    if not hooks:
        return StepHooks()
    return StepHooks(tuple(hooks), hosts_of=_hosts_lister(bound, config))


def _included(bound: Plan, runbook: type[Runbook] | None) -> list[NamedHook]:
    """The hook methods of each included runbook, bound to its own params in this run.

    The instance is made as the plan makes it for the included steps (``own_params``),
    so ``self.params`` in a hook is the included runbook's params, not the parent's.
    """
    if runbook is None:
        return []
    found: list[NamedHook] = []
    for section, child in included_runbooks(runbook):
        if not hook_methods(child):
            continue
        params = next(
            (
                planned.own_params
                for planned in bound.steps
                if planned.own_params is not None
                and type(planned.own_params) is child.Params
                and planned.id.startswith(section + ".")
            ),
            None,
        )
        if params is None:
            continue  # planned without values (a page): no run to hook into
        methods = hook_methods(child(params))
        found.append(NamedHook(f"{child.name}.{child.__name__}", methods, section=section))
    return found


def describe(hooks: StepHooks) -> str:
    """One line for the dry run: which hooks will run around each step (or nothing)."""
    if not hooks.hooks:
        return ""

    def one(hook: NamedHook) -> str:
        where = f", section {hook.section} only" if hook.section else ""
        return f"{hook.name} ({', '.join(sorted(hook.methods))}{where})"

    listed = ", ".join(one(h) for h in hooks.hooks)
    return f"Hooks around each step (outermost first; not around undo steps): {listed}\n"


def _imported(spec: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"hook {spec!r} is not 'package.module:Name'; {_FIX}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time error of the user's module
        raise ConfigError(
            f"hook {spec!r}: module {module_name!r} does not import "
            f"({type(exc).__name__}: {exc}); install it or put it in the project folder, "
            f"or {_FIX}"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"hook {spec!r}: {module_name} has no {attr!r}; {_FIX}") from None


def _loaded(point: importlib.metadata.EntryPoint) -> Any:
    try:
        return point.load()
    except Exception as exc:
        raise ConfigError(
            f"hook entry point {point.name!r} ({point.value}) of group {ENTRY_POINT_GROUP!r} "
            f"does not load ({type(exc).__name__}: {exc}); fix or uninstall the package "
            f"that registers it"
        ) from None


def _plugin(spec: str, found: Any, where: str) -> NamedHook:
    """Instantiate a hook class, check each hook method's signature, name the result."""
    target = found
    if isinstance(found, type):
        try:
            target = found()
        except Exception as exc:
            raise ConfigError(
                f"hook {spec!r} ({where}): {found.__name__}() failed "
                f"({type(exc).__name__}: {exc}); a hook class is created with no arguments"
            ) from None
    methods = hook_methods(target)
    if not methods:
        raise ConfigError(
            f"hook {spec!r} ({where}) defines none of {', '.join(HOOK_METHODS)}; {_FIX}"
        )
    for name, method in methods.items():
        problem = signature_problem(name, method, bound=True)
        if problem is not None:
            raise ConfigError(f"hook {spec!r} ({where}): {problem}")
    return NamedHook(spec, methods)


def _hosts_lister(bound: Plan, config: Config) -> HostsOf:
    """The hosts a remote step targets, for ``StepView.hosts`` (none for local steps)."""
    roles = {p.spec.role for p in bound.steps if isinstance(p.spec, RemoteSpec)}
    if not roles:
        return lambda planned: ()
    from opsbooks.backends.hosts.inventory import Inventory

    inventory = Inventory.from_config(config)

    def hosts_of(planned: PlannedStep) -> tuple[str, ...]:
        spec = planned.spec
        if not isinstance(spec, RemoteSpec):
            return ()
        try:
            return tuple(host.name for host in inventory.hosts_for(spec.role))
        except OpsbooksError:  # a role bound at run time, checked elsewhere
            return ()

    return hosts_of
