"""The change actions in-process: upstream drain/reopen, version checks, review tickets."""

from __future__ import annotations

import importlib.metadata
import io
import json
from pathlib import Path

import pytest

from opsbooks_playbooks.actions import ActionError
from opsbooks_playbooks.actions.change import traffic
from opsbooks_playbooks.actions.change.__main__ import cli
from opsbooks_playbooks.actions.change.versions import installed_version, older_than

UPSTREAM = "upstream app {\n    server 10.0.0.6:8080;\n    server 10.0.0.7:8080 weight=2;\n}\n"


def test_drain_and_reopen_are_exact_and_idempotent(tmp_path: Path) -> None:
    upstream, flag = tmp_path / "app.conf", tmp_path / "flag"
    upstream.write_text(UPSTREAM)
    assert "marked 10.0.0.7:8080 down" in traffic.drain(upstream, "10.0.0.7:8080", flag, "CHG-1")
    assert "server 10.0.0.7:8080 weight=2 down;" in upstream.read_text()
    assert "server 10.0.0.6:8080;" in upstream.read_text()
    assert traffic.is_down(upstream, "10.0.0.7:8080")
    assert "already down" in traffic.drain(upstream, "10.0.0.7:8080", flag, "CHG-1")
    assert flag.read_text() == "CHG-1\n"
    traffic.reopen(upstream, "10.0.0.7:8080", flag)
    assert upstream.read_text() == UPSTREAM and not flag.exists()
    assert "already serving" in traffic.reopen(upstream, "10.0.0.7:8080", flag)


def test_drain_names_what_is_wrong(tmp_path: Path) -> None:
    upstream = tmp_path / "app.conf"
    with pytest.raises(ActionError, match="does not exist; check --upstream"):
        traffic.drain(upstream, "10.0.0.7:8080", tmp_path / "flag", "x")
    upstream.write_text(UPSTREAM)
    with pytest.raises(ActionError, match=r"servers it lists: 10\.0\.0\.6:8080, 10\.0\.0\.7:8080"):
        traffic.drain(upstream, "10.0.0.70:8080", tmp_path / "flag", "x")
    assert not (tmp_path / "flag").exists()


def test_python_and_file_versions(tmp_path: Path) -> None:
    pydantic = importlib.metadata.version("pydantic")
    assert installed_version("python", "pydantic") == pydantic
    assert older_than("python", pydantic, "999.0")
    assert not older_than("python", pydantic, "1.0")
    assert older_than("python", "2.0.0rc1", "2.0.0")  # PEP 440: a release candidate is older
    (tmp_path / "VERSION").write_text("1.9.3\n")
    assert installed_version("file", str(tmp_path / "VERSION")) == "1.9.3"
    assert older_than("file", "1.9.3", "1.10.0")
    with pytest.raises(ActionError, match="not installed here"):
        installed_version("python", "no-such-distribution-xyz")


def test_review_ticket_is_written_once(tmp_path: Path) -> None:
    out = io.StringIO()
    argv = ["review-ticket", "--dir", str(tmp_path), "--change", "CHG-9", "--days", "2"]
    assert cli.main([*argv, "--summary", "swap cert"], out=out, err=io.StringIO()) == 0
    ticket = json.loads((tmp_path / "CHG-9-review.json").read_text())
    assert ticket["summary"] == "swap cert" and ticket["status"] == "open"
    assert f"::fact change.review_due={ticket['due']}" in out.getvalue()
    again = io.StringIO()
    assert cli.main([*argv, "--summary", "other"], out=again, err=io.StringIO()) == 0
    assert "already exists" in again.getvalue()
    assert json.loads((tmp_path / "CHG-9-review.json").read_text())["summary"] == "swap cert"


def test_review_ticket_refuses_a_path_and_bad_days(tmp_path: Path) -> None:
    err = io.StringIO()
    argv = ["review-ticket", "--dir", str(tmp_path), "--summary", "x", "--days"]
    assert cli.main([*argv, "2", "--change", "../CHG-1"], out=io.StringIO(), err=err) == 1
    assert "not a plain file name" in err.getvalue()
    err = io.StringIO()
    assert cli.main([*argv, "60", "--change", "CHG-1"], out=io.StringIO(), err=err) == 1
    assert "within 1 to 30 days" in err.getvalue()
