"""Who is running: the name recorded with every gate answer and run."""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Mapping


def approver(environ: Mapping[str, str]) -> str:
    """Who answers gates: OPSBOOKS_USER, else the git user, else the OS user."""
    if environ.get("OPSBOOKS_USER"):
        return environ["OPSBOOKS_USER"]
    try:
        found = subprocess.run(
            ["git", "config", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            stdin=subprocess.DEVNULL,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if found:
        return found
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
