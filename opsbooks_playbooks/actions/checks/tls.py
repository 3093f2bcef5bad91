"""TLS checks: a server's handshake and certificate, and a client certificate against a CA."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from opsbooks.actions import Result
from opsbooks_playbooks.actions import UsageError

#: OpenSSL verify codes -> the tree's verdicts (see `man openssl-verify`)
_VERIFY_CODES = {
    9: "not_yet_valid",  # X509_V_ERR_CERT_NOT_YET_VALID
    10: "expired",  # X509_V_ERR_CERT_HAS_EXPIRED
    2: "untrusted",  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    18: "untrusted",  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: "untrusted",  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20: "untrusted",  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "untrusted",  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    62: "hostname_mismatch",  # X509_V_ERR_HOSTNAME_MISMATCH
    64: "hostname_mismatch",  # X509_V_ERR_IP_ADDRESS_MISMATCH
}


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


def _names(cert: x509.Certificate) -> list[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in sans.get_values_for_type(x509.DNSName)] + [
        str(ip) for ip in sans.get_values_for_type(x509.IPAddress)
    ]


def describe(cert: x509.Certificate, now: dt.datetime) -> tuple[str, dict[str, object]]:
    """One line about a certificate, and the outputs that go with it."""
    not_after = cert.not_valid_after_utc
    days = (not_after - now).days
    sans = ", ".join(_names(cert)) or "none"
    text = (
        f"subject {_name(cert.subject)}, issuer {_name(cert.issuer)}, names [{sans}], "
        f"valid {cert.not_valid_before_utc:%Y-%m-%d %H:%M} to {not_after:%Y-%m-%d %H:%M} UTC"
    )
    return text, {"not_after": f"{not_after:%Y-%m-%dT%H:%M:%SZ}", "days_left": str(days)}


def _peer_certificate(host: str, port: int, server_name: str, timeout: float) -> bytes | None:
    """The server's certificate, read without verifying it (only to describe it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def _plain_http(host: str, port: int, timeout: float) -> str:
    """The status line a plain-HTTP request gets from the port, or "" (it is no HTTP server).

    Asked only after a handshake failed without a certificate verdict: a port that
    answers ``HTTP/1.1 400`` to ``GET /`` speaks HTTP, not TLS (``curl http://``).
    """
    request = f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.sendall(request)
            first = raw.recv(256)
    except OSError:
        return ""
    line = first.split(b"\r\n", 1)[0].decode("latin-1")
    return line if line.startswith("HTTP/") else ""


def _verdict(host: str, port: int, name: str, ca_file: str, timeout: float) -> tuple[str, str]:
    """The handshake's verdict and why (or the TLS version when it is ok)."""
    context = ssl.create_default_context(cafile=ca_file or None)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            return "ok", tls.version() or ""
    except ssl.SSLCertVerificationError as exc:
        return _VERIFY_CODES.get(exc.verify_code, "error"), exc.verify_message
    except (OSError, ssl.SSLError) as exc:
        why = f"{type(exc).__name__}: {exc}"
    status = _plain_http(host, port, timeout)
    if status:
        return "plain_http", f"{why}; the port answers plain HTTP ({status!r}), not TLS"
    return "error", why


