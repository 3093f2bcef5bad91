"""Find the cause of a reported problem with a decision tree; each leaf says how to fix it."""

from __future__ import annotations

from textwrap import dedent

import opsbooks as ob

_HOST = r"^[A-Za-z0-9][A-Za-z0-9.-]*$"
_READ_ONLY = "read-only check: it changes nothing"


class SupportCommonIssues(ob.Runbook):
    """Walk a reported problem down to a known cause and its fix, or to an escalation.

    L1 support runs it with the user on the line. A person answers what only they can
    observe (what the user sees, whether everyone is affected); the machine checks what
    it can (name resolution, the TCP port, the TLS certificate, the database). Each
    leaf is a diagnosis: the finding, the resolution and the commands to run, recorded
    in the journal (facts `diagnosis` and `diagnosis.finding`); leaves nobody at L1
    can fix name the L2 contact.
    """

    title = "Common Issues (troubleshooting tree)"
    owner = "Support operations"
    scope = (
        "Problems users report with one service: cannot connect, slow, cannot log in, "
        "update or release problems. Outages of several services are incidents: "
        "`support.escalation` and `security.incident_response`."
    )
    prerequisites = [
        "The user's report: what they see, since when, for whom",
        "The service's host name and port, and its database's host and port",
        "Network access from here to the service (the checks run from this machine)",
    ]
    verification = [
        "The run ended at a diagnosis (fact `diagnosis`) and its resolution was applied",
        "The user confirms the problem is gone, or the ticket went to the named level",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="Every check passes but the user still cannot connect",
            cause="The problem is between the user and us (proxy, VPN, firewall).",
            solution="The tree ends at `network_path` and names the L2 contact; escalate.",
        ),
        ob.Trouble(
            symptom="`tls_check` fails to run: `openssl: command not found`",
            cause="OpenSSL's command line is not installed on this machine.",
            solution="Install it (`apt-get install openssl`) and run the tree again.",
        ),
        ob.Trouble(
            symptom="`db_check` says down although the database is up",
            cause="This machine cannot reach the database's network, or the port is wrong.",
            solution="Run the tree from a host in the service's network (a bastion).",
        ),
    ]
    recovery = "Nothing to undo: the tree only reads. Run it again after a fix to confirm."
    related = ["support.escalation", "release.deploy", "release.rollback"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [ob.Change("2026-12-02", "First version: connectivity, TLS, DB, login, release")]

    class Params(ob.Params):
        host: str = ob.Field(
            pattern=_HOST, description="The service's host name, e.g. app.example.com"
        )
        port: int = ob.Field(443, ge=1, le=65535, description="The service's TCP port")
        ca_file: ob.NoOption = ob.Field(
            "", description="CA bundle of an internal CA for the TLS check (empty: the system's)"
        )
        db_host: str = ob.Field("127.0.0.1", pattern=_HOST, description="The database's host")
        db_port: int = ob.Field(5432, ge=1, le=65535, description="The database's port")
        feed_url: str = ob.Field(
            "https://downloads.example.com/app/feed.json",
            pattern=r"^https?://\S+$",
            description="The update feed users read",
        )

    symptom = ob.Gate.choose(
        "What does the user report?",
        ["cannot connect", "slow", "cannot log in", "update or release problem", "other"],
        title="What the user sees",
        description=(
            "Ask the user to describe what they see, in their words, and pick the closest. "
            "Pick other when none fits; the tree then escalates."
        ),
    )
    route_symptom = ob.Branch(
        on="symptom",
        routes={
            "cannot log in": "login_error",
            "cannot connect": "dns",
            "slow": "db_check",
            "update or release problem": "release_problem",
        },
        default="unknown_issue",
        title="By symptom",
    )

    # -- cannot log in -------------------------------------------------------------
    login_error = ob.Gate.choose(
        "What does the login error say?",
        ["invalid password or token", "account locked", "the login page does not load"],
        title="The login error",
        description="Ask the user to read the error message word for word.",
    )
    route_login = ob.Branch(
        on="login_error",
        routes={"account locked": "account_locked", "the login page does not load": "dns"},
        default="bad_credentials",
        title="By login error",
    )
    bad_credentials = ob.Diagnosis(
        "The user's password or API token for {host} is wrong or expired",
        resolution=(
            "Have the user reset the password from the login page, or issue a new API "
            "token; expired tokens are not renewed automatically."
        ),
        commands=["journalctl -u auth --since -1h | grep -i 'invalid credentials'"],
        title="Bad credentials",
    )
    account_locked = ob.Diagnosis(
        "The user's account is locked after repeated failed logins",
        resolution=(
            "Confirm the user's identity by the usual second channel, then unlock the "
            "account in the admin console; check the failed attempts were the user's."
        ),
        commands=["journalctl -u auth --since -24h | grep -i locked"],
        title="Account locked",
    )

    # -- cannot connect --------------------------------------------------------------
    dns = ob.Command(
        "if getent hosts {host}; then echo '::output dns=ok'; else echo '::output dns=fail'; fi",
        outputs=("dns",),
        title="Resolve the host name",
        idempotent=True,
        irreversible=_READ_ONLY,
    )
    route_dns = ob.Branch(
        cases=[('outputs.dns == "fail"', "dns_failed")], default="port_check", title="Resolves?"
    )
    dns_failed = ob.Diagnosis(
        "Name resolution fails for {host}",
        resolution=(
            "Check the DNS record exists and points at the load balancer; check the "
            "resolver in /etc/resolv.conf; a recent DNS change may still be propagating."
        ),
        commands=["getent hosts {host}", "dig +short {host}", "resolvectl status"],
        title="DNS failure",
    )
    port_check = ob.Command(
        "if timeout 5 bash -c 'exec 3<>/dev/tcp/$0/$1' {host} {port}; "
        "then echo '::output port=open'; else echo '::output port=closed'; fi",
        outputs=("port",),
        title="Connect to the port",
        idempotent=True,
        irreversible=_READ_ONLY,
    )
    route_port = ob.Branch(
        cases=[('outputs.port == "closed"', "port_closed")], default="tls_check", title="Open?"
    )
    port_closed = ob.Diagnosis(
        "{host} resolves but nothing accepts connections on port {port}",
        resolution=(
            "The service is down or a firewall drops the port: check the service and its "
            "listener on the host, then the security group or firewall rules."
        ),
        commands=["ss -ltnp sport = :{port}", "systemctl status app", "nft list ruleset"],
        title="Port closed",
    )
    tls_check = ob.Command(
        dedent("""\
        set --
        if [ -n {ca_file} ]; then set -- -CAfile {ca_file}; fi
        out=$(openssl s_client -connect {host}:{port} -servername {host} "$@" </dev/null 2>&1)
        echo "$out" | grep -E 'Verify return code|verify error' | head -3
        case "$out" in
          *'Verify return code: 0 (ok)'*) echo '::output tls=ok' ;;
          *'certificate has expired'*) echo '::output tls=expired' ;;
          *) echo '::output tls=untrusted' ;;
        esac
        """).strip(),
        outputs=("tls",),
        title="Check the TLS certificate",
        timeout=30,
        idempotent=True,
        irreversible=_READ_ONLY,
    )
    route_tls = ob.Branch(
        cases=[
            ('outputs.tls == "expired"', "tls_expired"),
            ('outputs.tls == "untrusted"', "tls_untrusted"),
        ],
        default="network_path",
        title="Certificate valid?",
    )
    tls_expired = ob.Diagnosis(
        "The TLS certificate of {host}:{port} has expired",
        resolution=(
            "Renew the certificate now (certbot renew, or the CA's portal), install it "
            "and reload the server; then find out why renewal did not run in time."
        ),
        commands=[
            "openssl s_client -connect {host}:{port} -servername {host} </dev/null "
            "| openssl x509 -noout -dates",
        ],
        title="Certificate expired",
    )
    tls_untrusted = ob.Diagnosis(
        "The TLS certificate of {host}:{port} is not trusted (self-signed, unknown CA "
        "or incomplete chain)",
        resolution=(
            "Serve the full chain (leaf and intermediates) from the server; if it is an "
            "internal CA, the client needs the CA bundle installed."
        ),
        commands=["openssl s_client -connect {host}:{port} -servername {host} -showcerts"],
        title="Certificate not trusted",
    )
    network_path = ob.Diagnosis(
        "{host}:{port} resolves, accepts connections and has a valid certificate from "
        "here: the problem is on the user's network path",
        resolution=(
            "Collect the user's traceroute and proxy/VPN settings and hand the ticket to "
            "L2 with them."
        ),
        commands=["mtr -rwc 20 {host}", "curl -v https://{host}:{port}/"],
        escalate="L2",
        title="User's network path",
    )

    # -- slow ------------------------------------------------------------------------
    db_check = ob.Command(
        "if pg_isready -h {db_host} -p {db_port} -t 5; then echo '::output db=ok'; "
        "else echo '::output db=down'; fi",
        outputs=("db",),
        title="Check the database accepts connections",
        idempotent=True,
        irreversible=_READ_ONLY,
    )
    route_db = ob.Branch(
        cases=[('outputs.db == "down"', "db_down")], default="slow_scope", title="Database up?"
    )
    db_down = ob.Diagnosis(
        "The database at {db_host}:{db_port} does not accept connections",
        resolution=(
            "Check the PostgreSQL service and its log; if it is in recovery or out of "
            "connections (max_connections), follow the database runbooks and tell L2."
        ),
        commands=[
            "pg_isready -h {db_host} -p {db_port}",
            "journalctl -u postgresql --since -1h",
        ],
        title="Database down",
    )
    slow_scope = ob.Gate.choose(
        "Is it slow for everyone, or for one user or region?",
        ["everyone", "one user or region"],
        title="Who is affected",
        description=(
            "Check the service dashboard's latency panel and ask in the support channel "
            "whether other tickets report the same."
        ),
    )
    route_slow = ob.Branch(
        on="slow_scope", routes={"everyone": "capacity"}, default="client_side", title="Scope"
    )
    capacity = ob.Diagnosis(
        "{host} is slow for everyone while the database is up: the service is saturated",
        resolution=(
            "Check CPU, memory and the request queue against the capacity plan; scale "
            "out or shed load, and look for a recent release (release.rollback)."
        ),
        commands=[
            "psql -h {db_host} -p {db_port} -c 'select state, count(*) from pg_stat_activity "
            "group by state'",
            "curl -s http://127.0.0.1:9090/api/v1/query?query=up",
        ],
        escalate="L2",
        title="Service saturated",
    )
    client_side = ob.Diagnosis(
        "Only some users are slow: their network or client is the cause",
        resolution=(
            "Ask for the user's location, network and a browser HAR file; compare with a "
            "user in the same region."
        ),
        commands=["mtr -rwc 20 {host}"],
        title="Client side",
    )

    # -- update or release problem ---------------------------------------------------
    release_problem = ob.Gate.choose(
        "What is wrong with the update?",
        ["the release workflow failed", "signature or checksum error", "no update offered"],
        title="The release problem",
        description="Ask release engineering or the user which of these they see.",
    )
    route_release = ob.Branch(
        on="release_problem",
        routes={
            "the release workflow failed": "release_workflow_failed",
            "signature or checksum error": "artifact_unsigned",
        },
        default="feed_stale",
        title="By release problem",
    )
    release_workflow_failed = ob.Diagnosis(
        "The release workflow failed before publishing",
        resolution="Read the workflow's log, fix the failing step, and run it again.",
        commands=["gh run list --limit 5", "gh run view --log-failed"],
        title="Release workflow failed",
    )
    artifact_unsigned = ob.Diagnosis(
        "Users get an artifact that is not signed or does not match its checksum",
        resolution=(
            "Check the signing certificate and the workflow's signing secrets; if the "
            "published artifact is bad, roll the release back (release.rollback)."
        ),
        commands=["sha256sum -c SHA256SUMS", "gh secret list"],
        title="Artifact not signed",
    )
    feed_stale = ob.Diagnosis(
        "The update feed does not offer the new version",
        resolution=(
            "Check the feed's latest version; re-run the feed step of release.deploy "
            "and purge the CDN cache."
        ),
        commands=["curl -fsS {feed_url}"],
        title="Feed not updated",
    )

    # -- nothing fits ---------------------------------------------------------------
    unknown_issue = ob.Diagnosis(
        "The problem matches none of the known issues",
        resolution="Escalate with the user's description, the time it started and who is hit.",
        escalate="L2",
        title="Unknown issue",
    )
