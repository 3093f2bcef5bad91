"""A self-contained release sandbox, so the release playbooks run on a fresh clone.

``create DIR`` makes a bare git origin, a working clone of a tiny app already
released as 1.0.0 (tagged, built, published), a feed folder, a SQLite database and
an ``opsbooks.toml`` pointing the playbooks at them. Nothing leaves loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Annotated

from opsbooks.actions import Arg
from opsbooks_playbooks.actions import ActionError, Version, program, version_arg
from opsbooks_playbooks.actions.artifacts import build
from opsbooks_playbooks.actions.feed import publish
from opsbooks_playbooks.actions.git import check_clean, create_tag, git, push_tag, read_version
from opsbooks_playbooks.actions.signing import KEY_FILE, PUBLIC_FILE, keygen

APP = "demo-app"
FIRST = "1.0.0"
BASE_URL = "http://127.0.0.1:8765/"
TEST_COMMAND = "python -m unittest discover -s tests -t ."

_PYPROJECT = f"""\
[project]
name = "{APP}"
version = "{FIRST}"
description = "A tiny app released by the opsbooks sandbox"
requires-python = ">=3.11"
"""

_CHANGELOG = f"""\
# Changelog

## [{FIRST}] - {{date}}

- First public release: greet people by name.

## [0.9.0] - 2026-10-01

- Beta for early testers.
"""

_SOURCE = '''\
"""The demo app the sandbox releases."""


def greet(name: str) -> str:
    """Greet someone by name."""
    return f"Hello, {name}!"
'''

_TEST = """\
import unittest

import demo_app


class GreetTest(unittest.TestCase):
    def test_greets_by_name(self) -> None:
        self.assertEqual(demo_app.greet("Ada"), "Hello, Ada!")
"""

_USERS = [
    ("ada", "ada@example.invalid"),
    ("grace", "grace@example.invalid"),
    ("linus", "linus@example.invalid"),
]


def _today(date: str) -> str:
    return date or dt.datetime.now(dt.UTC).date().isoformat()


def _q(value: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these values)."""
    return json.dumps(value)


def public_key_of(root: Path) -> str:
    """The sandbox's signing public key (base64), as ``keygen`` wrote it."""
    return (root / "signing" / PUBLIC_FILE).read_text(encoding="ascii").strip()


def config_text(root: Path) -> str:
    """The ``opsbooks.toml`` of a sandbox at ``root`` (absolute paths throughout)."""
    app, feed, dist = root / "app", root / "feed", root / "dist"
    public = public_key_of(root)
    common = {
        "repo": str(app),
        "feed_dir": str(feed),
        "base_url": BASE_URL,
        "signing_public_key": public,
    }
    release = {
        **common,
        "dist_dir": str(dist),
        "test_command": TEST_COMMAND,
        "signing_key_file": str(root / "signing" / KEY_FILE),
    }
    rollback = {**common, "follow_up_dir": str(root / "followups")}
    tables = {"release.deploy": release, "release.hotfix": release, "release.rollback": rollback}
    lines = [
        "# Release sandbox written by `python -m opsbooks_playbooks.actions.sandbox create`.",
        "# Everything is local: git origin, working clone, feed folder, SQLite database.",
        'packages = ["opsbooks_playbooks"]',
        f"state_dir = {_q(str(root / '.opsbooks'))}",
        "",
        "[contacts]",
        'L1 = "Sandbox operator (you)"',
        'L2 = "Release engineering: #release-eng"',
        f'L3 = "Engineering lead of {APP}"',
        "",
        "[notify.default]",
        'type = "file"',
        f"path = {_q(str(root / 'announcements.log'))}",
    ]
    for name, values in tables.items():
        lines += ["", f'[params."{name}"]'] + [f"{k} = {_q(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def _make_db(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
            "email TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        db.executemany(
            "INSERT INTO users (name, email, created_at) VALUES (?, ?, '2026-10-01')", _USERS
        )


