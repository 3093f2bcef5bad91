"""troubleshoot.authentication reaches each leaf when its fault is made real.

Tokens are signed with PyJWT (the secret token param reaches the check by environment
only); client certificates come from the session's CAs; logins go to a real
PostgreSQL whose pg_hba.conf admits `app` by password, trusts the `postgres`
database (so a missing role is named) and has no entry for `blocked` on `appdb`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tsnet_kit import APP_PASSWORD, CONTACTS, Certs, assert_diagnosis

from opsbooks.testing import Drill
from opsbooks.testing.postgres import PostgresServer

pytestmark = pytest.mark.slow

NAME = "troubleshoot.authentication"
AUDIENCE = "billing-api"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    """The token issuer's signing key and its public key file."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp_path_factory.mktemp("issuer") / "issuer.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, public


def token(key: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "svc-billing", "aud": AUDIENCE, "iat": now - 10, "exp": now + 600} | claims
    return jwt.encode(body, key, algorithm="ES256")


def token_params(issuer: tuple[ec.EllipticCurvePrivateKey, Path], **claims: Any) -> dict[str, Any]:
    key, public = issuer
    return {"token": token(key, **claims), "key_file": str(public), "audience": AUDIENCE}


def assert_token_kept_secret(tree: Drill, result: Any, secret: str) -> None:
    """Neither the console nor any file of the run's state (journal, audit) holds it."""
    assert secret not in result.output
    state = [p for p in (tree.root / ".opsbooks").rglob("*") if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in state)  # the audit trail was read too
    for path in state:
        assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("claims", "leaf"),
    [
        ({"exp": int(time.time()) - 3600}, "token_expired"),
        ({"nbf": int(time.time()) + 3600}, "token_not_yet_valid"),
        ({"iat": int(time.time()) + 900}, "clock_skew"),
        ({"aud": "reports-api"}, "token_wrong_audience"),
    ],
    ids=["expired", "nbf-future", "iat-future", "wrong-aud"],
)
def test_a_refused_token_claim(tree: Drill, issuer: Any, claims: dict[str, Any], leaf: str) -> None:
    params = token_params(issuer, **claims)
    result = tree.run(NAME, params)
    assert_diagnosis(result, leaf)
    result.assert_skipped("check_client_cert")
    assert_token_kept_secret(tree, result, params["token"])


def test_a_token_signed_by_another_key(tree: Drill, issuer: Any) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    params = token_params(issuer) | {"token": token(other)}
    result = tree.run(NAME, params)
    assert_diagnosis(result, "token_bad_signature")
    assert "does not verify" in result.output
    assert_token_kept_secret(tree, result, params["token"])


def test_a_truncated_token_is_malformed(tree: Drill, tmp_path: Path, issuer: Any) -> None:
    file = tmp_path / "token.txt"
    file.write_text("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIi\n")
    result = tree.run(NAME, {"token_file": str(file)})
    assert_diagnosis(result, "token_malformed")


def test_an_expired_client_certificate(tree: Drill, certs: Certs) -> None:
    result = tree.run(
        NAME, {"client_cert": str(certs.client_expired.cert), "ca_bundle": str(certs.ca)}
    )
    assert_diagnosis(result, "client_cert_expired")
    assert "is expired" in result.output
    result.assert_skipped("check_pg_login")


def test_a_client_certificate_from_another_ca(tree: Drill, certs: Certs) -> None:
    result = tree.run(
        NAME, {"client_cert": str(certs.client_other_ca.cert), "ca_bundle": str(certs.ca)}
    )
    assert_diagnosis(result, "client_cert_wrong_ca")
    assert "Other Root CA" not in result.output.split("it holds:")[1].split(")")[0]
    assert f"openssl verify -CAfile {certs.ca}" in result.output


def test_a_client_key_of_another_certificate(tree: Drill, certs: Certs) -> None:
    result = tree.run(
        NAME,
        {
            "client_cert": str(certs.client.cert),
            "client_key": str(certs.client_expired.key),
            "ca_bundle": str(certs.ca),
        },
    )
    assert_diagnosis(result, "client_key_mismatch")


def pg_params(pg: PostgresServer, user: str, **more: Any) -> dict[str, Any]:
    return {"pg_host": pg.host, "pg_port": pg.port, "pg_user": user, **more}


def test_a_wrong_password_is_rejected(tree: Drill, pg: PostgresServer) -> None:
    result = tree.run(NAME, pg_params(pg, "app", pg_database="appdb", pg_password="guess-Pw1"))
    assert_diagnosis(result, "pg_password_rejected")
    assert "password authentication failed" in result.output
    assert "guess-Pw1" not in result.output


def test_a_role_pg_hba_does_not_admit(tree: Drill, pg: PostgresServer) -> None:
    result = tree.run(NAME, pg_params(pg, "blocked", pg_database="appdb"))
    assert_diagnosis(result, "pg_hba_rejected")
    assert 'no pg_hba.conf entry for host "127.0.0.1", user "blocked"' in result.output


def test_a_role_that_does_not_exist(tree: Drill, pg: PostgresServer) -> None:
    result = tree.run(NAME, pg_params(pg, "ghost"))
    assert_diagnosis(result, "pg_role_missing")
    assert 'role "ghost" does not exist' in result.output


def test_a_database_that_is_down_is_not_an_auth_fault(tree: Drill, pg: PostgresServer) -> None:
    with_closed = pg_params(pg, "app", pg_port=1)
    result = tree.run(NAME, with_closed)
    assert_diagnosis(result, "pg_unreachable")
    assert "troubleshoot.connectivity" in result.output


def test_a_missing_database_escalates(tree: Drill, pg: PostgresServer) -> None:
    result = tree.run(NAME, pg_params(pg, "postgres", pg_database="nosuchdb"))
    assert_diagnosis(result, "escalate")
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"
    assert CONTACTS["L2"] in result.output


def test_valid_credentials_have_no_authentication_fault(
    tree: Drill, issuer: Any, certs: Certs, pg: PostgresServer, tmp_path: Path
) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{pg.host}:{pg.port}:appdb:app:{APP_PASSWORD}\n")
    passfile.chmod(0o600)
    params = token_params(issuer) | {
        "client_cert": str(certs.client.cert),
        "client_key": str(certs.client.key),
        "ca_bundle": str(certs.ca),
        **pg_params(pg, "app", pg_database="appdb", pg_passfile=str(passfile)),
    }
    result = tree.run(NAME, params)
    finding = assert_diagnosis(result, "all_ok")
    assert "No authentication fault found" in finding
    for step in ("check_token", "check_client_cert", "check_pg_login"):
        result.assert_succeeded_step(step)
    assert "login app@127.0.0.1" in result.output and "ok as app" in result.output
    assert_token_kept_secret(tree, result, params["token"])


def test_a_valid_token_alone_has_no_fault(tree: Drill, issuer: Any) -> None:
    result = tree.run(NAME, token_params(issuer))
    assert_diagnosis(result, "all_ok")
    for step in ("check_client_cert", "route_cert", "check_pg_login", "route_pg"):
        result.assert_skipped(step)  # not given: not checked
    result.assert_skipped("token_expired")
