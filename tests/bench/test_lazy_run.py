"""A local-only ``opsbooks run`` imports only what its plan needs (issue 18, row 1).

No SSH (paramiko, fabric, cryptography, nacl, ``backends.ssh``, ``backends.hosts``,
the roll-out, the host step kinds of ``define.remote``), no PostgreSQL journal code for
a SQLite journal, no webhook client (``urllib.request``), no retry library for steps that
do not retry, no ``regex`` without secret patterns, no page renderer: each is imported
by the code that uses it, when it is used. One fresh interpreter runs the CLI's
``main`` in-process and prints what it loaded, so the figure is what a user's run
loads (about a second; the rest of the tier cannot see a fresh ``sys.modules``).

``asyncio`` is not on the list: invoke's ``context`` imports ``unittest.mock``, which
imports it, and ``backends.local`` runs commands through invoke's runner.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: what a local plan must not load: third-party top-level names and opsbooks modules
NOT_LOADED = (
    "paramiko",
    "fabric",
    "cryptography",
    "nacl",
    "urllib.request",
    "http.client",
    "tenacity",
    "regex",
    "opsbooks.backends.ssh",
    "opsbooks.backends.hosts",
    "opsbooks.backends.rollout",
    "opsbooks.backends.signing",
    "opsbooks.run.remote_steps",
    "opsbooks.run.approvals",
    "opsbooks.render.catalog",
    "opsbooks.render.dryrun",
    "opsbooks.render.markdown",
    # round 4: the host step kinds and their checks, the PostgreSQL journal
    "opsbooks.define.remote",
    "opsbooks.define.checks_remote",
    "opsbooks.records.journal.postgres",
)

PROBE = """
import os, sys
from opsbooks.edges.cli.main import main
code = main(sys.argv[1:])
wanted = tuple(os.environ["WATCHED"].split(","))
print("CODE=%s" % code)
print("LOADED=" + ",".join(sorted(m for m in sys.modules if m.startswith(wanted))))
"""

RUNBOOK = '''"""Two local steps."""

import opsbooks as ob


class Local(ob.Runbook):
    """Run two local steps."""

    scope = "tests"
    owner = "sre"
    last_reviewed = "2026-12-01"

    first = ob.Command("true")

    @ob.step(title="Nothing")
    def nothing(self, ctx: ob.StepContext) -> None:
        return None
'''


def _loaded_by_run(root: Path, *watched: str) -> tuple[str, list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "run", "ops.local", "--yes"],
        cwd=root,
        env={**os.environ, "WATCHED": ",".join(watched)},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.splitlines()
    code = next((x.removeprefix("CODE=") for x in lines if x.startswith("CODE=")), "?")
    loaded = next((x.removeprefix("LOADED=") for x in lines if x.startswith("LOADED=")), "")
    return code, [m for m in loaded.split(",") if m], done.stdout + done.stderr


def test_a_local_run_loads_no_ssh_webhook_retry_or_render_code(tmp_path: Path) -> None:
    books = tmp_path / "lazyrun"
    (books / "ops").mkdir(parents=True)
    (books / "__init__.py").write_text("")
    (books / "ops" / "__init__.py").write_text("")
    (books / "ops" / "local.py").write_text(RUNBOOK)
    (tmp_path / "opsbooks.toml").write_text('packages = ["lazyrun"]\n')
    # the run's own code is loaded (so the probe sees the run), the list is not
    code, loaded, output = _loaded_by_run(
        tmp_path, "opsbooks.run.runner", "opsbooks.backends.local", "invoke", *NOT_LOADED
    )
    assert code == "0", output
    assert {"opsbooks.run.runner", "opsbooks.backends.local", "invoke"} <= set(loaded), output
    assert [m for m in loaded if m.startswith(NOT_LOADED)] == []
