"""Build a release's artifacts from its tag and checksum them in a ``SHA256SUMS`` manifest.

Builds read the tagged tree, never the working tree, so what ships is what was
tagged. The manifest is ``sha256sum`` format, so ``sha256sum -c SHA256SUMS`` works
by hand too.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from opsbooks.actions import Arg
from opsbooks_playbooks.actions import ActionError, plain_name, program, run, version_arg

MANIFEST = "SHA256SUMS"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def project_name(repo: Path, version: str) -> str:
    """The project name at tag v<version> (pyproject ``[project].name``), else the folder."""
    try:
        text = run(["git", "-C", str(repo), "show", f"v{version}:pyproject.toml"])
        name = tomllib.loads(text).get("project", {}).get("name")
    except (ActionError, tomllib.TOMLDecodeError):
        name = None
    return name if isinstance(name, str) and name else repo.resolve().name


def read_manifest(folder: Path) -> dict[str, str]:
    """Map file name to sha256 from ``folder/SHA256SUMS``."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ActionError(f"{path} does not exist; run the build step first")
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise ActionError(f"{path} line {number} is not '<sha256>  <file name>'")
        entries[plain_name(name, f"{path} line {number} names")] = digest
    return entries


def write_manifest(folder: Path) -> Path:
    """Write ``SHA256SUMS`` for every file in ``folder``, sorted by name."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    if not files:
        raise ActionError(f"{folder} holds no files to checksum; the build produced nothing")
    lines = "".join(f"{sha256_of(p)}  {p.name}\n" for p in files)
    (folder / MANIFEST).write_text(lines, encoding="utf-8")
    return folder / MANIFEST


def verify_manifest(folder: Annotated[Path, Arg("--dir", help="folder holding SHA256SUMS")]) -> str:
    """Fail if any file differs from, is missing from, or is not listed in ``SHA256SUMS``."""
    entries = read_manifest(folder)
    for name, digest in entries.items():
        path = folder / name
        if not path.is_file():
            raise ActionError(f"{name} is listed in {MANIFEST} but missing from {folder}")
        actual = sha256_of(path)
        if actual != digest:
            raise ActionError(
                f"{name} has sha256 {actual[:12]}…, {MANIFEST} says {digest[:12]}…; "
                f"the file changed after the build: rebuild it"
            )
    extra = sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.name not in {*entries, MANIFEST}
    )
    if extra:
        raise ActionError(f"{folder} holds files not in {MANIFEST}: {', '.join(extra)}")
    return f"{len(entries)} file(s) in {folder} match {MANIFEST}"


def check_out(out: Path) -> None:
    """Allow ``out`` only if it is absent, empty, or exactly a previous build (rebuilt)."""
    if not out.exists():
        return
    present = {p.name for p in out.iterdir()}
    listed = set(read_manifest(out)) | {MANIFEST} if MANIFEST in present else set()
    strangers = sorted(present - listed)
    if strangers:
        raise ActionError(
            f"{out} already holds {', '.join(strangers[:3])}; build into an empty folder"
        )


def install(stage: Path, out: Path) -> None:
    """Replace a previous build in ``out`` with the finished ``stage``."""
    if out.exists():
        for old in out.iterdir():
            old.unlink()
        out.rmdir()
    stage.rename(out)


def _export_tree(repo: Path, version: str, into: Path) -> None:
    """Extract the tree of tag v<version> into ``into`` (no .git, nothing untracked)."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", f"v{version}"],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ActionError(f"cannot export v{version}: {proc.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(into, filter="data")


def build(
    repo: Annotated[Path, Arg(help="path of the working clone")],
    version: Annotated[str, Arg(type=version_arg, help="tag v<version> to build")],
    out: Annotated[Path, Arg(help="empty folder for the artifacts")],
    command: Annotated[
        str, Arg(help="build command run in sh (default: git archive tarball)")
    ] = "",
) -> str:
    """Build v<version> into ``out`` and write its manifest.

    With no ``command``: a ``git archive`` tarball ``<name>-<version>.tar.gz``, which is
    byte-for-byte reproducible. With one: it runs in ``sh`` inside a clean export of the
    tag, with ``VERSION`` and ``OUT_DIR`` set, and must write its files to ``$OUT_DIR``.
    Files are built in a staging folder and moved to ``out`` only when the build worked,
    so a failed build leaves nothing behind to block the retry.
    """
    tag = f"v{version}"
    try:
        run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"])
    except ActionError:
        raise ActionError(f"tag {tag} does not exist in {repo}; tag the release first") from None
    out = out.resolve()
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    stage.chmod(0o755)  # mkdtemp makes it private; the build folder is not
    try:
        _build_into(stage, repo, version, command)
        write_manifest(stage)
        install(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    files = sorted(read_manifest(out))
    return f"built {', '.join(files)} in {out}; checksums in {MANIFEST}"


def _build_into(stage: Path, repo: Path, version: str, command: str) -> None:
    if not command:
        name = project_name(repo, version)
        target = stage / f"{name}-{version}.tar.gz"
        run(
            [
                "git", "-C", str(repo), "archive", "--format=tar.gz",
                f"--prefix={name}-{version}/", f"--output={target}", f"v{version}",
            ]
        )  # fmt: skip
        return
    with tempfile.TemporaryDirectory(prefix="opsbooks-build-") as tree:
        _export_tree(repo, version, Path(tree))
        run(["sh", "-c", command], cwd=Path(tree), env={"VERSION": version, "OUT_DIR": str(stage)})


PROGRAM = program("artifacts", __doc__)
PROGRAM.command(build)
PROGRAM.command(verify_manifest)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.artifacts``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
