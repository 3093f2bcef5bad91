"""Waiting for a release workflow's artifacts: from a folder, over real HTTP, and in a deploy."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from opsbooks.testing import Drill, FakeClock
from opsbooks_playbooks.actions import ActionError, feed, sandbox, workflow
from opsbooks_playbooks.actions.artifacts import (
    MANIFEST,
    sha256_of,
    verify_manifest,
    write_manifest,
)

Run = Callable[..., subprocess.CompletedProcess[str]]
Server = Callable[[Path], AbstractContextManager[str]]


def publish_workflow_output(root: Path, version: str, payload: bytes) -> Path:
    """What a CI release workflow leaves behind: <root>/<version>/ with SHA256SUMS."""
    folder = root / version
    folder.mkdir(parents=True)
    (folder / f"demo-app-{version}.tar.gz").write_bytes(payload)
    write_manifest(folder)
    return folder


@pytest.mark.slow
def test_not_published_yet_exits_1_then_fetches_once_it_is(tmp_path: Path, action: Run) -> None:
    source, out = tmp_path / "ci", tmp_path / "dist" / "1.4.0"
    early = action("workflow", "fetch", "--from", source, "--version", "1.4.0", "--out", out)
    assert early.returncode == 1
    assert "is not there yet" in early.stderr
    assert not out.exists()

    publish_workflow_output(source, "1.4.0", b"built by CI " * 1000)
    done = action("workflow", "fetch", "--from", source, "--version", "1.4.0", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "fetched demo-app-1.4.0.tar.gz" in done.stdout
    assert "match" in verify_manifest(out)
    again = action("workflow", "fetch", "--from", source, "--version", "1.4.0", "--out", out)
    assert again.returncode == 0 and "already holds" in again.stdout


@pytest.mark.slow
def test_over_http_a_file_still_uploading_is_not_taken(tmp_path: Path, http_server: Server) -> None:
    served = publish_workflow_output(tmp_path / "ci", "2.0.0", b"complete artifact")
    artifact = served / "demo-app-2.0.0.tar.gz"
    artifact.write_bytes(b"compl")  # half uploaded: the manifest names the full file
    out = tmp_path / "dist" / "2.0.0"
    with http_server(tmp_path / "ci") as url:
        with pytest.raises(ActionError, match="may still be uploading"):
            workflow.fetch(url, "2.0.0", out)
        assert not out.exists()
        artifact.write_bytes(b"complete artifact")
        assert "fetched" in workflow.fetch(url, "2.0.0", out)
    assert sha256_of(out / "demo-app-2.0.0.tar.gz") == sha256_of(artifact)
    assert [p.name for p in out.parent.iterdir()] == ["2.0.0"]  # no staging left


def test_a_manifest_naming_a_path_is_refused(tmp_path: Path) -> None:
    folder = publish_workflow_output(tmp_path / "ci", "1.0.0", b"x")
    (folder / MANIFEST).write_text(f"{'0' * 64}  ..\n")
    with pytest.raises(ActionError, match="is not a plain file name"):
        workflow.fetch(str(tmp_path / "ci"), "1.0.0", tmp_path / "out")


class _LateHandler(http.server.SimpleHTTPRequestHandler):
    """Answers 404 to the first ``misses`` requests for a manifest, as a running CI job would."""

    misses = 0
    asked: list[str]

    def do_GET(self) -> None:
        if self.path.endswith(MANIFEST) and len(self.asked) < self.misses:
            self.asked.append(self.path)
            self.send_error(404)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def late_server(folder: Path, misses: int) -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []
    handler = type("Late", (_LateHandler,), {"misses": misses, "asked": asked})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.slow
def test_deploy_waits_for_the_workflow_instead_of_building(tmp_path: Path) -> None:
    box = tmp_path / "sandbox"
    sandbox.create(box, date="2026-11-01")
    sandbox.bump(box, "1.1.0")
    publish_workflow_output(tmp_path / "ci", "1.1.0", b"the CI build of 1.1.0")
    with (box / "opsbooks.toml").open("rb") as handle:
        settings = tomllib.load(handle)
    settings.pop("state_dir", None)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    drill = Drill(root=box, settings=settings, clock=FakeClock(), environ={"PATH": path})
    with late_server(tmp_path / "ci", misses=2) as (url, asked):
        result = drill.run("release.deploy", {"version": "1.1.0", "artifacts_from": url}, yes=True)
    result.assert_succeeded()
    result.assert_skipped("build")
    assert result.history("wait_for_artifacts").count("running") == 1
    assert len(asked) == 2  # polled through two "not yet" answers
    assert "not there yet (HTTP 404)" in result.output
    released = feed.load(box / "feed").find("1.1.0")
    assert released is not None
    assert released.sha256 == sha256_of(tmp_path / "ci" / "1.1.0" / "demo-app-1.1.0.tar.gz")
