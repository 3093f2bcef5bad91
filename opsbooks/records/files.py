"""Private record files: folders created 0700, files 0600, never through a symlink.

The state folder holds the journal, the audit files and reports: who approved what,
what ran, with which (redacted) values. Its paths are predictable
(``.opsbooks/runs/<id>.jsonl``), so a symlink planted there would make opsbooks
write (or chmod) a file of the attacker's choosing. Every path is checked with
``lstat`` and opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from opsbooks.errors import JournalError

FILE_MODE = 0o600
DIR_MODE = 0o700


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def plain_name(name: str, what: str) -> str:
    """Return ``name`` if it is safe as one file name in a folder; else ``JournalError``."""
    if not _PLAIN.fullmatch(name):
        raise JournalError(
            f"{what} {name!r} cannot name a file: it would reach outside its folder. The "
            f"journal may have been edited; check it."
        )
    return name


def private_dir(path: Path) -> None:
    """Create ``path`` and each missing parent with mode 0700 (existing ones stay as they are)."""
    missing = []
    here = path
    while not os.path.lexists(here) and here != here.parent:
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue


def refuse_symlink(path: Path, what: str) -> None:
    """Raise ``JournalError`` if ``path`` is a symlink (a missing path is fine)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise JournalError(f"the {what} at {path} cannot be checked ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise JournalError(
            f"the {what} at {path} is a symbolic link; opsbooks does not follow links in "
            f"its state folder (someone could point it at another file). Remove the link "
            f"(or move the real file there) and run again."
        )


def open_private(path: Path, what: str, *, append: bool = True) -> int:
    """Open (creating 0600) ``path`` for writing without following a symlink; the fd."""
    refuse_symlink(path, what)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_APPEND if append else os.O_TRUNC
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link between the check and the open
            refuse_symlink(path, what)
        raise JournalError(f"the {what} at {path} cannot be opened ({exc.strerror})") from None
    tighten(fd)
    return fd


def tighten(fd: int) -> None:
    """Drop group and other permissions of an open file of ours (an older 0644 file)."""
    info = os.fstat(fd)
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~0o077)


def private_file(path: Path, what: str) -> None:
    """Make sure ``path`` exists as a private file of ours, creating it 0600."""
    os.close(open_private(path, what))


def tighten_existing(path: Path, what: str) -> None:
    """Make an existing file (not a link) private; a missing one is fine.

    It never opens the file: closing any descriptor of an SQLite file drops every POSIX
    lock this process holds on it, so opening the journal a second time in a process (the
    lease heartbeat's own connection) would let another process believe it was the last
    one and delete the WAL the first connection still writes to. ``lstat`` then ``chmod``
    by path, in the 0700 state folder, keeps the no-symlink rule without a descriptor.
    """
    refuse_symlink(path, what)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise JournalError(f"the {what} at {path} cannot be read ({exc.strerror})") from None
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        try:
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077)
        except OSError as exc:
            raise JournalError(
                f"the {what} at {path} cannot be made private ({exc.strerror})"
            ) from None
