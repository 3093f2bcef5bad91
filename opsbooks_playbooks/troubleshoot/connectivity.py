"""Find why a client cannot reach a service: DNS, TCP, TLS, the health endpoint, latency."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.actions.checks import HOST_PATTERN, check


class Connectivity(ob.Runbook):
    """Diagnose a service that clients cannot reach, from the client's side, layer by layer.

    Use it when a client reports "connection refused", timeouts, certificate errors or
    a failing health check. Each layer is checked for real from this host, in the
    order a packet meets them: name resolution, TCP connect, TLS handshake and the
    server certificate, the HTTP health endpoint, then its latency. The first layer
    at fault ends the run at a diagnosis with the fix and the commands to apply it;
    when every layer passes, the run ends at "no connectivity fault found".
    """

    title = "Troubleshoot Service Connectivity"
    owner = "SRE team"
    scope = (
        "Any TCP service reached by host name and port, with optional TLS and an HTTP "
        "health endpoint: our APIs, internal web services, load balancers. Run it from "
        "the host (or network) where the failing client is: reachability depends on "
        "where you stand. Not for database logins or bad credentials: use "
        "troubleshoot.authentication."
    )
    prerequisites = [
        "The service's host name (as clients use it), port and health endpoint path",
        "A shell on the client host, or one in the same network and DNS view",
        "For a private CA: its PEM bundle on this host (`ca_file`)",
    ]
    verification = [
        "The run ends at the diagnosis all_ok: every layer passed from this host",
        "After a fix, run it again: the diagnosis moves on to all_ok (or the next layer)",
        "The failing client itself connects: `curl -sv https://HOST:PORT/healthz`",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="The run ends at all_ok but the client still fails",
            cause="The client is elsewhere: another network, DNS view, proxy or trust store.",
            solution=(
                "Run the runbook from the client's host; compare `getent hosts HOST` and "
                "the client's proxy settings (`env | grep -i proxy`)."
            ),
        ),
        ob.Trouble(
            symptom="port_timeout on a port that listens (`ss -ltn` shows it)",
            cause=(
                "A firewall drops the SYN between the hosts, or the listener's accept "
                "queue is full (the service is too slow to accept)."
            ),
            solution=(
                "Check `ss -ltn 'sport = :PORT'`: Recv-Q at Send-Q means a full queue "
                "(a stuck service); otherwise check `nft list ruleset` / security groups."
            ),
        ),
        ob.Trouble(
            symptom="tls_untrusted for a service signed by our internal CA",
            cause="The internal CA is not in the system trust store of this host.",
            solution=(
                "Pass the CA bundle as `ca_file`, or install it with `update-ca-certificates`."
            ),
        ),
        ob.Trouble(
            symptom="latency_high only on the first run",
            cause="A cold cache, connection pool or JIT warm-up on the service.",
            solution="Run again; if it persists, follow the performance runbooks.",
        ),
    ]
    recovery = (
        "The tree only reads: it resolves names, opens connections and sends one GET. "
        "Nothing needs to be undone. Apply the diagnosis's resolution by hand or with "
        "the runbook it names, then run the tree again to confirm."
    )
    related = ["troubleshoot.authentication", "security.incident_response"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: DNS, TCP, TLS, health, latency", "sre"),
        ob.Change("2026-12-02", "Leaves plain_http and tls_expiring_soon (warn_days)", "sre"),
    ]

    class Params(ob.Params):
        host: str = ob.Field(
            pattern=HOST_PATTERN, description="Host name or address clients connect to"
        )
        port: int = ob.Field(443, ge=1, le=65535, description="TCP port of the service")
        scheme: str = ob.Field(
            "https", pattern=r"^https?$", description="https (TLS is checked) or http"
        )
        server_name: str = ob.Field(
            "",
            pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)?$",
            description="TLS server name to verify (empty: the host)",
        )
        ca_file: ob.NoOption = ob.Field(
            "", description="PEM CA bundle to trust (empty: the system trust store)"
        )
        health_path: str = ob.Field(
            "/healthz",
            pattern=r"^/[A-Za-z0-9._~/?=&%-]*$",
            description="Path of the HTTP health endpoint",
        )
        expect_body: ob.NoOption = ob.Field(
            "", description="Text a healthy response body holds (empty: any body)"
        )
        connect_timeout: float = ob.Field(
            3.0, gt=0, le=60, description="Seconds to wait for TCP and TLS, and the health GET"
        )
        max_latency_ms: int = ob.Field(
            500, ge=1, description="Health request latency above this is a fault (ms)"
        )
        warn_days: int = ob.Field(
            14,
            ge=0,
            le=365,
            description="A certificate that expires in fewer days ends at tls_expiring_soon "
            "(0: never warn)",
        )

    resolve = ob.Command(
        check("resolve", "--host", "{host}"),
        outputs=("dns", "address", "dns_error"),
        title="Resolve the host name",
        description="getaddrinfo, as clients do: /etc/hosts, NSS and DNS.",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_dns = ob.Branch(
        cases=[("outputs.dns == 'fail'", "dns_failure")],
        default="connect",
        title="Does the name resolve?",
    )
    connect = ob.Command(
        check("tcp", "--host", "{host}", "--port", "{port}", "--timeout", "{connect_timeout}"),
        outputs=("tcp", "connect_ms", "tcp_error"),
        title="Open a TCP connection",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_tcp = ob.Branch(
        cases=[
            ("outputs.tcp == 'refused'", "port_refused"),
            ("outputs.tcp == 'timeout'", "port_timeout"),
            ("outputs.tcp != 'ok'", "escalate"),
            ("scheme == 'http'", "health"),
        ],
        default="handshake",
        title="Does the port accept?",
    )
    handshake = ob.Command(
        check(
            "tls-handshake",
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--server-name",
            "{server_name}",
            "--ca-file",
            "{ca_file}",
            "--timeout",
            "{connect_timeout}",
            "--warn-days",
            "{warn_days}",
        ),
        outputs=("tls", "tls_days_left", "tls_not_after"),
        title="Verify the TLS handshake and certificate",
        description="A verifying handshake, like `openssl s_client -verify_return_error`.",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_tls = ob.Branch(
        cases=[
            ("outputs.tls == 'expired'", "tls_expired"),
            ("outputs.tls == 'not_yet_valid'", "tls_not_yet_valid"),
            ("outputs.tls == 'hostname_mismatch'", "tls_hostname_mismatch"),
            ("outputs.tls == 'untrusted'", "tls_untrusted"),
            ("outputs.tls == 'plain_http'", "plain_http"),
            ("outputs.tls not in ['ok', 'expiring_soon']", "escalate"),
        ],
        default="health",
        title="Is the certificate valid and trusted?",
    )
    health = ob.Command(
        check(
            "health",
            "--host",
            "{host}",
            "--port",
            "{port}",
            "--scheme",
            "{scheme}",
            "--path",
            "{health_path}",
            "--ca-file",
            "{ca_file}",
            "--expect-body",
            "{expect_body}",
            "--timeout",
            "{connect_timeout}",
        ),
        outputs=("health", "status", "latency_ms"),
        title="Request the health endpoint",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_health = ob.Branch(
        cases=[
            ("outputs.health == 'error'", "escalate"),
            ("outputs.health != 'ok'", "health_failing"),
            ("outputs.latency_ms > max_latency_ms", "latency_high"),
            ("scheme == 'https' and outputs.tls == 'expiring_soon'", "tls_expiring_soon"),
        ],
        default="all_ok",
        title="Is it healthy and fast enough?",
    )

    dns_failure = ob.Diagnosis(
        "Name resolution fails for {host}: no address from /etc/hosts, NSS or DNS "
        "({outputs.dns_error})",
        title="DNS failure",
        resolution=(
            "Check the name is spelled as the service publishes it, that this host's "
            "resolvers answer (resolvectl status, /etc/resolv.conf), and that the record "
            "exists in the zone. A record just created may still be cached as missing "
            "(negative TTL): flush the local cache."
        ),
        commands=[
            "getent ahosts {host}",
            "resolvectl status",
            "dig +search {host}",
            "resolvectl flush-caches",
        ],
    )
    port_refused = ob.Diagnosis(
        "{host}:{port} refuses connections: the host answers but nothing listens on the port",
        title="Port refused",
        resolution=(
            "The service is down, listening on another port or address (127.0.0.1 only), "
            "or a firewall REJECTs. On the server, check the service and what it listens "
            "on; start or restart it, or fix its listen address."
        ),
        commands=[
            "ss -ltnp 'sport = :{port}'",
            "systemctl status SERVICE",
            "journalctl -u SERVICE --since -15min",
        ],
    )
    port_timeout = ob.Diagnosis(
        "{host}:{port} never answers the TCP handshake: the connection is filtered or the "
        "listener cannot accept",
        title="Port filtered (timeout)",
        resolution=(
            "Nothing came back within the timeout, not even a refusal: a firewall or "
            "security group DROPs the SYN, a route is missing, or the listener's accept "
            "queue is full. On the server, a Recv-Q at the Send-Q backlog in ss means a "
            "stuck service (restart it); otherwise open the port in the firewall path."
        ),
        commands=[
            "ss -ltn 'sport = :{port}'",
            "nft list ruleset",
            "traceroute -T -p {port} {host}",
        ],
    )
    tls_expired = ob.Diagnosis(
        "The TLS certificate of {host}:{port} has expired",
        title="Certificate expired",
        resolution=(
            "Renew the certificate (or fix the renewal job), install it with its chain, "
            "and reload the server. Check why the expiry alert did not fire."
        ),
        commands=[
            "openssl s_client -connect {host}:{port} -servername {host} </dev/null "
            "| openssl x509 -noout -dates -subject -issuer",
            "certbot renew --cert-name {host}",
            "systemctl reload SERVICE",
        ],
    )
    tls_not_yet_valid = ob.Diagnosis(
        "The TLS certificate of {host}:{port} is not valid yet",
        title="Certificate not yet valid",
        resolution=(
            "Either the certificate was issued with a future start date, or this host's "
            "clock is behind. Check the clocks first (timedatectl, chronyc tracking); if "
            "they are right, reinstall the previous certificate until the new one starts."
        ),
        commands=[
            "timedatectl status",
            "chronyc tracking",
            "openssl s_client -connect {host}:{port} -servername {host} </dev/null "
            "| openssl x509 -noout -dates",
        ],
    )
    tls_hostname_mismatch = ob.Diagnosis(
        "The TLS certificate of {host}:{port} does not name the host clients use",
        title="Certificate hostname mismatch",
        resolution=(
            "The server presents a certificate for another name: a wrong certificate in "
            "the virtual host, a missing SAN, or the client uses a name the certificate "
            "was not issued for. Reissue it with every name clients use as a SAN, or point "
            "clients at a name it holds."
        ),
        commands=[
            "openssl s_client -connect {host}:{port} -servername {host} </dev/null "
            "| openssl x509 -noout -ext subjectAltName -subject",
        ],
    )
    tls_untrusted = ob.Diagnosis(
        "The TLS certificate of {host}:{port} is not issued by a CA this host trusts",
        title="Certificate issuer untrusted",
        resolution=(
            "The certificate is self-signed, signed by a private CA missing from the "
            "trust store, or the server does not send its intermediate certificates. "
            "Serve the full chain; for a private CA install it on the clients."
        ),
        commands=[
            "openssl s_client -connect {host}:{port} -servername {host} -showcerts </dev/null",
            "cp CA.pem /usr/local/share/ca-certificates/ && update-ca-certificates",
        ],
    )
    plain_http = ob.Diagnosis(
        "{host}:{port} answers plain HTTP, not TLS: use --scheme http or fix the listener",
        title="Plain HTTP on a TLS port",
        resolution=(
            "The handshake failed (OpenSSL: wrong version number) because the server "
            "answered the ClientHello with an HTTP response. Either the service really is "
            "plain HTTP on this port (run again with --scheme http, and fix the clients' "
            "URLs), or its TLS listener is misconfigured: the virtual host or proxy on "
            "this port lacks its `ssl` / certificate settings, or TLS is on another port."
        ),
        commands=[
            "curl -sS -i http://{host}:{port}{health_path}",
            "openssl s_client -connect {host}:{port} -servername {host} -brief </dev/null",
            "ss -ltnp 'sport = :{port}'",
        ],
    )
    tls_expiring_soon = ob.Diagnosis(
        "Every layer works, but the TLS certificate of {host}:{port} expires in "
        "{outputs.tls_days_left} day(s) ({outputs.tls_not_after}), within {warn_days}",
        title="Certificate expiring soon",
        resolution=(
            "Nothing is broken yet: renew the certificate before it expires, install it "
            "with its chain, reload the server, and check why the renewal job (certbot "
            "timer, cert-manager) has not renewed it already."
        ),
        commands=[
            "openssl s_client -connect {host}:{port} -servername {host} </dev/null "
            "| openssl x509 -noout -enddate -subject -issuer",
            "systemctl list-timers 'certbot*'",
            "certbot renew --cert-name {host}",
            "systemctl reload SERVICE",
        ],
    )
    health_failing = ob.Diagnosis(
        "The health endpoint {health_path} on {host}:{port} reports the service unhealthy",
        title="Health check failing",
        resolution=(
            "The network path is fine; the service itself answers with an error status "
            "or a body without the expected text. Read the health response and the "
            "service's logs for the failing dependency (database, cache, disk), fix it or "
            "roll back the last release."
        ),
        commands=[
            "curl -sS -i {scheme}://{host}:{port}{health_path}",
            "journalctl -u SERVICE --since -15min",
        ],
    )
    latency_high = ob.Diagnosis(
        "The health endpoint on {host}:{port} answers, but slower than {max_latency_ms} ms",
        title="Latency high",
        resolution=(
            "Connectivity works, the service is slow. Split the time with curl's timings "
            "(connect vs TLS vs first byte): a slow connect is the network, a slow first "
            "byte is the service (load, a slow dependency, saturation)."
        ),
        commands=[
            "curl -so /dev/null -w 'dns %{{time_namelookup}} connect %{{time_connect}} "
            "tls %{{time_appconnect}} ttfb %{{time_starttransfer}} total %{{time_total}}\\n' "
            "{scheme}://{host}:{port}{health_path}",
            "ping -c 5 {host}",
        ],
    )
    escalate = ob.Diagnosis(
        "The checks could not classify the fault reaching {host}:{port}",
        title="Escalate to platform on-call",
        escalate="L2",
        resolution=(
            "A check failed in a way no leaf covers (an unreachable network, a TLS "
            "protocol error, a connection reset mid-request). Hand over this run's report "
            "(`opsbooks report last`) with the output of the commands below."
        ),
        commands=[
            "ip route get {host}",
            "openssl s_client -connect {host}:{port} -servername {host} -brief </dev/null",
            "curl -sv {scheme}://{host}:{port}{health_path}",
        ],
    )
    all_ok = ob.Diagnosis(
        "No connectivity fault found: {host}:{port} resolves, accepts, verifies and answers "
        "healthy within {max_latency_ms} ms",
        title="No connectivity fault found",
        resolution=(
            "Every layer passed from this host. If a client still fails, run this from "
            "the client's host and network, and check its proxy and trust store."
        ),
        commands=["env | grep -i _proxy"],
    )
