"""The check functions on their own: tokens, client certificates, login refusals (fast).

No server or subprocess: tokens are signed with PyJWT, certificates come from the
session's CAs on disk, and the PostgreSQL classifier reads the messages libpq prints.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from tsnet_kit import Certs

from opsbooks_playbooks.actions import UsageError
from opsbooks_playbooks.actions.checks import pg_auth, tls, tokens

SECRET = b"hmac-signing-secret-of-32-bytes!"


@pytest.fixture
def hmac_key(tmp_path: Path) -> str:
    path = tmp_path / "hmac.key"
    path.write_bytes(SECRET)
    return str(path)


def signed(**claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "svc", "iat": now, "exp": now + 300} | claims, SECRET, "HS256")


def verdict(token: str, **kw: Any) -> str:
    return str(tokens.check_token(token, **kw).outputs["jwt"])


def test_a_valid_token_passes_with_its_signature(hmac_key: str) -> None:
    result = tokens.check_token(signed(aud="api"), key_file=hmac_key, audience="api")
    assert result.outputs == {"jwt": "ok"}
    assert "signature verified" in result.text


def test_leeway_decides_between_skew_tolerated_and_expired() -> None:
    now = int(time.time())
    assert verdict(signed(exp=now - 30), leeway=60) == "ok"
    assert verdict(signed(exp=now - 90), leeway=60) == "expired"
    assert verdict(signed(nbf=now + 30), leeway=60) == "ok"
    assert verdict(signed(nbf=now + 90), leeway=60) == "not_yet_valid"
    assert verdict(signed(iat=now + 90, exp=now + 900), leeway=60) == "clock_skew"


def test_audience_as_text_or_list() -> None:
    assert verdict(signed(aud=["a", "api"]), audience="api") == "ok"
    assert verdict(signed(aud="other"), audience="api") == "wrong_audience"
    assert verdict(signed(), audience="api") == "wrong_audience"  # no aud at all


def test_signature_by_another_secret_or_an_unusable_alg(hmac_key: str, tmp_path: Path) -> None:
    forged = jwt.encode({"sub": "x"}, b"another-secret-of-32-bytes-long!", "HS256")
    assert verdict(forged, key_file=hmac_key) == "bad_signature"
    pem = tmp_path / "pub.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    result = tokens.check_token(signed(), key_file=str(pem))
    assert result.outputs["jwt"] == "bad_signature"
    assert "alg HS256" in result.text  # an HMAC token is never checked against a public key


def test_an_unsigned_token_is_refused_when_a_key_is_given(hmac_key: str) -> None:
    unsigned = jwt.encode({"sub": "x"}, None, algorithm="none")
    assert verdict(unsigned, key_file=hmac_key) == "bad_signature"


def test_garbage_and_absent_tokens() -> None:
    assert verdict("not-a-jwt") == "malformed"
    assert verdict("") == "skipped"


def test_the_token_is_read_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OB_T", "Bearer abc.def.ghi")
    assert tokens.read_token("OB_T", "") == "abc.def.ghi"
    (tmp_path / "t").write_text("xyz\n")
    assert tokens.read_token("", str(tmp_path / "t")) == "xyz"
    with pytest.raises(UsageError, match="does not exist"):
        tokens.read_token("", str(tmp_path / "missing"))


def test_the_token_never_shows_in_the_result(hmac_key: str) -> None:
    token = signed(exp=int(time.time()) - 999)
    result = tokens.check_token(token, key_file=hmac_key)
    assert token not in result.text and token.split(".")[2] not in result.text


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("client", "ok"),
        ("client_expired", "expired"),
        ("client_other_ca", "wrong_ca"),
    ],
)
def test_client_certificates_against_the_ca(certs: Certs, which: str, expected: str) -> None:
    pem = getattr(certs, which)
    result = tls.client_cert(str(pem.cert), str(certs.ca), str(pem.key))
    assert result.outputs["cert"] == expected, result.text
    assert "svc-billing" in result.text


def test_a_key_from_another_certificate(certs: Certs) -> None:
    result = tls.client_cert(str(certs.client.cert), str(certs.ca), str(certs.expired.key))
    assert result.outputs["cert"] == "key_mismatch"


def test_a_chain_through_the_bundle_of_the_other_ca(certs: Certs) -> None:
    # the same certificate is fine once the server trusts its CA
    result = tls.client_cert(str(certs.client_other_ca.cert), str(certs.other_ca))
    assert result.outputs["cert"] == "ok"


def test_unusable_certificate_files_are_usage_errors(certs: Certs, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        tls.client_cert(str(tmp_path / "nope.crt"), str(certs.ca))
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(UsageError, match="no PEM certificate"):
        tls.client_cert(str(certs.client.cert), str(junk))
    skipped = {"cert": "skipped", "cert_not_after": "", "cert_days_left": ""}
    assert tls.client_cert("", str(certs.ca)).outputs == skipped


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('FATAL:  password authentication failed for user "app"', "password_rejected"),
        (
            'FATAL:  no pg_hba.conf entry for host "10.0.0.5", user "app", database "x", '
            "no encryption",
            "hba_rejected",
        ),
        ('FATAL:  pg_hba.conf rejects connection for host "127.0.0.1"', "hba_rejected"),
        ('FATAL:  role "ghost" does not exist', "no_role"),
        ('FATAL:  database "nosuch" does not exist', "no_database"),
        ("fe_sendauth: no password supplied", "no_password"),
        ('connection to server at "127.0.0.1", port 1 failed: Connection refused', "unreachable"),
        ("SSL SYSCALL error: EOF detected", "error"),
    ],
)
def test_login_refusals_are_classified(message: str, expected: str) -> None:
    assert pg_auth.classify(message) == expected


def test_no_role_skips_the_login() -> None:
    assert pg_auth.login("127.0.0.1", 1, "", "postgres").outputs == {"pg": "skipped"}
