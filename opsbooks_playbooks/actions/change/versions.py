"""What version of a package is installed, and whether it is older than a fixed version.

Debian packages are read with ``dpkg-query -W -f '${Version}' PKG`` and compared with
``dpkg --compare-versions`` (epochs, ``~`` and revisions as dpkg orders them); Python
distributions with ``importlib.metadata`` and PEP 440 ordering; a deployed service
from its VERSION file, compared as dotted numbers.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from pathlib import Path

from opsbooks_playbooks.actions import ActionError

ECOSYSTEMS = ("dpkg", "python", "file")


def installed_version(ecosystem: str, package: str) -> str:
    """The installed version of ``package``; an ActionError if it is not installed."""
    if ecosystem == "dpkg":
        out = _dpkg_query(package)
    elif ecosystem == "python":
        try:
            out = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            raise ActionError(f"Python distribution {package} is not installed here") from None
    elif ecosystem == "file":
        try:
            out = Path(package).read_text().strip()
        except OSError as exc:
            raise ActionError(f"cannot read the deployed version file {package}: {exc}") from None
    else:
        raise ActionError(f"unknown ecosystem {ecosystem!r}; valid: {', '.join(ECOSYSTEMS)}")
    if not out.strip():
        raise ActionError(f"{package} reports no version ({ecosystem}); is it installed?")
    return out.strip()


def _dpkg_query(package: str) -> str:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ActionError(f"Debian package {package} is not installed here (dpkg-query -W)")
    return proc.stdout


def older_than(ecosystem: str, installed: str, fixed: str) -> bool:
    """Whether ``installed`` sorts before ``fixed`` in the ecosystem's ordering."""
    if ecosystem == "dpkg":
        proc = subprocess.run(["dpkg", "--compare-versions", installed, "lt", fixed], check=False)
        if proc.returncode not in (0, 1):
            raise ActionError(f"dpkg cannot compare {installed!r} with {fixed!r}")
        return proc.returncode == 0
    if ecosystem == "python":
        from packaging.version import InvalidVersion, Version

        try:
            return Version(installed) < Version(fixed)
        except InvalidVersion as exc:
            raise ActionError(f"not a PEP 440 version: {exc}") from None
    return _numbers(installed) < _numbers(fixed)


def _numbers(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text)
    if not parts:
        raise ActionError(f"{text!r} has no version numbers to compare")
    return tuple(int(p) for p in parts)
