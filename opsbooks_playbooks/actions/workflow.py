"""Take a release's artifacts from where its release workflow (CI) published them.

``release.deploy`` either builds the artifacts itself or, with ``artifacts_from`` set,
waits for the workflow the tag push started: it polls ``<source>/<version>/SHA256SUMS``
(a folder, or an http(s) URL) and fetches every file the manifest lists. "Not there
yet" and "does not match its checksum" (an upload still in progress) both exit 1, so
a ``WaitUntil`` step simply polls again until its timeout. Files are checked in a
staging folder and moved into place only when every one matches.
"""

from __future__ import annotations

import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Annotated

from opsbooks.actions import Arg
from opsbooks_playbooks.actions import ActionError, program, version_arg
from opsbooks_playbooks.actions.artifacts import (
    MANIFEST,
    check_out,
    install,
    read_manifest,
    sha256_of,
    verify_manifest,
)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _where(source: str, version: str) -> str:
    """The folder or URL prefix that holds ``version``'s files, ending with a slash."""
    return source.rstrip("/") + f"/{version}/"


def _copy(base: str, name: str, target: Path) -> None:
    """Copy ``base + name`` to ``target``; a missing file says "not there yet"."""
    where = base + name
    if not _is_url(base):
        source = Path(where)
        if not source.is_file():
            raise ActionError(f"{where} is not there yet; the workflow has not published it")
        shutil.copyfile(source, target)
        return
    request = urllib.request.Request(where, headers={"Cache-Control": "no-cache"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 16)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise ActionError(f"{where} is not there yet (HTTP 404)") from None
        raise ActionError(f"GET {where} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ActionError(f"cannot fetch {where}: {getattr(exc, 'reason', exc)}") from None


_SOURCE_HELP = "folder or http(s) URL holding <version>/SHA256SUMS and the artifacts"


def fetch(
    source: Annotated[str, Arg("--from", help=_SOURCE_HELP, metavar="SOURCE")],
    version: Annotated[str, Arg(type=version_arg)],
    out: Annotated[Path, Arg(help="folder for the artifacts")],
) -> str:
    """Fetch ``version``'s artifacts and SHA256SUMS from the workflow's output into ``out``.

    Re-running is safe: an ``out`` that already matches its manifest is kept.
    """
    out = out.resolve()
    if (out / MANIFEST).is_file():
        with suppress(ActionError):
            verify_manifest(out)
            return f"{out} already holds the artifacts of {version}; all match {MANIFEST}"
    check_out(out)
    base = _where(source, version)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.fetching-"))
    stage.chmod(0o755)
    try:
        _copy(base, MANIFEST, stage / MANIFEST)
        entries = read_manifest(stage)
        if not entries:
            raise ActionError(f"{base}{MANIFEST} lists no files yet")
        for name, digest in sorted(entries.items()):
            _copy(base, name, stage / name)
            actual = sha256_of(stage / name)
            if actual != digest:
                raise ActionError(
                    f"{base}{name} has sha256 {actual[:12]}…, {MANIFEST} says {digest[:12]}…; "
                    f"the workflow may still be uploading it"
                )
        install(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return f"fetched {', '.join(sorted(entries))} from {base} into {out}; all match {MANIFEST}"


PROGRAM = program("workflow", __doc__)
PROGRAM.command(fetch)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.workflow``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
