"""Each signed decision a waiting run judges gets a console line: who (the verified
signer, never a self-declared name), and whether it counted, with the refusal's reason."""

from __future__ import annotations

import io

from opsbooks.edges.console import Console
from opsbooks.records.events import ApprovalDecided
from opsbooks.records.redaction import Redactor


def _shown(event: ApprovalDecided) -> list[str]:
    out = io.StringIO()
    Console(out, Redactor())(event)
    return out.getvalue().splitlines()


def test_an_accepted_approval_names_the_verified_signer() -> None:
    event = ApprovalDecided("go", "approve", "alice@example.com", True, "", "looks good")
    assert _shown(event) == ["    approve by alice@example.com, signature verified (looks good)"]


def test_a_refused_decision_says_why_and_never_names_an_unverified_signer() -> None:
    event = ApprovalDecided("go", "approve", "", False, "the signature does not verify")
    assert _shown(event) == [
        "    approve by an unverified signer refused: the signature does not verify"
    ]


def test_a_four_eyes_refusal_names_the_starter() -> None:
    why = "carol started the run (four-eyes)"
    event = ApprovalDecided("go", "deny", "carol@example.com", False, why, "no")
    assert _shown(event) == [f"    deny by carol@example.com refused: {why} (no)"]
