"""Slow: ``opsbooks evidence`` over a journal filled by real runs of the real CLI.

One project, filled once per module: a restore drill (RTO/RPO measured against its
targets), a run that fails, a run that prints a secret, and a run that waits at a
gate until alice approves it with her SSH key (``ssh-keygen -Y``) from another
process while mallory's approval is refused. The bundle is built once and checked;
each tamper test works on its own copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_kit import PYTHON, clean_env, cli, write_project

from opsbooks.records.journal import open_journal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen"),
]

CANARY = "canary-evidence-5d1e-do-not-leak"
AWS_KEY = "AKIAZZZZ1234567890QQ"

BOOKS = {
    "ops/restore": '''\
        import opsbooks as ob


        class Restore(ob.Runbook):
            """Restore the orders database from last night's dump, as a DR drill."""

            scope, owner, last_reviewed = "tests", "sre", "2026-11-20"
            review_every_days = 30
            rto, rpo = "5m", "1h"
            rto_steps = ("stop", "start")
            changelog = [
                ob.Change("2026-10-01", "Written", author="dave"),
                ob.Change("2026-11-20", "Reviewed: restore timed", author="alice@example.com"),
            ]

            stop = ob.Command("echo stopped")
            restore = ob.Command("echo '::metric rpo_seconds=42.0'")
            start = ob.Command("echo started")
        ''',
    "ops/broken": '''\
        import opsbooks as ob


        class Broken(ob.Runbook):
            """Probe a service that is down."""

            scope, owner, last_reviewed = "tests", "sre", "2025-01-01"

            probe = ob.Command("echo probing; exit 3")
        ''',
    "ops/rotate": '''\
        import opsbooks as ob


        class Rotate(ob.Runbook):
            """Rotate the API token."""

            scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

            class Params(ob.Params):
                token: ob.SecretStr = ob.Field(ob.SecretStr("CANARY"), description="the token")

            @ob.step(title="Use the token")
            def use(self, ctx: ob.StepContext) -> str:
                return "using " + ctx.params.token.get_secret_value()  # type: ignore[attr-defined]
        '''.replace("CANARY", CANARY),
    "release/ship": '''\
        import opsbooks as ob


        class Ship(ob.Runbook):
            """Ship a build once a release manager signed off."""

            scope, owner, last_reviewed = "tests", "sre", "2026-12-02"

            go = ob.Gate.confirm(
                "Ship build 42 to production?",
                approvers="release-managers",
                gate_timeout="60s",
                description="the build passed staging",
            )
            ship = ob.Command("echo shipped")
        ''',
}


def make_keys(folder: Path) -> dict[str, Path]:
    """Keys for alice (in allowed_signers) and mallory (not), and the file."""
    keys: dict[str, Path] = {}
    for person in ("alice", "mallory"):
        keys[person] = folder / person
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", person, "-f", str(keys[person])],
            check=True,
            capture_output=True,
        )
    public = " ".join(keys["alice"].with_suffix(".pub").read_text().split()[:2])
    keys["allowed_signers"] = folder / "allowed_signers"
    keys["allowed_signers"].write_text(f'alice@example.com namespaces="opsbooks" {public}\n')
    return keys


class Filled:
    def __init__(self, root: Path, keys: dict[str, Path], runs: dict[str, str]) -> None:
        self.root, self.keys, self.runs = root, keys, runs
        self.bundle = root / "bundle"

    def read(self, relative: str) -> Any:
        return json.loads((self.bundle / relative).read_text())


def ship_with_approvals(root: Path, keys: dict[str, Path]) -> str:
    proc = subprocess.Popen(
        [PYTHON, "-m", "opsbooks", "run", "release.ship"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env("carol"),
    )
    try:
        run_id = waiting(root, proc)
        key = str(keys["alice"])
        leaky = f"staging green {AWS_KEY}"
        refused = cli(root, "approve", run_id, "go", "--key", key, "--reason", leaky, user="alice")
        assert refused.returncode == 2 and AWS_KEY not in refused.stderr, refused.stderr
        for person, reason in (("mallory", "me too"), ("alice", "staging green")):
            key = str(keys[person])
            done = cli(root, "approve", run_id, "go", "--key", key, "--reason", reason, user=person)
            assert done.returncode == (1 if person == "mallory" else 0), done.stderr
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    return run_id


def waiting(root: Path, proc: subprocess.Popen[str], *, not_: str = "") -> str:
    """The id of the ship run ``proc`` started once it waits at its gate (not ``not_``)."""
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            runs = journal.runs("release.ship", limit=1)
            fresh = runs and runs[0].id != not_
            if fresh and any(r.decision == "request" for r in journal.approvals(runs[0].id)):
                return runs[0].id
            time.sleep(0.05)
    finally:
        journal.close()
    proc.kill()
    raise AssertionError(f"the ship run never waited at its gate: {proc.communicate()[0]}")


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    keys = make_keys(tmp_path_factory.mktemp("keys"))
    config = {
        "secret_patterns": ["AKIA[A-Z0-9]{16}"],
        "approvals": {
            "allowed_signers": str(keys["allowed_signers"]),
            "poll": "0.1s",
            "roles": {"release-managers": ["alice@example.com"]},
        },
    }
    root = write_project(tmp_path_factory.mktemp("evidence") / "project", BOOKS, config=config)
    runs: dict[str, str] = {}
    for name, code in (("ops.restore", 0), ("ops.broken", 1), ("ops.rotate", 0)):
        done = cli(root, "run", name, "--yes")
        assert done.returncode == code, done.stdout + done.stderr
        journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
        runs[name] = journal.runs(name)[0].id
        journal.close()
    runs["release.ship"] = ship_with_approvals(root, keys)
    made = cli(root, "evidence", "--since", "2026-01-01", "--out", "bundle", user="auditor-bot")
    assert made.returncode == 0, made.stderr
    assert "4 run(s), 2 approval decision(s), 1 drill(s), 4 runbook(s)" in made.stdout
    return Filled(root, keys, runs)


def test_the_bundle_holds_every_run_with_its_report_and_intact_audit(filled: Filled) -> None:
    runs = sorted(p.name for p in (filled.bundle / "runs").iterdir())
    assert runs == sorted(filled.runs.values())
    for name, run_id in filled.runs.items():
        report = (filled.bundle / "runs" / run_id / "report.md").read_text()
        assert name in report and run_id in report
        audit = filled.read(f"runs/{run_id}/audit.json")
        assert (audit["intact"], audit["problems"], audit["runbook"]) == (True, [], name)
        assert audit["lines"] > 2
    broken = (filled.bundle / "runs" / filled.runs["ops.broken"] / "report.md").read_text()
    assert "failed" in broken and "probe" in broken
    readme = (filled.bundle / "README.md").read_text()
    assert "Operational evidence: 2026-01-01T00:00:00Z to " in readme
    assert "Generated by auditor-bot at " in readme and "with opsbooks 0.1.0" in readme
    assert "Runs started in the window: 4 (1 failed, 3 succeeded)" in readme
    assert "Audit trails: 4 intact; broken: none" in readme


def test_approvals_are_verified_again_against_allowed_signers(filled: Filled) -> None:
    approvals = filled.read("approvals.json")["approvals"]
    assert [(a["principal"], a["accepted"]) for a in approvals] == [
        ("(unverified)", False),
        ("alice@example.com", True),
    ]
    mallory, alice = approvals
    assert mallory["verified_now"] is False and "not in" in mallory["verification_problem"]
    assert alice["verified_now"] is True and alice["signer_matches"] is True
    assert alice["verified_principal"] == "alice@example.com"
    assert alice["run"] == filled.runs["release.ship"] and alice["gate"] == "go"
    # a reason holding a secret was refused before signing; the clean one is kept whole
    assert alice["reason"] == "staging green"
    assert alice["payload"] and "BEGIN SSH SIGNATURE" in alice["signature"]
    assert mallory["payload"] and "BEGIN SSH SIGNATURE" in mallory["signature"]


def test_the_allowed_signers_used_is_named_and_a_payload_verifies_by_hand(
    filled: Filled, tmp_path: Path
) -> None:
    """The bundle names the allowed_signers file by path and sha256; the README's recipe
    works: the payload, written byte-exact, checks with ssh-keygen; one byte less fails."""
    signers = filled.keys["allowed_signers"]
    used = filled.read("approvals.json")["allowed_signers"]
    digest = hashlib.sha256(signers.read_bytes()).hexdigest()
    assert used == {"path": str(signers), "sha256": digest, "namespace": "opsbooks"}
    readme = (filled.bundle / "README.md").read_text()
    assert f"`{signers}` (sha256 `{digest}`)" in readme and "trailing newline" in readme
    mallory = filled.read("approvals.json")["approvals"][0]
    (tmp_path / "payload.sig").write_text(mallory["signature"])
    for payload, code in ((mallory["payload"], 0), (mallory["payload"].rstrip("\n"), 255)):
        (tmp_path / "payload").write_bytes(payload.encode())
        with (tmp_path / "payload").open("rb") as stdin:
            done = subprocess.run(
                ["ssh-keygen", "-Y", "check-novalidate", "-n", "opsbooks", "-s", "payload.sig"],
                cwd=tmp_path,
                stdin=stdin,
                capture_output=True,
                text=True,
                check=False,
            )
        assert done.returncode == code, done.stdout + done.stderr


def test_deny_says_the_waiting_run_stops_at_the_gate(filled: Filled, tmp_path: Path) -> None:
    root = tmp_path / "denied"
    shutil.copytree(filled.root, root, ignore=shutil.ignore_patterns("bundle"))
    proc = subprocess.Popen(
        [PYTHON, "-m", "opsbooks", "run", "release.ship"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env("carol"),
    )
    try:
        run_id = waiting(root, proc, not_=filled.runs["release.ship"])
        key = str(filled.keys["alice"])
        done = cli(root, "deny", run_id, "go", "--key", key, "--reason", "freeze", user="alice")
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert done.returncode == 0, done.stderr
    assert "the waiting run verifies it again and stops at the gate (resumable" in done.stdout
    assert "goes on" not in done.stdout
    assert proc.returncode == 3 and "denied by alice@example.com: freeze" in out, out


def test_a_forged_approval_and_an_edited_audit_trail_show_in_the_bundle(
    filled: Filled, tmp_path: Path
) -> None:
    """A row edited straight in the journal (accepted, another principal) is not taken
    on trust: its signature is checked now; an edited audit line breaks that run's chain."""
    root = tmp_path / "forged"
    shutil.copytree(filled.root, root, ignore=shutil.ignore_patterns("bundle"))
    db = root / ".opsbooks" / "journal.db"
    broken = filled.runs["ops.broken"]
    (audit,) = root.rglob(f"{broken}.jsonl")
    audit.write_text(audit.read_text().replace('"exit_code": 3', '"exit_code": 0', 1))
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE approvals SET principal='bob@example.com', accepted=1, "
            "payload=replace(payload, 'me too', 'me three') WHERE principal='(unverified)'"
        )
    made = cli(root, "evidence", "--since", "2026-01-01", "--out", "bundle")
    assert made.returncode == 0, made.stderr
    mallory = json.loads((root / "bundle" / "approvals.json").read_text())["approvals"][0]
    assert (mallory["principal"], mallory["accepted"]) == ("bob@example.com", True)
    assert mallory["verified_now"] is False and mallory["signer_matches"] is False
    result = json.loads((root / "bundle" / "runs" / broken / "audit.json").read_text())
    assert result["intact"] is False and result["problems"], result
    readme = (root / "bundle" / "README.md").read_text()
    assert f"Audit trails: 3 intact; broken: {broken}" in readme


def test_drills_reviews_and_lint_are_in_the_bundle(filled: Filled) -> None:
    (drill,) = filled.read("drills.json")["drills"]
    assert drill["runbook"] == "ops.restore" and drill["run"] == filled.runs["ops.restore"]
    assert (drill["rto_target_seconds"], drill["rpo_target_seconds"]) == (300.0, 3600.0)
    assert drill["rpo_seconds"] == 42.0 and drill["rpo_met"] is True and drill["rto_met"] is True
    reviews = {r["runbook"]: r for r in filled.read("reviews.json")["runbooks"]}
    assert sorted(reviews) == ["ops.broken", "ops.restore", "ops.rotate", "release.ship"]
    restore = reviews["ops.restore"]
    assert (restore["last_reviewed"], restore["review_every_days"]) == ("2026-11-20", 30)
    assert restore["reviewers"] == ["alice@example.com"]
    assert restore["reviews"][0]["date"] == "2026-11-20"
    assert reviews["ops.broken"]["overdue"] is True
    lint = filled.read("lint.json")
    same = cli(filled.root, "lint", "--format", "json")
    assert lint == json.loads(same.stdout)
    assert any(f["rule"] == "review-overdue" and f["runbook"] == "ops.broken" for f in lint), lint


def test_no_secret_reaches_any_file_of_the_bundle(filled: Filled) -> None:
    files = [p for p in filled.bundle.rglob("*") if p.is_file()]
    assert len(files) == 2 * 4 + 7
    for path in files:
        data = path.read_bytes()
        assert CANARY.encode() not in data and AWS_KEY.encode() not in data, path


def test_evidence_verify_and_sha256sum_agree_it_is_intact(filled: Filled) -> None:
    done = cli(filled.root, "evidence", "verify", "bundle")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verifies: 13 files and the manifest, checksums intact" in done.stdout
    coreutils = subprocess.run(
        ["sha256sum", "--strict", "-c", "manifest.sha256"],
        cwd=filled.bundle,
        capture_output=True,
        text=True,
        check=False,
    )
    assert coreutils.returncode == 0, coreutils.stdout + coreutils.stderr
    assert coreutils.stdout.count(": OK") == 14


def test_tampered_deleted_and_added_files_are_named(filled: Filled, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(filled.bundle, copy)
    report = copy / "runs" / filled.runs["ops.restore"] / "report.md"
    data = bytearray(report.read_bytes())
    data[len(data) // 2] ^= 0x01
    report.write_bytes(bytes(data))
    (copy / "drills.json").unlink()
    (copy / "notes.txt").write_text("added later\n")
    done = cli(filled.root, "evidence", "verify", str(copy))
    assert done.returncode == 1, done.stdout + done.stderr
    rel = f"runs/{filled.runs['ops.restore']}/report.md"
    assert f"  changed: {rel}" in done.stdout
    assert "  missing: drills.json" in done.stdout and "  extra: notes.txt" in done.stdout
    coreutils = subprocess.run(
        ["sha256sum", "-c", "manifest.sha256"], cwd=copy, capture_output=True, text=True
    )
    assert coreutils.returncode != 0 and f"{rel}: FAILED" in coreutils.stdout


def test_a_rewritten_manifest_is_caught_by_its_own_digest(filled: Filled, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(filled.bundle, copy)
    report = copy / "runs" / filled.runs["ops.broken"] / "report.md"
    report.write_text(report.read_text().replace("failed", "succeeded"))
    manifest = json.loads((copy / "manifest.json").read_text())
    from opsbooks.govern.evidence import Entry

    rel = f"runs/{filled.runs['ops.broken']}/report.md"
    fresh = Entry.of(rel, report.read_bytes())
    for item in manifest["files"]:
        if item["path"] == rel:
            item["sha256"], item["size"] = fresh.sha256, fresh.size
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    done = cli(filled.root, "evidence", "verify", str(copy))
    assert done.returncode == 1 and "  changed: manifest.json" in done.stdout, done.stdout
