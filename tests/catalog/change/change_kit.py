"""Real local targets for the change, support and vulnerability drills.

- ``health_server(flag)``: a loopback HTTP health endpoint that answers 503
  ``{"status": "draining"}`` while the maintenance flag file exists, else 200 ``ok``;
- ``tls_server(cert, key)``: a loopback TLS server presenting a given certificate;
- ``make_cert(...)``: a self-signed certificate, valid or already expired;
- ``utc(offset)``: ISO-8601 UTC text relative to the real clock.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsbooks.testing.webhook import RecordingWebhook

CONTACTS = {
    "L1": "Ops on-call: #ops-oncall, pager ops-primary",
    "L2": "Platform on-call: #platform, +1 555 0102",
    "L3": "Engineering lead: Dana Reyes, +1 555 0103",
}


def notify_settings(hook: RecordingWebhook, **extra: Any) -> dict[str, Any]:
    """Settings with the default and page channels on the webhook, and the contacts."""
    channel = {"type": "webhook", "url": hook.url, "timeout": 5}
    return {"notify": {"default": channel, "page": channel}, "contacts": CONTACTS, **extra}


def utc(**offset: float) -> str:
    """Now plus ``offset`` (``hours=-1``), as ``YYYY-MM-DDTHH:MM:SSZ``."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(**offset)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def health_server(flag: Path) -> Iterator[str]:
    """Serve ``/health`` on loopback; yield its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            draining = flag.exists()
            body = json.dumps({"status": "draining" if draining else "ok"}).encode()
            self.send_response(503 if draining else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()


def make_cert(folder: Path, name: str, *, expired: bool = False) -> tuple[Path, Path]:
    """Write ``name.crt`` and ``name.key``: a self-signed CA-capable cert for localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    start, end = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=30),
        )
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    crt_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt_path, key_path


@contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[int]:
    """Accept TLS handshakes on a loopback port until the block ends; yield the port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
