"""The catalog index: what listing needs, cached by the content of the modules it read.

Listing the catalog (``opsbooks list``, ``invoke --list``, completion, a task's
``--help``) used to import every runbook module, and with them pydantic: most of the
start-up (bench row 3). The index, ``<state_dir>/catalog-index.json`` (0600), holds
each runbook's ``Summary`` and is used only while everything it was built from is
unchanged:

- the sha256 of every file under each catalog package (``_`` helpers, excluded and
  ``__runbooks__ = False`` packages included: a runbook may import them), read again
  only for a file whose size, mtime, ctime or inode is not the one stored with it (a
  write, a rename over it and ``os.utime`` all change its ctime);
- the sha256 of every other module the build imported from outside the Python
  installation (a project's own helper package), and the size, mtime and inode of
  each of the opsbooks package's own modules (so an upgrade, which replaces them,
  or an edit to opsbooks itself invalidates it);
- where opsbooks is installed, the Python version, ``packages``, ``exclude`` and the
  digest of the configuration table it was built under (written only after that
  table validated, so a warm start need not load pydantic to validate it again).

Anything else changed, missing or unreadable, the catalog is discovered by importing
as before and the index rewritten; a corrupt file is said in one line and rebuilt.
A catalog with a module that fails to import is never indexed: listing it imports
everything, so the error is reported as it is now, every time, until it is fixed.
What the content cannot show (a module that builds its runbooks from the
environment or a data file) is what ``catalog_index = false`` in the configuration
is for.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsbooks.edges.config_source import ConfigSource
from opsbooks.edges.discovery import Catalog, discover
from opsbooks.edges.summaries import Summary, summarize
from opsbooks.errors import OpsbooksError

if TYPE_CHECKING:
    from opsbooks.edges.config import Config

INDEX_FILE = "catalog-index.json"
#: bumped when the file's layout changes, so an older opsbooks' index is not misread
FORMAT = 2
_SUFFIXES = tuple(importlib.machinery.all_suffixes())
_OWN = str(Path(__file__).resolve().parents[1])


def load_catalog(
    source: ConfigSource,
    validated: Callable[[], Config],
    warn: Callable[[str], None] = lambda line: None,
) -> Catalog:
    """The catalog of ``source``: from the index when it is current, else discovered.

    ``validated`` returns the validated configuration; it is called (and may raise
    ``ConfigError``) whenever the index cannot be used.
    """
    path = source.state_path / INDEX_FILE
    if source.table.get("catalog_index", True) is not False:
        stored = _read(path, warn)
        stats: dict[str, str] = {}
        if stored is not None and _current(stored, source, stats):
            try:
                summaries = [Summary.from_json(item) for item in stored["runbooks"]]
            except (KeyError, TypeError):
                warn(f"opsbooks: the catalog index {path} is unreadable; rebuilding it")
            else:
                if stats != stored["stats"]:  # files too recent to mark when it was built
                    _write(path, {**stored, "stats": stats})
                return Catalog((), lazy=summaries)
    config = validated()
    catalog = discover(config.packages, config.exclude)
    if config.catalog_index and not catalog.broken:
        marks: dict[str, str] = {}
        files = _catalog_files(config.packages, config.exclude, {}, marks)
        if files is not None:
            document = _document(source, files, catalog, _project_modules(files, marks))
            _write(path, {**document, "stats": marks})
    return catalog


def _key(source: ConfigSource) -> dict[str, Any]:
    """What the index depends on besides files; opsbooks' version is in its files' marks
    (an upgrade replaces them: new inodes), since reading the installed version through
    ``importlib.metadata`` costs more than the rest of a warm listing."""
    return {
        "format": FORMAT,
        "opsbooks": _OWN,
        "python": sys.version,
        "packages": source.packages,
        "exclude": source.exclude,
        "config": source.digest,
    }


def _document(
    source: ConfigSource, files: dict[str, str], catalog: Catalog, deps: dict[str, str]
) -> dict[str, Any]:
    return {
        "key": _key(source),
        "files": files,
        "deps": deps,
        "runbooks": [summarize(runbook).to_json() for runbook in catalog],
    }


def _current(stored: dict[str, Any], source: ConfigSource, stats: dict[str, str]) -> bool:
    """Whether the index was built from exactly what is here now (key, files, deps);
    ``stats`` receives the files' marks."""
    try:
        if stored.get("key") != _key(source):
            return False  # checked first: a changed table may name packages not to import
        hashes = {**stored["deps"], **stored["files"]}
        known = {path: (mark, hashes[path]) for path, mark in stored["stats"].items()}
        files = _catalog_files(source.packages, source.exclude, known, stats)
        return bool(
            files is not None
            and stored["files"] == files
            and all(_fingerprint(dep, known, stats) == mark for dep, mark in stored["deps"].items())
        )
    except (KeyError, TypeError, AttributeError):
        return False