def handshake(
    host: str,
    port: int,
    *,
    server_name: str = "",
    ca_file: str = "",
    timeout: float = 5.0,
    warn_days: int = 14,
) -> Result:
    """Handshake as a verifying client would (``openssl s_client -verify_return_error``).

    Publishes ``tls`` (ok, expiring_soon: valid but for fewer than ``warn_days`` days,
    expired, not_yet_valid, hostname_mismatch, untrusted, plain_http, error) and the
    certificate's ``tls_days_left`` and ``tls_not_after`` (empty when none was received).
    """
    if ca_file and not Path(ca_file).is_file():
        raise UsageError(f"CA file {ca_file} does not exist; pass a PEM bundle or leave it empty")
    name = server_name or host
    verdict, why = _verdict(host, port, name, ca_file, timeout)
    outputs: dict[str, object] = {"tls_not_after": "", "tls_days_left": ""}
    der = _peer_certificate(host, port, name, timeout) if verdict != "plain_http" else None
    detail = "no certificate was received"
    if der is not None:
        detail, more = describe(x509.load_der_x509_certificate(der), dt.datetime.now(dt.UTC))
        outputs |= {f"tls_{key}": value for key, value in more.items()}
    if verdict == "ok" and der is not None and int(str(outputs["tls_days_left"])) < warn_days:
        verdict = "expiring_soon"
    outputs = {"tls": verdict, **outputs}
    trust = ca_file or "the system trust store"
    if verdict == "ok":
        return Result(
            f"TLS handshake with {name} ok ({why}, trusted by {trust}); {detail}", outputs=outputs
        )
    if verdict == "expiring_soon":
        return Result(
            f"TLS handshake with {name} ok ({why}, trusted by {trust}), but the certificate "
            f"expires in {outputs['tls_days_left']} day(s), within {warn_days}; {detail}",
            outputs=outputs,
        )
    return Result(f"TLS handshake with {name} failed: {why} ({verdict}); {detail}", outputs=outputs)


def _load_chain(path: str, what: str) -> list[x509.Certificate]:
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{what} {path} does not exist; pass a PEM file")
    try:
        return x509.load_pem_x509_certificates(file.read_bytes())
    except ValueError:
        raise UsageError(f"{what} {path} holds no PEM certificate") from None


def _key_matches(cert: x509.Certificate, key_file: str) -> bool:
    data = Path(key_file).read_bytes() if Path(key_file).is_file() else None
    if data is None:
        raise UsageError(f"client key {key_file} does not exist; pass its PEM file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(
            f"client key {key_file} is encrypted; decrypt a copy (openssl pkey)"
        ) from None
    except ValueError:
        raise UsageError(f"client key {key_file} is not a PEM private key") from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if issuer.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):  # a bad signature, an unusable key
        return False
    return True


def _trusted(chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> bool:
    current, pool = chain[0], chain[1:]
    for _ in range(len(pool) + 1):
        if any(_issued_by(current, anchor) for anchor in anchors):
            return True
        parent = next((c for c in pool if _issued_by(current, c)), None)
        if parent is None:
            return False
        current = parent
    return False


def _dates(cert: x509.Certificate, now: dt.datetime) -> str:
    if now < cert.not_valid_before_utc:
        return "not_yet_valid"
    if now > cert.not_valid_after_utc:
        return "expired"
    return "ok"


def client_cert(cert_file: str, ca_bundle: str, key_file: str = "") -> Result:
    """Check a client certificate (and its chain) against the CA bundle the server trusts."""
    if not cert_file:
        return Result(
            "no client certificate given: certificate checks skipped",
            outputs={"cert": "skipped", "cert_not_after": "", "cert_days_left": ""},
        )
    chain = _load_chain(cert_file, "client certificate")
    anchors = _load_chain(ca_bundle, "CA bundle")
    now = dt.datetime.now(dt.UTC)
    detail, outputs = describe(chain[0], now)
    outputs = {f"cert_{key}": value for key, value in outputs.items()}
    verdict = next((v for v in (_dates(c, now) for c in chain) if v != "ok"), "ok")
    if verdict == "ok" and not _trusted(chain, anchors):
        verdict = "wrong_ca"
    if verdict == "ok" and key_file and not _key_matches(chain[0], key_file):
        verdict = "key_mismatch"
    said = {
        "ok": f"valid and issued by a CA in {ca_bundle}",
        "expired": "expired",
        "not_yet_valid": "not valid yet",
        "wrong_ca": f"not issued by any CA in {ca_bundle} "
        f"(it holds: {', '.join(_name(a.subject) for a in anchors)})",
        "key_mismatch": f"valid, but {key_file} is not its private key",
    }[verdict]
    return Result(
        f"client certificate {cert_file} is {said}; {detail}", outputs={"cert": verdict, **outputs}
    )
