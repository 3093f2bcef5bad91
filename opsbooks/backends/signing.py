"""SSH signatures for approvals: sign with ``ssh-keygen -Y sign``, verify against an
``allowed_signers`` file with ``ssh-keygen -Y find-principals`` and ``-Y verify``.

The mechanism git uses for signed commits: a key maps to a principal
(``alice@example.com``) in ``allowed_signers``, restricted to a namespace, so a
signature made for git (namespace ``git``) is not an approval here. Two narrow
protocols, ``ApprovalSigner`` and ``SignatureVerifier``; ``opsbooks.testing`` ships
fakes of both. The payload travels on stdin, never in argv.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "ApprovalSigner",
    "BadSignature",
    "SignatureVerifier",
    "SigningFailed",
    "SshKeygenSigner",
    "SshKeygenVerifier",
]

_TIMEOUT = 30.0


class BadSignature(Exception):
    """The signature does not verify: the key is unknown, or the payload was altered."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class SigningFailed(Exception):
    """The approver's own key could not sign (missing, unreadable, wrong format)."""


class ApprovalSigner(Protocol):
    def sign(self, payload: str) -> str:
        """Return the armored signature of ``payload``."""
        ...


class SignatureVerifier(Protocol):
    def verify(self, payload: str, signature: str) -> str:
        """Return the principal whose key made ``signature`` over ``payload``, or raise
        :class:`BadSignature` saying why not."""
        ...


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SigningFailed("ssh-keygen is not installed (it comes with the OpenSSH client)")
    return found


@dataclass(frozen=True)
class SshKeygenSigner:
    """Signs with a private key file (``~/.ssh/id_ed25519``) in ``namespace``."""

    key: Path
    namespace: str

    def sign(self, payload: str) -> str:
        if not self.key.is_file():
            raise SigningFailed(f"no private key at {self.key}; pass --key PATH")
        done = subprocess.run(
            [_ssh_keygen(), "-q", "-Y", "sign", "-f", str(self.key), "-n", self.namespace],
            input=payload.encode("utf-8"),
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
        signature = done.stdout.decode("ascii", "replace")
        if done.returncode != 0 or "BEGIN SSH SIGNATURE" not in signature:
            why = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise SigningFailed(f"ssh-keygen could not sign with {self.key}: {why}")
        return signature


@dataclass(frozen=True)
class SshKeygenVerifier:
    """Verifies against ``allowed_signers`` in ``namespace``."""

    allowed_signers: Path
    namespace: str

    def verify(self, payload: str, signature: str) -> str:
        if not self.allowed_signers.is_file():
            raise BadSignature(f"the allowed_signers file {self.allowed_signers} is missing")
        with tempfile.TemporaryDirectory(prefix="opsbooks-sig-") as tmp:
            sig = Path(tmp) / "decision.sig"
            sig.write_text(signature, encoding="ascii", errors="replace")
            principals = self._principals(sig)
            for principal in principals:
                if self._verifies(sig, principal, payload):
                    return principal
        raise BadSignature(
            f"the signature does not verify for {', '.join(principals)} in namespace "
            f"{self.namespace!r}: the payload was altered, or it was signed for another use"
        )

    def _principals(self, sig: Path) -> list[str]:
        argv = [_ssh_keygen(), "-Y", "find-principals", "-s", str(sig)]
        done = subprocess.run(
            [*argv, "-f", str(self.allowed_signers)],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
        found = [line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines()]
        if done.returncode != 0 or not any(found):
            raise BadSignature(
                f"the signing key is not in {self.allowed_signers} (or the signature is "
                f"malformed): only keys listed there may approve"
            )
        return [line for line in found if line]

    def _verifies(self, sig: Path, principal: str, payload: str) -> bool:
        argv = [_ssh_keygen(), "-Y", "verify", "-f", str(self.allowed_signers)]
        done = subprocess.run(
            [*argv, "-I", principal, "-n", self.namespace, "-s", str(sig)],
            input=payload.encode("utf-8"),
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
        return done.returncode == 0
