"""``python -m opsbooks_playbooks.actions.checks``: each diagnostic check as a command to type.

Exit status: 0 the check ran (what it found is in its ``::output`` lines); 1 it could
not run; 2 bad usage (a flag, or a file it cannot use). No secret is ever a flag: the
token is read from ``--token-env`` or ``--token-file``, a password from PGPASSWORD or
a .pgpass file. Each command imports only its own check module, so a check starts fast.
"""

from __future__ import annotations

from typing import Annotated

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import UsageError, no_option_arg, program

app = program("checks", __doc__)

Host = Annotated[str, Arg(help="host name or address", type=no_option_arg)]
Port = Annotated[int, Arg(help="TCP port")]
File = Annotated[str, Arg(help="a file (PEM)", type=no_option_arg)]


@app.command
def resolve(host: Host) -> Result:
    """Resolve a host name as the system resolver does (getent ahosts)."""
    from opsbooks_playbooks.actions.checks import net

    return net.resolve(host)


@app.command
def tcp(host: Host, port: Port, timeout: float = 3.0) -> Result:
    """Open one TCP connection: ok, refused, timeout (filtered) or error."""
    from opsbooks_playbooks.actions.checks import net

    return net.tcp_connect(host, port, timeout)


@app.command
def tls_handshake(
    host: Host,
    port: Port,
    server_name: Host = "",
    ca_file: File = "",
    timeout: float = 5.0,
    warn_days: Annotated[int, Arg(help="a certificate valid fewer days is expiring_soon")] = 14,
) -> Result:
    """Do a verifying TLS handshake and describe the server's certificate."""
    from opsbooks_playbooks.actions.checks import tls

    if warn_days < 0:
        raise UsageError(f"--warn-days {warn_days} must be 0 or more (0: never warn)")
    return tls.handshake(
        host, port, server_name=server_name, ca_file=ca_file, timeout=timeout, warn_days=warn_days
    )


@app.command
def health(
    host: Host,
    port: Port,
    path: Annotated[str, Arg(help="the health endpoint's path, e.g. /healthz")] = "/healthz",
    scheme: Annotated[str, Arg(help="https (default) or http")] = "https",
    ca_file: File = "",
    expect_body: Annotated[str, Arg(help="text a healthy body holds")] = "",
    timeout: float = 5.0,
) -> Result:
    """GET the health endpoint once: status, body and latency."""
    from opsbooks_playbooks.actions.checks import net

    if not path.startswith("/"):
        raise UsageError(f"--path {path!r} must start with '/', e.g. /healthz")
    if scheme not in ("https", "http"):
        raise UsageError(f"--scheme {scheme!r} must be https or http")
    tls = scheme == "https"
    return net.health(net.HealthTarget(host, port, path, tls, ca_file, expect_body, timeout))


@app.command
def client_cert(cert: File = "", ca_bundle: File = "", key: File = "") -> Result:
    """Check a client certificate's dates, its chain to the CA bundle, and its key."""
    from opsbooks_playbooks.actions.checks import tls

    return tls.client_cert(cert, ca_bundle, key)


@app.command(name="jwt")
def jwt_token(
    token_env: Annotated[str, Arg(help="environment variable holding the token")] = "",
    token_file: File = "",
    key_file: File = "",
    audience: Annotated[str, Arg(help="the audience the service expects")] = "",
    leeway: Annotated[float, Arg(help="tolerated clock skew, seconds")] = 60.0,
) -> Result:
    """Check a JWT's signature, expiry, not-before, issue time and audience."""
    from opsbooks_playbooks.actions.checks import tokens

    token = tokens.read_token(token_env, token_file)
    return tokens.check_token(token, key_file=key_file, audience=audience, leeway=leeway)


@app.command
def pg_login(
    host: Host, port: Port, user: Host = "", dbname: Host = "postgres", timeout: int = 5
) -> Result:
    """Log in to PostgreSQL once (password from PGPASSWORD or .pgpass) and classify a refusal."""
    from opsbooks_playbooks.actions.checks import pg_auth

    return pg_auth.login(host, port, user, dbname, timeout)


if __name__ == "__main__":
    raise SystemExit(app.main())
