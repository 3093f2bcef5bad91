"""Fakes of the approval signing protocols, for tests without ``ssh-keygen``.

``FakeSigner(principal)`` "signs" by tagging the payload's digest with the principal;
``FakeVerifier(known)`` accepts a tag only for a principal it knows and only when the
digest matches the payload, so an altered payload and an unknown signer are refused as
the real ``SshKeygenVerifier`` refuses them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field

from opsbooks.backends.signing import BadSignature

_TAG = "fake-signature"


def _digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FakeSigner:
    """Signs as ``principal`` (an ``ApprovalSigner``)."""

    principal: str

    def sign(self, payload: str) -> str:
        return f"{_TAG} {self.principal} {_digest(payload)}"


@dataclass
class FakeVerifier:
    """Knows the principals in ``known`` (a ``SignatureVerifier``); counts its calls."""

    known: Collection[str]
    calls: list[str] = field(default_factory=list)

    def verify(self, payload: str, signature: str) -> str:
        self.calls.append(signature)
        parts = signature.split(" ")
        if len(parts) != 3 or parts[0] != _TAG or parts[1] not in self.known:
            raise BadSignature("the signing key is not in allowed_signers")
        if parts[2] != _digest(payload):
            raise BadSignature("the signature does not verify: the payload was altered")
        return parts[1]
