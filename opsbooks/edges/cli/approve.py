"""``opsbooks approve RUN GATE`` and ``opsbooks deny RUN GATE --reason TEXT``.

Signs the decision with the approver's SSH key (``ssh-keygen -Y sign``), verifies it
against ``[tool.opsbooks.approvals] allowed_signers`` and journals it, accepted or
refused, in the run's journal (SQLite here, PostgreSQL across machines); the waiting
run verifies it again before it counts. Exit 0: recorded; 1: refused (the reason is
printed and journaled); 2: bad input (no key, no allowed_signers, an unknown run, a
``--reason`` that a ``secret_patterns`` entry matches: refused before signing, since
the signed reason is journaled verbatim and cannot be redacted afterwards).
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.errors import EXIT_FAILED, EXIT_OK, BadInput, ConfigError

DEFAULT_KEY = "~/.ssh/id_ed25519"


def register(subparsers: Subparsers) -> None:
    approve = subparsers.add_parser(
        "approve", help="sign and record an approval of a gate a run waits at"
    )
    deny = subparsers.add_parser("deny", help="sign and record a denial: the waiting run stops")
    for parser, decision in ((approve, "approve"), (deny, "deny")):
        parser.add_argument("run_id", help="run id (or a unique prefix) from `opsbooks history`")
        parser.add_argument("gate", help="the gate's step id, as the waiting run printed it")
        parser.add_argument(
            "--key",
            type=Path,
            metavar="PATH",
            help=f"your SSH private key, listed in allowed_signers (default {DEFAULT_KEY})",
        )
        parser.add_argument(
            "--reason",
            required=decision == "deny",
            default="",
            help="why; signed and recorded (required for deny)",
        )
        parser.set_defaults(handler=decide_command, decision=decision)


def refuse_secret_reason(reason: str, patterns: Sequence[str]) -> None:
    """Refuse a reason a ``secret_patterns`` entry matches, before anything is signed.

    The reason is part of the signed payload, so the journal must keep it verbatim for
    the signature to verify: it cannot be redacted afterwards. The error names the
    pattern (configuration, not the secret), never the reason.
    """
    from opsbooks.records.redaction import Redactor

    for index, pattern in enumerate(patterns):
        if reason and Redactor(patterns=[pattern]).tainted(reason):
            raise BadInput(
                f"--reason matches secret_patterns[{index}] ({pattern!r}) of the "
                f"configuration, so it looks like it holds a secret. The reason is signed "
                f"and journaled exactly as given, and a signed text cannot be redacted "
                f"later; nothing was signed or recorded. Say why without the secret value "
                f"and run the command again."
            )


def decide_command(args: argparse.Namespace, app: App) -> int:
    from opsbooks.backends.signing import SigningFailed, SshKeygenSigner, SshKeygenVerifier
    from opsbooks.define.approvals import load_approval_settings
    from opsbooks.edges.session import journal_url
    from opsbooks.records.journal import open_journal
    from opsbooks.run.approving import submit

    settings = load_approval_settings(app.config.approvals)
    if not settings.allowed_signers:
        raise ConfigError(
            "[tool.opsbooks.approvals] sets no allowed_signers file, so no decision can be "
            'verified; add allowed_signers = "PATH" (see docs/guides/governance.md, '
            '"Signed approvals")'
        )
    reason = " ".join(str(args.reason).split())
    if args.decision == "deny" and not reason:
        raise BadInput("--reason is empty; say why you deny it (it is signed and recorded)")
    refuse_secret_reason(reason, app.config.secret_patterns)
    home = app.environ.get("HOME")
    key = args.key or Path(DEFAULT_KEY.replace("~", home, 1) if home else DEFAULT_KEY)
    key = Path(key).expanduser()
    namespace = settings.namespace
    journal = open_journal(journal_url(app.config))
    try:
        done = submit(
            journal,
            args.run_id,
            args.gate,
            args.decision,
            reason,
            signer=SshKeygenSigner(key, namespace),
            verifier=SshKeygenVerifier(app.config.path(settings.allowed_signers), namespace),
            settings=settings,
            at=time.time(),
            nonce=secrets.token_hex(16),
        )
    except SigningFailed as exc:
        raise BadInput(f"{exc}. The key must be the one allowed_signers lists for you.") from None
    finally:
        journal.close()
    verb = "approval" if args.decision == "approve" else "denial"
    if done.verdict.accepted:
        then = (
            "goes on"
            if args.decision == "approve"
            else f"stops at the gate (resumable: `opsbooks resume {done.run_id}` waits at "
            f"the gate for approvals again)"
        )
        app.say(
            f"recorded the {verb} of gate {args.gate} of run {done.run_id} by {done.principal} "
            f"(signature verified); the waiting run verifies it again and {then}"
        )
        return EXIT_OK
    print(
        f"opsbooks: {verb} refused: {done.verdict.why}. The refused attempt is journaled.",
        file=app.err,
    )
    return EXIT_FAILED
