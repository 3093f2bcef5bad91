"""The release runbooks' first use: a local sandbox when the project asks for one.

With no opsbooks configuration at all, or where the configuration asks for it
(``sandbox = "<folder>"`` in ``[settings.release]``, as this repository does), a
release runbook makes a sandbox once (``opsbooks_playbooks.actions.sandbox``) and runs with
its ``opsbooks.toml``. Never otherwise: a project that forgot its release params is
told so, rather than a release quietly happening in a sandbox.
"""

from __future__ import annotations

from pathlib import Path

import opsbooks as ob

#: The key of ``[settings.release]`` naming the sandbox folder (relative to the config).
SETTING = "sandbox"


def sandbox_wanted(project: ob.Project) -> tuple[Path, str] | None:
    """Where the sandbox goes and why, or None when the project wants none."""
    if not project.configured:
        return project.root / ".opsbooks" / "sandbox", "No opsbooks configuration here"
    folder = project.settings.get(SETTING)
    if not folder:
        return None
    if not isinstance(folder, str):
        raise ob.ConfigError(
            f"{project.source}: the release setting {SETTING} = {folder!r} must be a folder "
            f'path, e.g. {SETTING} = ".opsbooks/sandbox"'
        )
    return project.path(folder), f"{project.source} sets {SETTING} = {folder!r} for releases"


class SandboxedRelease(ob.Runbook, abstract=True):
    """Base of the release runbooks: prepares the sandbox on first use when wanted."""

    @classmethod
    def prepare_project(cls, project: ob.Project) -> Path | None:
        wanted = sandbox_wanted(project)
        if wanted is None:
            return None
        target, why = wanted
        config = target / "opsbooks.toml"
        if not config.is_file():
            from opsbooks_playbooks.actions import sandbox  # only now: creating one needs git

            project.say(f"{why}; creating a local release sandbox in {target}")
            sandbox.create(target)
        project.say(f"Using the sandbox configuration {config}")
        return config
