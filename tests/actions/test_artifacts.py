"""Artifact builds from a real tag, and the SHA256SUMS manifest catching tampering."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbooks_playbooks.actions import ActionError, artifacts
from opsbooks_playbooks.actions import git as actions_git

pytestmark = pytest.mark.slow  # git and python -m subprocesses

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def tagged(repo: Path) -> Path:
    actions_git.create_tag(repo, "1.0.0", "Release 1.0.0")
    return repo


def test_default_build_is_a_git_archive_of_the_tag(
    tagged: Path, tmp_path: Path, action: Run
) -> None:
    (tagged / "scratch.txt").write_text("not committed\n")
    out = tmp_path / "dist" / "1.0.0"
    done = action("artifacts", "build", "--repo", tagged, "--version", "1.0.0", "--out", out)
    assert done.returncode == 0, done.stderr
    tarball = out / "demo-1.0.0.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "demo-1.0.0/app.py" in names
    assert "demo-1.0.0/scratch.txt" not in names
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert (out / "SHA256SUMS").read_text() == f"{digest}  demo-1.0.0.tar.gz\n"
    # sha256sum-compatible, so an operator can check by hand
    subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=out, check=True)
    assert action("artifacts", "verify-manifest", "--dir", out).returncode == 0


def test_rebuild_is_reproducible_and_reuses_the_folder(tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    artifacts.build(tagged, "1.0.0", out)
    first = (out / "SHA256SUMS").read_text()
    artifacts.build(tagged, "1.0.0", out)
    assert (out / "SHA256SUMS").read_text() == first


def test_build_refuses_a_folder_with_other_files(tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    out.mkdir()
    (out / "precious.txt").write_text("keep me\n")
    with pytest.raises(ActionError, match=r"already holds precious\.txt"):
        artifacts.build(tagged, "1.0.0", out)
    assert (out / "precious.txt").exists()


def test_build_needs_the_tag(repo: Path, tmp_path: Path, action: Run) -> None:
    done = action("artifacts", "build", "--repo", repo, "--version", "1.0.0", "--out", tmp_path)
    assert done.returncode == 1
    assert "tag v1.0.0 does not exist" in done.stderr


def test_configured_command_runs_in_a_clean_export(tagged: Path, tmp_path: Path) -> None:
    (tagged / "app.py").write_text("print('uncommitted edit')\n")
    out = tmp_path / "dist"
    command = (
        'test ! -d .git && cp app.py "$OUT_DIR/app-$VERSION.py" && echo built > "$OUT_DIR/x.txt"'
    )
    report = artifacts.build(tagged, "1.0.0", out, command)
    assert "app-1.0.0.py" in report
    assert (out / "app-1.0.0.py").read_text() == "print('hello')\n"
    assert set(artifacts.read_manifest(out)) == {"app-1.0.0.py", "x.txt"}


def test_failing_build_command_is_reported(tagged: Path, tmp_path: Path, action: Run) -> None:
    done = action(
        "artifacts", "build", "--repo", tagged, "--version", "1.0.0",
        "--out", tmp_path / "dist", "--command", "echo compiler exploded >&2; exit 3",
    )  # fmt: skip
    assert done.returncode == 1
    assert "exited 3: compiler exploded" in done.stderr


def test_verify_manifest_detects_tampering(tagged: Path, tmp_path: Path, action: Run) -> None:
    out = tmp_path / "dist"
    artifacts.build(tagged, "1.0.0", out)
    tarball = out / "demo-1.0.0.tar.gz"
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    done = action("artifacts", "verify-manifest", "--dir", out)
    assert done.returncode == 1
    assert "demo-1.0.0.tar.gz has sha256" in done.stderr
    assert "rebuild it" in done.stderr


def test_verify_manifest_detects_missing_and_unlisted_files(tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    artifacts.build(tagged, "1.0.0", out)
    (out / "extra.bin").write_bytes(b"sneaky")
    with pytest.raises(ActionError, match=r"not in SHA256SUMS: extra\.bin"):
        artifacts.verify_manifest(out)
    (out / "extra.bin").unlink()
    (out / "demo-1.0.0.tar.gz").unlink()
    with pytest.raises(ActionError, match="listed in SHA256SUMS but missing"):
        artifacts.verify_manifest(out)


def test_verify_manifest_without_manifest(tmp_path: Path, action: Run) -> None:
    done = action("artifacts", "verify-manifest", "--dir", tmp_path)
    assert done.returncode == 1
    assert "SHA256SUMS does not exist" in done.stderr


def test_failed_build_leaves_nothing_that_blocks_the_retry(tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "1.0.0"
    with pytest.raises(ActionError, match="exited 1"):
        artifacts.build(tagged, "1.0.0", out, 'echo half > "$OUT_DIR/partial.bin"; exit 1')
    assert not out.exists()
    assert list((tmp_path / "dist").iterdir()) == []
    artifacts.build(tagged, "1.0.0", out)
    assert artifacts.verify_manifest(out).startswith("1 file(s)")
