"""Bearer token (JWT) checks: signature, expiry, not-before, issue time and audience.

The token is read from an environment variable or a file, never from argv.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import jwt

from opsbooks.actions import Result
from opsbooks_playbooks.actions import UsageError

_ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
_HMAC = ("HS256", "HS384", "HS512")


def read_token(env_name: str, token_file: str) -> str:
    """The token from the variable ``env_name`` or else ``token_file``; empty if neither."""
    token = os.environ.get(env_name, "").strip() if env_name else ""
    if not token and token_file:
        path = Path(token_file)
        if not path.is_file():
            raise UsageError(f"token file {token_file} does not exist")
        token = path.read_text(encoding="utf-8").strip()
    return token.removeprefix("Bearer ").strip()


def _when(epoch: float) -> str:
    return f"{dt.datetime.fromtimestamp(epoch, dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _signature(token: str, key_file: str, algorithm: str) -> str:
    """``""`` if the signature verifies with ``key_file``, else why not."""
    key = Path(key_file).read_bytes() if Path(key_file).is_file() else None
    if key is None:
        raise UsageError(f"key file {key_file} does not exist; pass the issuer's public key")
    allowed = _ASYMMETRIC if key.lstrip().startswith(b"-----BEGIN") else _HMAC
    if algorithm not in allowed:
        return f"the token says alg {algorithm}, which this key cannot verify"
    try:
        jwt.decode(
            token,
            key,
            algorithms=list(allowed),
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
            },
        )
    except jwt.InvalidSignatureError:
        return "the signature does not verify with this key"
    except jwt.InvalidKeyError as exc:
        raise UsageError(f"key file {key_file} is not a usable key: {exc}") from None
    except jwt.PyJWTError as exc:
        return str(exc)
    return ""


def _claims_verdict(
    claims: dict[str, Any], now: float, leeway: float, audience: str
) -> tuple[str, str]:
    """The first claim at fault, read with ``leeway`` seconds of tolerated clock skew."""
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if isinstance(exp, int | float) and now > exp + leeway:
        return "expired", f"expired at {_when(exp)}, {now - exp:.0f}s ago (leeway {leeway:g}s)"
    if isinstance(nbf, int | float) and now < nbf - leeway:
        return "not_yet_valid", f"not valid before {_when(nbf)}, {nbf - now:.0f}s from now"
    if isinstance(iat, int | float) and now < iat - leeway:
        return "clock_skew", (
            f"issued at {_when(iat)}, {iat - now:.0f}s in the future: the issuer's clock is "
            f"ahead of this host's by more than the {leeway:g}s tolerated"
        )
    if audience:
        aud = claims.get("aud")
        held = [aud] if isinstance(aud, str) else list(aud or [])
        if audience not in held:
            return "wrong_audience", f"audience {held or 'absent'} does not include {audience!r}"
    return "ok", ""


def check_token(
    token: str, *, key_file: str = "", audience: str = "", leeway: float = 60.0
) -> Result:
    """Read a JWT and say which of its claims or its signature would make a server refuse it."""
    if not token:
        return Result("no token given: token checks skipped", outputs={"jwt": "skipped"})
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return Result(f"the token is not a readable JWT: {exc}", outputs={"jwt": "malformed"})
    algorithm = str(header.get("alg", ""))
    if key_file and (why := _signature(token, key_file, algorithm)):
        return Result(f"token signature: {why}", outputs={"jwt": "bad_signature"})
    now = dt.datetime.now(dt.UTC).timestamp()
    verdict, why = _claims_verdict(claims, now, leeway, audience)
    subject = claims.get("sub", "?")
    signed = "signature verified" if key_file else "signature not checked (no key given)"
    if verdict == "ok":
        exp = claims.get("exp")
        left = f", expires {_when(exp)}" if isinstance(exp, int | float) else ", never expires"
        return Result(
            f"token for {subject} ({algorithm}) is valid{left}; {signed}", outputs={"jwt": "ok"}
        )
    return Result(
        f"token for {subject} ({algorithm}) is refused: {why}; {signed}", outputs={"jwt": verdict}
    )
