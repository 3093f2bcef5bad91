"""Real faults on loopback for the troubleshooting trees: certificates, TLS and HTTP
servers, ports that refuse or never accept; and what the tests of this folder share.

Certificates are made once per session with ``cryptography``: a CA, server certificates
that are valid, expired, not yet valid, for another name, or self-signed, and client
certificates (valid, expired, from another CA). Servers run in threads on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from opsbooks.testing import DrillResult

DAY = dt.timedelta(days=1)
LOOPBACK = ("localhost", "127.0.0.1")
#: how long the slow endpoint takes; the latency test's threshold sits well below it
SLOW_SECONDS = 0.3


@dataclass(frozen=True)
class Pem:
    """A certificate and its key, written as PEM files."""

    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@dataclass
class Authority:
    """A CA that signs certificates for the tests."""

    name: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str) -> Authority:
        key = _key()
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(name, key, cert)

    def issue(
        self,
        common: str,
        *,
        names: tuple[str, ...] = (),
        start: dt.timedelta = -DAY,
        end: dt.timedelta = 30 * DAY,
        client: bool = False,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A leaf valid from now+start to now+end, with DNS/IP SANs ``names``."""
        key = key or _key()
        now = dt.datetime.now(dt.UTC)
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + start)
            .not_valid_after(now + end)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def write_pem(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Pem:
    """Write ``stem.crt`` and ``stem.key`` (mode 0600) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return Pem(cert_path, key_path)


def self_signed(folder: Path, common: str, names: tuple[str, ...]) -> Pem:
    """A certificate that is its own issuer: trusted by nobody."""
    key = _key()
    now = dt.datetime.now(dt.UTC)
    sans = [x509.DNSName(n) for n in names if not n[0].isdigit()]
    sans += [x509.IPAddress(ipaddress.ip_address(n)) for n in names if n[0].isdigit()]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - DAY)
        .not_valid_after(now + 30 * DAY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    return write_pem(folder, "self-signed", cert, key)


# --- servers -----------------------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    """``/healthz`` 200 ok, ``/fail`` 500 with a reason, ``/slow`` 200 after SLOW_SECONDS."""

    def do_GET(self) -> None:
        if self.path.startswith("/fail"):
            self._answer(500, '{"status": "fail", "checks": {"database": "connection refused"}}')
        elif self.path.startswith("/slow"):
            time.sleep(SLOW_SECONDS)
            self._answer(200, '{"status": "ok"}')
        else:
            self._answer(200, '{"status": "ok"}')

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextmanager
def http_server(pem: Pem | None = None) -> Iterator[int]:
    """Serve ``_Health`` on 127.0.0.1 (TLS with ``pem``); yield the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.daemon_threads = True
    if pem is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem.cert, pem.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: the kernel answers every SYN with a reset."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def never_accepting_port() -> Iterator[int]:
    """A listener whose accept queue is full: later SYNs are dropped, connects time out.

    ``listen(0)`` queues one connection; it is made here and never accepted, so the
    kernel drops every further SYN, as a firewall DROP rule would.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        yield port
    finally:
        filler.close()
        listener.close()


@contextmanager
def hanging_up_port() -> Iterator[int]:
    """A listener that accepts and closes at once: TLS and HTTP get no answer at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# --- what the tests share ------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """Every certificate the tests use, as PEM files."""

    ca: Path
    other_ca: Path
    valid: Pem
    expiring: Pem
    expired: Pem
    not_yet_valid: Pem
    wrong_host: Pem
    untrusted: Pem
    client: Pem
    client_expired: Pem
    client_other_ca: Pem


@dataclass(frozen=True)
class Servers:
    """Ports of the HTTPS servers (one per certificate) and of a plain HTTP one."""

    valid: int
    expiring: int
    expired: int
    not_yet_valid: int
    wrong_host: int
    untrusted: int
    plain: int


#: pg_hba.conf for the login tests: the superuser and the postgres database trust
#: loopback (so a missing role is named as such), app logs in with a password, and
#: nothing admits the role `blocked` to the database `appdb`
HBA = """\
local all all trust
host all postgres 127.0.0.1/32 trust
host all app 127.0.0.1/32 scram-sha-256
host postgres all 127.0.0.1/32 trust
"""
APP_PASSWORD = "s3cret-app-Pw"


#: the support contacts an escalation leaf names (as in the project's config)
CONTACTS = {
    "L1": "Operations on-call: #ops-oncall",
    "L2": "Platform engineering on-call: #platform, pager `platform-secondary`",
    "L3": "Owning team's engineering lead",
}


def assert_diagnosis(result: DrillResult, leaf: str) -> str:
    """The run ended successfully at diagnosis ``leaf``; return its finding."""
    result.assert_succeeded()
    reached = result.fact("diagnosis")
    assert reached is not None, result.output
    assert reached.value == leaf, result.output
    finding = result.fact("diagnosis.finding")
    assert finding is not None and finding.value
    return finding.value
