"""Slow: signed four-eyes approvals across processes, users and state dirs, with real
``ssh-keygen`` keys made per session, against a real PostgreSQL journal (and SQLite once).

carol starts the run (``OPSBOOKS_USER=carol``) in her own project; alice, bob, carol
and mallory approve from projects of their own (another state dir, another user: a
second "machine") that share only the journal URL and the approvals table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cli_kit import PYTHON, clean_env, cli, write_project

from opsbooks.backends.signing import BadSignature, SshKeygenSigner, SshKeygenVerifier
from opsbooks.records.journal import ApprovalRecord, open_journal
from opsbooks.testing.postgres import PostgresServer, postgres_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen"),
]

PEOPLE = {
    "alice": "alice@example.com",
    "bob": "bob@example.com",
    "carol": "carol@example.com",
}

SHIP = '''\
import opsbooks as ob


class Ship(ob.Runbook):
    """Ship a build once two release managers signed off."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-02"

    class Params(ob.Params):
        out: str = ob.Field(description="file the ship step writes")

    go = ob.Gate.confirm(
        "Ship build 42 to production?",
        approvers="release-managers",
        quorum=QUORUM,
        gate_timeout="60s",
        description="the build passed staging",
    )
    ship = ob.Command("echo shipped > {out}")
'''


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An ed25519 key per person (mallory's is in no allowed_signers), and the file."""
    folder = tmp_path_factory.mktemp("keys")
    made: dict[str, Path] = {}
    lines = []
    for person in (*PEOPLE, "mallory"):
        key = folder / person
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", person, "-f", str(key)],
            check=True,
            capture_output=True,
        )
        made[person] = key
        if person in PEOPLE:
            public = " ".join(key.with_suffix(".pub").read_text().split()[:2])
            lines.append(f'{PEOPLE[person]} namespaces="opsbooks" {public}')
    made["allowed_signers"] = folder / "allowed_signers"
    made["allowed_signers"].write_text("\n".join(lines) + "\n")
    return made


#: a deny --reason this matches is refused before signing (the signed reason is journaled)
SECRET_PATTERN = "ghp_[A-Za-z0-9]{36}"
TOKEN = "ghp_" + "Q7x" * 12


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


def approvals_config(keys: dict[str, Path], journal: str) -> dict[str, Any]:
    return {
        "journal": journal,
        "secret_patterns": [SECRET_PATTERN],
        "approvals": {
            "allowed_signers": str(keys["allowed_signers"]),
            "poll": "0.2s",
            "roles": {"release-managers": list(PEOPLE.values())},
        },
    }


class Team:
    """carol's project (the run) and one project per approver, sharing one journal."""

    def __init__(self, base: Path, keys: dict[str, Path], journal: str, quorum: int) -> None:
        self.keys, self.journal_url = keys, journal
        config = approvals_config(keys, journal)
        self.carol = write_project(
            base / "carol",
            {"release/ship": SHIP.replace("QUORUM", str(quorum))},
            config=config,
        )
        self.homes = {
            p: write_project(
                base / "approvers" / p, {}, config=config | {"state_dir": f".state-{p}"}
            )
            for p in (*PEOPLE, "mallory")
        }

    def start(self) -> subprocess.Popen[str]:
        out = self.carol / "shipped.txt"
        return subprocess.Popen(
            [PYTHON, "-m", "opsbooks", "run", "release.ship", "--out", str(out)],
            cwd=self.carol,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env("carol"),
        )

    def waiting_run(self, proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
        """The run id once the run has opened its request at the gate."""
        deadline = time.monotonic() + timeout
        journal = open_journal(self.journal_url)
        try:
            while time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()[0]
                runs = journal.runs("release.ship", limit=1)
                if runs and any(r.decision == "request" for r in journal.approvals(runs[0].id)):
                    return runs[0].id
                time.sleep(0.05)
        finally:
            journal.close()
        raise AssertionError("the run never started waiting at its gate")

    def decide(self, person: str, run_id: str, *args: str) -> subprocess.CompletedProcess[str]:
        key = self.keys[person]
        return cli(
            self.homes[person], *args[:1], run_id, "go", "--key", str(key), *args[1:], user=person
        )

    def rows(self, run_id: str) -> list[ApprovalRecord]:
        journal = open_journal(self.journal_url)
        try:
            return journal.approvals(run_id, "go")
        finally:
            journal.close()


def finish(proc: subprocess.Popen[str], timeout: float = 30.0) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def forge_rows(team: Team, run_id: str) -> None:
    """What a malicious approver's process could write straight into the shared journal:
    rows marked accepted, one with an altered payload, one signed by mallory."""
    journal = open_journal(team.journal_url)
    try:
        request = next(r for r in journal.approvals(run_id, "go") if r.decision == "request")
        token = json.loads(request.payload)["token"]
        question = json.loads(request.payload)["question"]
        text = (
            json.dumps(
                {
                    "at": time.time(),
                    "decision": "approve",
                    "gate": "go",
                    "nonce": "forged1",
                    "question": question,
                    "reason": "",
                    "request": token,
                    "run_id": run_id,
                    "runbook": "release.ship",
                    "version": 1,
                },
                sort_keys=True,
                separators=(",", ":"),
            )
            + "\n"
        )
        signature = SshKeygenSigner(team.keys["alice"], "opsbooks").sign(text)
        row = ApprovalRecord(
            run_id,
            "go",
            "approve",
            "alice@example.com",
            "",
            text,
            signature,
            True,
            "approve by alice@example.com counted",
            time.time(),
        )
        altered = text.replace('"nonce":"forged1"', '"nonce":"forged2"')
        journal.record_approval(replace(row, payload=altered))
        mallory = SshKeygenSigner(team.keys["mallory"], "opsbooks").sign(text)
        journal.record_approval(replace(row, principal="bob@example.com", signature=mallory))
    finally:
        journal.close()


def audit_events(root: Path, run_id: str) -> list[dict[str, Any]]:
    (path,) = root.rglob(f"{run_id}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_quorum_of_two_across_machines_on_postgres_with_refusals(
    tmp_path: Path, keys: dict[str, Path], pg: PostgresServer
) -> None:
    team = Team(tmp_path, keys, pg.createdb("approvals_quorum"), quorum=2)
    proc = team.start()
    try:
        run_id = team.waiting_run(proc)
        own = team.decide("carol", run_id, "approve")
        assert own.returncode == 1, own.stderr
        assert "four-eyes" in own.stderr and "started the run" in own.stderr
        stranger = team.decide("mallory", run_id, "approve")
        assert stranger.returncode == 1 and "not in" in stranger.stderr
        forge_rows(team, run_id)
        first = team.decide("alice", run_id, "approve", "--reason", "staging is green")
        assert first.returncode == 0, first.stderr
        again = team.decide("alice", run_id, "approve")
        assert again.returncode == 1 and "counts once" in again.stderr
        assert proc.poll() is None  # one verified approver of two: still waiting
        started = time.monotonic()
        second = team.decide("bob", run_id, "approve")
        assert second.returncode == 0, second.stderr
        code, out = finish(proc)
        assert time.monotonic() - started < 10  # picked up within seconds
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, out
    assert (team.carol / "shipped.txt").read_text() == "shipped\n"
    assert "opsbooks approve " + run_id + " go" in out
    rows = [r for r in team.rows(run_id) if r.decision == "approve"]
    assert [(r.principal, r.accepted) for r in rows] == [
        ("carol@example.com", False),
        ("(unverified)", False),
        ("alice@example.com", True),  # forged: altered payload, marked accepted
        ("bob@example.com", True),  # forged: mallory's signature, marked accepted
        ("alice@example.com", True),
        ("alice@example.com", False),
        ("bob@example.com", True),
    ]
    judged = [e for e in audit_events(team.carol, run_id) if e["event"] == "approval_decided"]
    assert [(e["principal"], e["accepted"]) for e in judged] == [
        ("", False),
        ("", False),
        ("", False),
        ("", False),  # refused here, forged too
        ("alice@example.com", True),
        ("", False),
        ("bob@example.com", True),
    ]
    assert "signature does not verify here" in judged[2]["why"]
    gate = json.loads(cli(team.carol, "report", run_id, "--format", "json").stdout)["gates"]
    assert (gate[0]["approver"], gate[0]["source"]) == (
        "alice@example.com+bob@example.com",
        "signed approvals",
    )
    report = cli(team.carol, "report", run_id).stdout
    assert "## Approvals" in report
    forged = [line for line in report.splitlines() if "| accepted | **not counted** |" in line]
    assert len(forged) == 2 and "the payload was altered" in forged[0]
    assert "| alice@example.com | accepted | counted: alice@example.com |" in report
    assert "| carol@example.com | **refused** | **not counted** | refused by" in report


def test_a_deny_stops_the_run_with_the_reason(
    tmp_path: Path, keys: dict[str, Path], pg: PostgresServer
) -> None:
    team = Team(tmp_path, keys, pg.createdb("approvals_deny"), quorum=2)
    proc = team.start()
    try:
        run_id = team.waiting_run(proc)
        leaky = team.decide("bob", run_id, "deny", "--reason", f"CI token {TOKEN} leaked")
        assert leaky.returncode == 2, leaky.stdout + leaky.stderr
        assert "secret_patterns[0] ('ghp_[A-Za-z0-9]{36}')" in leaky.stderr
        assert "nothing was signed or recorded" in leaky.stderr
        assert TOKEN not in leaky.stdout + leaky.stderr and "Traceback" not in leaky.stderr
        assert [r.decision for r in team.rows(run_id)] == ["request"]  # nothing journaled
        denied = team.decide("bob", run_id, "deny", "--reason", "change freeze until Monday")
        assert denied.returncode == 0, denied.stderr
        code, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 3, out
    assert "denied by bob@example.com: change freeze until Monday" in out
    assert not (team.carol / "shipped.txt").exists()
    late = team.decide("alice", run_id, "approve")
    assert late.returncode == 1 and f"run {run_id} is stopped" in late.stderr
    history = cli(team.carol, "report", run_id, "--format", "json")
    assert "denied by bob@example.com" in json.loads(history.stdout)["run"]["reason"]


def test_the_same_flow_on_a_shared_sqlite_journal(tmp_path: Path, keys: dict[str, Path]) -> None:
    journal = f"sqlite:///{tmp_path / 'shared' / 'journal.db'}"
    (tmp_path / "shared").mkdir()
    team = Team(tmp_path, keys, journal, quorum=1)
    proc = team.start()
    try:
        run_id = team.waiting_run(proc)
        bad = cli(team.homes["alice"], "approve", run_id, "go", "--key", str(tmp_path / "none"))
        assert bad.returncode == 2 and "no private key at" in bad.stderr
        unknown = team.decide("alice", "20200101-000000-000000", "approve")
        assert unknown.returncode == 2 and "no run '20200101-000000-000000'" in unknown.stderr
        assert team.decide("alice", run_id, "approve").returncode == 0
        code, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, out
    assert [r.decision for r in team.rows(run_id)] == ["request", "approve", "verdict", "closed"]


def test_ssh_keygen_verifier_refuses_altered_unknown_and_foreign_namespace(
    keys: dict[str, Path],
) -> None:
    verifier = SshKeygenVerifier(keys["allowed_signers"], "opsbooks")
    payload = '{"decision":"approve"}\n'
    signed = SshKeygenSigner(keys["bob"], "opsbooks").sign(payload)
    assert verifier.verify(payload, signed) == "bob@example.com"
    with pytest.raises(BadSignature, match="the payload was altered"):
        verifier.verify(payload.replace("approve", "deny"), signed)
    with pytest.raises(BadSignature, match="not in"):
        verifier.verify(payload, SshKeygenSigner(keys["mallory"], "opsbooks").sign(payload))
    for_git = SshKeygenSigner(keys["bob"], "git").sign(payload)
    with pytest.raises(BadSignature):
        verifier.verify(payload, for_git)