def _init_app(root: Path, date: str) -> Path:
    origin, app = root / "origin.git", root / "app"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(root, "init", "--quiet", "--initial-branch=main", str(app))
    for key, value in (
        ("user.name", "Sandbox Release Engineer"),
        ("user.email", "release@sandbox.invalid"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        git(app, "config", key, value)
    git(app, "remote", "add", "origin", str(origin))
    (app / "tests").mkdir()
    (app / "pyproject.toml").write_text(_PYPROJECT)
    (app / "CHANGELOG.md").write_text(_CHANGELOG.format(date=date))
    (app / "demo_app.py").write_text(_SOURCE)
    (app / "tests" / "__init__.py").write_text("")
    (app / "tests" / "test_demo_app.py").write_text(_TEST)
    (app / ".gitignore").write_text("__pycache__/\n")
    git(app, "add", "--all")
    git(app, "commit", "--quiet", "--message", f"{APP} {FIRST}")
    git(app, "push", "--quiet", "--set-upstream", "origin", "main")
    return app


def create(
    root: Annotated[Path, Arg("dir", help="folder for the sandbox (new or empty)")],
    date: Annotated[str, Arg(help="release date of 1.0.0 (default: today UTC)")] = "",
) -> str:
    """Create the sandbox in ``root`` (new or empty) with 1.0.0 released and published."""
    root = root.resolve()
    if root.exists() and any(root.iterdir()):
        raise ActionError(f"{root} is not empty; remove it or choose another folder")
    for folder in reversed([p for p in (root, *root.parents) if not p.exists()]):
        folder.mkdir(mode=0o700, exist_ok=True)  # .opsbooks/sandbox: the state folder is private
    date = _today(date)
    app = _init_app(root, date)
    keygen(root / "signing")  # the demo's key pair: the private key is 0600, outside app/
    create_tag(app, FIRST, f"Release {FIRST}")
    push_tag(app, FIRST)
    build(app, FIRST, root / "dist" / FIRST)
    publish(
        root / "feed",
        FIRST,
        BASE_URL,
        manifest_dir=root / "dist" / FIRST,
        notes="First public release.",
        date=date,
        public_key=public_key_of(root),
        key_file=str(root / "signing" / KEY_FILE),
    )
    _make_db(root / "app.db")
    (root / "opsbooks.toml").write_text(config_text(root))
    return "\n".join(
        [
            f"created release sandbox in {root}:",
            "  origin.git/        bare git origin",
            f"  app/               working clone of {APP}, {FIRST} tagged and pushed",
            f"  dist/{FIRST}/        build of {FIRST} with SHA256SUMS",
            f"  feed/              feed.json + appcast.xml offering {FIRST}, signed",
            "  signing/           Ed25519 key pair signing the releases (private key 0600)",
            "  app.db             SQLite database with a users table",
            "  opsbooks.toml      configuration and param defaults of the release playbooks",
            f"next: python -m opsbooks_playbooks.actions.sandbox bump {root} --version 1.1.0",
        ]
    )


def bump(
    root: Annotated[Path, Arg("dir", help="the sandbox folder")],
    version: Annotated[str, Arg(type=version_arg)],
    notes: Annotated[str, Arg(help="changelog line")] = "",
    date: Annotated[str, Arg(help="changelog date (default: today UTC)")] = "",
) -> str:
    """Commit and push a version bump and changelog entry so ``version`` can be released."""
    app = root / "app"
    check_clean(app)
    current = read_version(app)
    if Version.parse(version) <= Version.parse(current):
        raise ActionError(f"{version} is not newer than the app's version {current}")
    pyproject = app / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', text, count=1))
    changelog = app / "CHANGELOG.md"
    entry = f"## [{version}] - {_today(date)}\n\n- {notes or f'Changes of {version}.'}\n\n"
    head, _, rest = changelog.read_text().partition("## ")
    changelog.write_text(f"{head}{entry}## {rest}")
    git(app, "commit", "--quiet", "--all", "--message", f"Prepare release {version}")
    git(app, "push", "--quiet", "origin", "HEAD")
    return f"{APP} is at {version} (committed and pushed); release it with release.deploy"


PROGRAM = program("sandbox", __doc__)
PROGRAM.command(create)
PROGRAM.command(bump)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.sandbox``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
