"""A small troubleshooting tree with real probes: why a client cannot reach PostgreSQL.

The golden page ``tests/golden/fixtures.diagnosis_tree.md`` pins how a tree renders;
the slow CLI test writes this module into a temp project and runs it with ``getent`` and
``pg_isready`` deciding the branch.
"""

from __future__ import annotations

import opsbooks as ob

HOST = r"^[A-Za-z0-9][A-Za-z0-9.-]*$"


class PgReach(ob.Runbook):
    """Find out why a client cannot reach a PostgreSQL server, and say what to do."""

    name = "fixtures.diagnosis_tree"
    title = "Cannot reach PostgreSQL"
    owner = "Docs team"
    scope = "The renderer's golden tests and the Diagnosis CLI test; its probes only read."
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        host: str = ob.Field("127.0.0.1", pattern=HOST, description="the server's host name")
        port: int = ob.Field(5432, ge=1, le=65535, description="the server's port")

    resolve = ob.Command(
        'if getent hosts {host} >/dev/null; then echo "::output dns=ok"; '
        'else echo "::output dns=fail"; fi',
        outputs=("dns",),
        title="Resolve the host name",
        rerun_on_resume=True,
    )
    probe = ob.Command(
        'pg_isready -h {host} -p {port} -t 3; echo "::output pg_status=$?"',
        outputs=("pg_status",),
        title="Ask the server whether it accepts connections",
        rerun_on_resume=True,
    )
    decide = ob.Branch(
        cases=[
            ("outputs.dns == 'fail'", "dns_failed"),
            ("outputs.pg_status == '2'", "not_listening"),
            ("outputs.pg_status == '1'", "rejecting"),
        ],
        default="path_or_client",
        title="Which probe failed?",
    )
    dns_failed = ob.Diagnosis(
        "{host} does not resolve",
        resolution="Fix the DNS record or /etc/hosts entry; check the resolver configuration.",
        commands=["getent hosts {host}", "cat /etc/resolv.conf"],
        title="The name does not resolve",
    )
    not_listening = ob.Diagnosis(
        "Nothing answers on {host}:{port}",
        resolution="Start PostgreSQL, or fix `listen_addresses` and `port` in postgresql.conf.",
        commands=["ss -ltn sport = :{port}", "systemctl status postgresql"],
        title="Nothing listens",
    )
    rejecting = ob.Diagnosis(
        "PostgreSQL on {host}:{port} rejects connections (starting, stopping or recovering)",
        resolution="Wait for the startup or recovery to finish; read the server log.",
        commands=["journalctl -u postgresql --since -15min"],
        title="The server rejects connections",
    )
    path_or_client = ob.Diagnosis(
        "PostgreSQL on {host}:{port} accepts connections: the fault is in the client",
        resolution="Hand over with the client's error message and connection string.",
        escalate="L2",
        title="Escalate: the server is fine",
    )
