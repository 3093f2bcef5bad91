"""Signed approvals, as data and rules: the settings, the signed payload, who may decide.

``[tool.opsbooks.approvals]`` names the ``allowed_signers`` file (the OpenSSH format git
uses for signed commits), the roles and their members, the signature namespace and how
often a waiting run looks for decisions. A gate with ``approvers="role"`` opens a
*request* (what it needs, with a random token); ``opsbooks approve`` signs a canonical
:class:`Payload` bound to that request, and :func:`judge` decides whether a verified
principal's decision counts. The rules are pure: the signature itself is checked by a
``SignatureVerifier`` (``opsbooks.backends.signing``), here only its verified principal.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from opsbooks.define.policies import seconds
from opsbooks.errors import ConfigError

Decision = Literal["approve", "deny"]
#: the waiting run's own rows: what it needs, that it stopped waiting (and why), and its
#: verdict on each decision it read (``payload`` is that decision's ``seq``)
REQUEST, CLOSED, VERDICT = "request", "closed", "verdict"
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")


class ApprovalSettings(BaseModel):
    """``[tool.opsbooks.approvals]``: who may sign, in which roles, and how runs wait."""

    model_config = ConfigDict(extra="forbid")

    #: the OpenSSH allowed_signers file: ``alice@example.com namespaces="opsbooks" ssh-ed25519 ...``
    allowed_signers: str = ""
    #: role name -> its members' principals (as in allowed_signers)
    roles: dict[str, list[str]] = {}
    #: the signature namespace (``ssh-keygen -Y sign -n``): a signature for git is not one here
    namespace: str = "opsbooks"
    #: how often a waiting run reads the journal for decisions
    poll: str = "1s"

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.fullmatch(value):
            raise ValueError(f"namespace {value!r}: use letters, digits and . _ @ -")
        return value

    @field_validator("poll")
    @classmethod
    def _poll(cls, value: str) -> str:
        if seconds(value) <= 0:
            raise ValueError("poll must be a positive duration such as '1s'")
        return value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, members in value.items():
            if any(not member.strip() or member != member.strip() for member in members):
                raise ValueError(f"role {role!r} lists an empty or padded principal")
        return value

    @property
    def poll_seconds(self) -> float:
        return seconds(self.poll)

    def members(self, role: str) -> tuple[str, ...]:
        return tuple(self.roles.get(role, ()))


def load_approval_settings(table: Mapping[str, Any]) -> ApprovalSettings:
    """Validate ``[tool.opsbooks.approvals]``; a malformed table is one ConfigError."""
    try:
        return ApprovalSettings.model_validate(dict(table))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'table'}: {e['msg'].lower()}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(
            f"[tool.opsbooks.approvals] is invalid: {problems}. Fix the table: allowed_signers "
            f'= "PATH", roles = {{ ROLE = ["alice@example.com"] }}, namespace = "opsbooks", '
            f'poll = "1s" (see docs/guides/governance.md, "Signed approvals").'
        ) from None


def question_hash(question: str) -> str:
    """What a signature binds the question to: its SHA-256 (the text stays in the run)."""
    return hashlib.sha256(question.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WaitingGate:
    """What a waiting run needs, written as its ``request`` row: the approvers' contract."""

    run_id: str
    runbook: str
    gate: str
    question: str  #: the SHA-256 of the question (``question_hash``)
    role: str
    quorum: int
    four_eyes: bool
    starter: str
    token: str  #: random per wait: a signature for another wait is not one for this

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, text: str) -> WaitingGate:
        data = _json_object(text, "approval request")
        names = {f.name for f in fields(cls)}
        if set(data) != names:
            raise ValueError(f"an approval request needs exactly {sorted(names)}")
        return cls(**data)


@dataclass(frozen=True)
class Payload:
    """The canonical text an approver signs: the wait it answers, the decision, a nonce."""

    run_id: str
    runbook: str
    gate: str
    question: str
    request: str
    decision: str
    reason: str
    at: float
    nonce: str
    version: int = 1

    def text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def parse(cls, text: str) -> Payload:
        """Read a payload; raise ValueError if it is not one (then it never verified)."""
        data = _json_object(text, "approval payload")
        names = {f.name for f in fields(cls)}
        if set(data) != names:
            raise ValueError(f"an approval payload has exactly the keys {sorted(names)}")
        payload = cls(**data)
        if payload.text() != text:
            raise ValueError("the approval payload is not in canonical form")
        return payload


@dataclass(frozen=True)
class Counted:
    """A decision already counted for this wait: its verified principal and what it said."""

    principal: str
    decision: str
    reason: str = ""
    nonce: str = ""


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    why: str


def same_person(principal: str, who: str) -> bool:
    """Whether a signer is the run's starter: the whole name or the part before the ``@``.

    Deliberately wide: four-eyes refuses ``carol@example.com`` for a run started as
    ``carol``, since a wrong refusal costs a second approver and a wrong accept costs
    the control itself.
    """
    a, b = principal.strip().casefold(), who.strip().casefold()
    return bool(a and b) and (a == b or a.split("@", 1)[0] == b.split("@", 1)[0])


def judge(
    principal: str,
    payload: Payload,
    waiting: WaitingGate | None,
    members: Sequence[str],
    counted: Sequence[Counted],
) -> Verdict:
    """Whether ``principal``'s verified decision counts for ``waiting`` (None: nothing waits).

    Refused, with the reason: nothing waiting (or already decided), a payload for another
    wait, a principal not in the role, the starter under four-eyes, a second decision by
    the same principal, a replayed nonce.
    """
    if waiting is None:
        return Verdict(False, f"gate {payload.gate!r} of run {payload.run_id} is not waiting")
    if decided(waiting, counted) is not None:
        return Verdict(False, f"gate {waiting.gate!r} was already decided")
    bound = (payload.run_id, payload.gate, payload.question, payload.request)
    if bound != (waiting.run_id, waiting.gate, waiting.question, waiting.token):
        return Verdict(False, "the signed payload is for another run, gate, question or wait")
    if payload.decision not in ("approve", "deny"):
        return Verdict(False, f"unknown decision {payload.decision!r}")
    if principal not in members:
        return Verdict(False, f"{principal} is not in role {waiting.role}")
    if waiting.four_eyes and same_person(principal, waiting.starter):
        return Verdict(
            False, f"{principal} started the run; four-eyes needs someone else to decide"
        )
    if any(c.nonce == payload.nonce for c in counted):
        return Verdict(False, "this signed decision was already counted (a replay)")
    if any(c.principal == principal for c in counted):
        return Verdict(False, f"{principal} already decided; a decision counts once")
    return Verdict(True, f"{payload.decision} by {principal} counted")


def decided(waiting: WaitingGate, counted: Sequence[Counted]) -> str | None:
    """``approved``, ``denied`` or None (still waiting) from the counted decisions."""
    if any(c.decision == "deny" for c in counted):
        return "denied"
    approvers = {c.principal for c in counted if c.decision == "approve"}
    return "approved" if len(approvers) >= waiting.quorum else None


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise ValueError(f"the {what} is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"the {what} is not a JSON object")
    return data