def _catalog_files(
    packages: Iterable[str],
    exclude: Iterable[str],
    known: dict[str, tuple[str, str]],
    stats: dict[str, str],
) -> dict[str, str] | None:
    """sha256 of every module file under each package; None if one cannot be found.

    ``known`` maps a path to its stat mark and sha256 from the stored index: a file
    with the same mark is not read again (hashing every file was half of a warm
    ``invoke --list`` of the catalog). ``stats`` receives each file's mark.
    """
    del exclude  # excluded modules are hashed too: an included runbook may import them
    paths: list[str] = []
    for package in packages:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            return None
        if spec is None or (spec.origin is None and not spec.submodule_search_locations):
            return None
        for folder in spec.submodule_search_locations or ():
            paths += _module_files(folder)
        if not spec.submodule_search_locations and spec.origin:
            paths.append(spec.origin)
    return {path: _content(path, known, stats) for path in paths}


def _content(path: str, known: dict[str, tuple[str, str]], stats: dict[str, str]) -> str:
    """The sha256 of ``path``: the one in ``known`` while its stat mark is the same."""
    mark = _stat_mark(path)
    if mark is None:
        return _sha256(path)
    stats[path] = mark
    stored = known.get(path)
    return stored[1] if stored is not None and stored[0] == mark else _sha256(path)


#: a file changed this recently is always read: the kernel stamps times from a clock
#: of a few ms, so a second same-size write within it would keep every mark
_RACY_NS = 2_000_000_000


def _stat_mark(path: str) -> str | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    if info.st_ctime_ns > time.time_ns() - _RACY_NS:
        return None
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"


def _module_files(folder: str) -> list[str]:
    found = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        found += [os.path.join(here, n) for n in sorted(names) if n.endswith(_SUFFIXES)]
    return found


def _project_modules(files: dict[str, str], stats: dict[str, str]) -> dict[str, str]:
    """Every loaded module from outside the installation (not only those the build
    imported: a ``tasks.py`` may import a helper the runbooks use first), and its mark."""
    prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    deps = {}
    for name in list(sys.modules):
        origin = getattr(sys.modules.get(name), "__file__", None)
        if not origin or origin in files or not os.path.isfile(origin):
            continue
        if origin.startswith(prefixes) and not origin.startswith(_OWN):
            continue  # an installed distribution: not part of the project
        deps[origin] = _fingerprint(origin, {}, stats)
    return deps


def _fingerprint(path: str, known: dict[str, tuple[str, str]], stats: dict[str, str]) -> str:
    """sha256 of a project file; size and mtime of opsbooks' own (hashing 200 files costs
    about 20 ms, the whole budget of a listing; editing them is opsbooks development)."""
    if path.startswith(_OWN):
        try:
            info = os.stat(path)
        except OSError:
            return "missing"
        return f"stat:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
    return _content(path, known, stats)


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return "missing"


def _read(path: Path, warn: Callable[[str], None]) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None  # none yet, or a link planted in the state dir: not read
    try:
        with os.fdopen(fd, "rb") as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("runbooks"), list):
        warn(f"opsbooks: the catalog index {path} is unreadable; rebuilding it")
        return None
    return data


def _write(path: Path, document: dict[str, Any]) -> None:
    """Replace the index atomically, 0600; a state dir that cannot be written is no error."""
    from opsbooks.records.files import open_private, private_dir

    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        private_dir(path.parent)
        fd = open_private(temporary, "catalog index", append=False)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, sort_keys=True)
        os.replace(temporary, path)
    except (OSError, OpsbooksError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
