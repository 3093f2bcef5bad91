"""Find why a client is refused: its bearer token, its TLS client certificate, its DB login."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

import opsbooks as ob
from opsbooks_playbooks.actions.checks import HOST_PATTERN, check

#: the environment the checks read secrets from; never a flag
_TOKEN_ENV = "OB_CHECK_TOKEN"


class Authentication(ob.Runbook):
    """Diagnose a client that is refused: bearer token, TLS client certificate, database login.

    Use it on "401 Unauthorized", "certificate unknown", "password authentication
    failed" or "no pg_hba.conf entry". Give it what the failing client presents (its
    token, its client certificate, its database role) and it checks each against the
    real rules: the token's signature, expiry, not-before, issue time and audience; the
    certificate's dates and its chain to the CA the server trusts; a real login to
    PostgreSQL. What is not given is skipped. The first fault ends the run at a
    diagnosis with the fix; when everything passes it ends at "no authentication fault
    found". Secrets go to the checks by environment, never on a command line.
    """

    title = "Troubleshoot Authentication Failures"
    owner = "SRE team"
    scope = (
        "Clients refused by our services: bearer JWTs checked by our APIs, mutual TLS "
        "client certificates, and PostgreSQL role logins. Not for network faults "
        "(timeouts, refused ports, server certificates): use troubleshoot.connectivity."
    )
    prerequisites = [
        "What the failing client presents: its token (or token file), client certificate "
        "and key, or database role and password",
        "The issuer's public key (or HMAC secret file) and the audience the service expects",
        "The CA bundle the server verifies client certificates against",
        "Network reach to the database (if not, run troubleshoot.connectivity first)",
    ]
    verification = [
        "The run ends at the diagnosis all_ok: every credential given was accepted",
        "After the fix, the client's own request succeeds (`curl -H 'Authorization: "
        "Bearer ...'`, `psql -w`)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="pg_role_missing although the role exists",
            cause="The client connects to another server or cluster (a replica, a port typo).",
            solution="Compare `pg_host`/`pg_port` with the client's; list roles with `\\du`.",
        ),
        ob.Trouble(
            symptom="all_ok here but the service still answers 401",
            cause=(
                "The service checks more than this tree: scopes, issuer (`iss`), a "
                "revocation list, or it caches a stale signing key (JWKS)."
            ),
            solution="Read the service's log line for the refusal; restart it to reload keys.",
        ),
    ]
    recovery = (
        "The tree only reads: it decodes the token, reads certificate files and makes one "
        "login attempt. Nothing needs undoing. Repeated failed logins can lock a role "
        "under some policies: run it once per fix, not in a loop."
    )
    related = ["troubleshoot.connectivity", "security.incident_response"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [ob.Change("2026-12-02", "First version: JWT, client certificate, PG login", "sre")]

    class Params(ob.Params):
        token: ob.SecretStr = ob.Field(
            ob.SecretStr(""), description="The bearer token (JWT) the client sends"
        )
        token_file: ob.NoOption = ob.Field("", description="Or a file holding the token")
        key_file: ob.NoOption = ob.Field(
            "",
            description="Issuer's PEM public key or HMAC secret file (empty: no signature check)",
        )
        audience: ob.NoOption = ob.Field("", description="The `aud` the service expects")
        leeway: int = ob.Field(
            60, ge=0, le=3600, description="Clock skew tolerated on exp/nbf/iat, seconds"
        )
        client_cert: ob.NoOption = ob.Field(
            "", description="Client certificate PEM (with its intermediates; empty: skip)"
        )
        client_key: ob.NoOption = ob.Field("", description="Its private key PEM (optional)")
        ca_bundle: ob.NoOption = ob.Field(
            "", description="CA bundle the server verifies client certificates with"
        )
        pg_host: str = ob.Field("127.0.0.1", pattern=HOST_PATTERN, description="PostgreSQL host")
        pg_port: int = ob.Field(5432, ge=1, le=65535, description="PostgreSQL port")
        pg_user: str = ob.Field(
            "",
            pattern=r"^([A-Za-z_][A-Za-z0-9_$-]*)?$",
            description="Role to log in as (empty: skip the login check)",
        )
        pg_database: str = ob.Field(
            "postgres", pattern=r"^[A-Za-z_][A-Za-z0-9_$-]*$", description="Database"
        )
        pg_password: ob.SecretStr = ob.Field(
            ob.SecretStr(""), description="Its password (or leave empty and use pg_passfile)"
        )
        pg_passfile: ob.NoOption = ob.Field(
            "", description="A .pgpass file to read the password from (mode 0600)"
        )

        @model_validator(mode="after")
        def _something_to_check(self) -> Self:
            given = self.token.get_secret_value() or self.token_file
            if not (given or self.client_cert or self.pg_user):
                raise ValueError(
                    "nothing to check: give the credential the failing client presents: "
                    "token or token_file (a JWT), client_cert with ca_bundle (a TLS client "
                    "certificate), or pg_user (a PostgreSQL login)"
                )
            if self.client_cert and not self.ca_bundle:
                raise ValueError(
                    "client_cert needs ca_bundle: the CA bundle the server verifies client "
                    "certificates with (its ssl_ca_file or ssl_client_certificate)"
                )
            return self

    check_token = ob.Command(
        check(
            "jwt",
            "--token-env",
            _TOKEN_ENV,
            "--token-file",
            "{token_file}",
            "--key-file",
            "{key_file}",
            "--audience",
            "{audience}",
            "--leeway",
            "{leeway}",
        ),
        env={_TOKEN_ENV: "{token}"},
        outputs=("jwt",),
        when="token or token_file",
        title="Check the bearer token",
        description="Signature (with key_file), exp, nbf and iat within the leeway, aud.",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_token = ob.Branch(
        cases=[
            ("outputs.jwt == 'expired'", "token_expired"),
            ("outputs.jwt == 'not_yet_valid'", "token_not_yet_valid"),
            ("outputs.jwt == 'clock_skew'", "clock_skew"),
            ("outputs.jwt == 'wrong_audience'", "token_wrong_audience"),
            ("outputs.jwt == 'bad_signature'", "token_bad_signature"),
            ("outputs.jwt == 'malformed'", "token_malformed"),
        ],
        default="check_client_cert",
        when="token or token_file",
        title="Is the token acceptable?",
    )
    check_client_cert = ob.Command(
        check(
            "client-cert",
            "--cert",
            "{client_cert}",
            "--ca-bundle",
            "{ca_bundle}",
            "--key",
            "{client_key}",
        ),
        outputs=("cert", "cert_days_left", "cert_not_after"),
        when="client_cert",
        title="Check the TLS client certificate",
        description="Its dates, its chain to ca_bundle, and that client_key is its key.",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_cert = ob.Branch(
        cases=[
            ("outputs.cert == 'expired'", "client_cert_expired"),
            ("outputs.cert == 'not_yet_valid'", "client_cert_expired"),
            ("outputs.cert == 'wrong_ca'", "client_cert_wrong_ca"),
            ("outputs.cert == 'key_mismatch'", "client_key_mismatch"),
        ],
        default="check_pg_login",
        when="client_cert",
        title="Is the client certificate valid for this CA?",
    )
    check_pg_login = ob.Command(
        check(
            "pg-login",
            "--host",
            "{pg_host}",
            "--port",
            "{pg_port}",
            "--user",
            "{pg_user}",
            "--dbname",
            "{pg_database}",
        ),
        env={"PGPASSWORD": "{pg_password}", "PGPASSFILE": "{pg_passfile}"},
        outputs=("pg",),
        when="pg_user",
        title="Log in to PostgreSQL",
        description="One real login; the password from PGPASSWORD or the .pgpass file.",
        idempotent=True,
        rerun_on_resume=True,  # a read-only probe: run again for a fresh result, no undo
    )
    route_pg = ob.Branch(
        cases=[
            ("outputs.pg in ['password_rejected', 'no_password']", "pg_password_rejected"),
            ("outputs.pg == 'hba_rejected'", "pg_hba_rejected"),
            ("outputs.pg == 'no_role'", "pg_role_missing"),
            ("outputs.pg == 'unreachable'", "pg_unreachable"),
            ("outputs.pg not in ['ok', 'skipped']", "escalate"),
        ],
        default="all_ok",
        when="pg_user",
        title="Does the login succeed?",
    )

    # first of the leaves: a run whose checks all pass (or were not asked for) ends here
    all_ok = ob.Diagnosis(
        "No authentication fault found: every credential given was accepted",
        title="No authentication fault found",
        resolution=(
            "Token, certificate and login (those given) pass. If the service still "
            "refuses, read its own log for the refusal: authorisation (scopes, roles, "
            "grants) is a different fault from authentication."
        ),
        commands=["journalctl -u SERVICE --since -15min | grep -iE '401|403|denied'"],
    )
    token_expired = ob.Diagnosis(
        "The bearer token has expired (exp is past, beyond the leeway)",
        title="Token expired",
        resolution=(
            "The client must fetch a new token; a client that keeps sending an expired one "
            "has a broken refresh (a stuck refresh token, a cached token outliving its "
            "lifetime). Fix the refresh, not the lifetime."
        ),
        commands=[
            "python -m opsbooks_playbooks.actions.checks jwt"
            " --token-file TOKEN_FILE --leeway {leeway}",
            "journalctl -u CLIENT_SERVICE --since -1h | grep -i refresh",
        ],
    )
    token_not_yet_valid = ob.Diagnosis(
        "The bearer token is not valid yet (nbf is in the future, beyond the leeway)",
        title="Token not yet valid",
        resolution=(
            "The issuer stamped a not-before ahead of this host's clock: either the "
            "issuer's clock runs fast or this host's runs slow. Check both clocks."
        ),
        commands=["timedatectl status", "chronyc tracking", "chronyc sources -v"],
    )
    clock_skew = ob.Diagnosis(
        "The token was issued in the future: the issuer's clock and this host's differ by "
        "more than {leeway} s",
        title="Clock skew beyond tolerance",
        resolution=(
            "Clocks disagree beyond the tolerated skew. Fix time sync on the host that is "
            "off (chrony/NTP reachable, `System clock synchronized: yes`); only raise the "
            "service's leeway as a stopgap."
        ),
        commands=["timedatectl status", "chronyc tracking", "chronyc makestep"],
    )
    token_wrong_audience = ob.Diagnosis(
        "The token's audience (aud) does not include {audience}",
        title="Token for another audience",
        resolution=(
            "The client requested its token for another service (or environment). Fix the "
            "client's audience/resource setting at the identity provider request."
        ),
        commands=["python -m opsbooks_playbooks.actions.checks jwt --token-file TOKEN_FILE"],
    )
    token_bad_signature = ob.Diagnosis(
        "The token's signature does not verify with the issuer key {key_file}",
        title="Token signature invalid",
        resolution=(
            "The token was signed by another key: the issuer rotated its key and this "
            "service holds the old one, the token comes from another issuer or "
            "environment, or it was altered. Refresh the service's key set (JWKS) and "
            "compare the token header's kid with the published keys."
        ),
        commands=["openssl pkey -pubin -in {key_file} -noout -text"],
    )
    token_malformed = ob.Diagnosis(
        "The bearer token is not a readable JWT",
        title="Token malformed",
        resolution=(
            "The value is truncated, double-encoded, still carries a prefix or quotes, or "
            "is an opaque (non-JWT) token. Check how the client builds the Authorization "
            "header: exactly `Bearer <header>.<payload>.<signature>`."
        ),
        commands=["awk -F. '{{print NF}}' TOKEN_FILE"],
    )
    client_cert_expired = ob.Diagnosis(
        "The client certificate {client_cert} is outside its validity period",
        title="Client certificate expired",
        resolution=(
            "Issue a new client certificate from the same CA, deploy it with its key and "
            "restart the client. If it is not valid yet, check this host's clock first."
        ),
        commands=[
            "openssl x509 -in {client_cert} -noout -dates -subject -issuer",
            "timedatectl status",
        ],
    )
    client_cert_wrong_ca = ob.Diagnosis(
        "The client certificate {client_cert} is not issued by a CA in {ca_bundle}",
        title="Client certificate from the wrong CA",
        resolution=(
            "The server will refuse it (`unknown ca`). Issue the client a certificate from "
            "a CA in the server's bundle, or, if the new CA is legitimate, add it to the "
            "server's client CA bundle and reload the server. Send intermediates with the "
            "certificate."
        ),
        commands=[
            "openssl verify -CAfile {ca_bundle} -purpose sslclient {client_cert}",
            "openssl x509 -in {client_cert} -noout -issuer",
        ],
    )
    client_key_mismatch = ob.Diagnosis(
        "The key {client_key} is not the private key of {client_cert}",
        title="Client key does not match",
        resolution=(
            "The client is deployed with a certificate and a key from different "
            "issuances. Deploy the matching pair."
        ),
        commands=[
            "openssl x509 -in {client_cert} -noout -pubkey | sha256sum",
            "openssl pkey -in {client_key} -pubout | sha256sum",
        ],
    )
    pg_password_rejected = ob.Diagnosis(
        "PostgreSQL rejects the password of role {pg_user} (or none was supplied)",
        title="Database password rejected",
        resolution=(
            "The password is wrong or expired (VALID UNTIL), or the role exists only on "
            "another server. Reset it as a superuser (`\\password {pg_user}` in "
            "psql) and update the client's secret; the server log shows the detail "
            "(`password does not match`, `expired`)."
        ),
        commands=[
            "psql -h {pg_host} -p {pg_port} -U postgres -c '\\du'",
            "psql -w -h {pg_host} -p {pg_port} -U {pg_user} -d {pg_database} "
            "-c 'select current_user'",
        ],
    )
    pg_hba_rejected = ob.Diagnosis(
        "pg_hba.conf has no entry admitting {pg_user} to {pg_database} from this host",
        title="Refused by pg_hba.conf",
        resolution=(
            "The server matched no pg_hba.conf line (or a reject line) for this host, "
            "role, database and encryption. Add a line for them with scram-sha-256, then "
            "reload: pg_hba.conf is read on reload, not per connection."
        ),
        commands=[
            "psql -h {pg_host} -p {pg_port} -U postgres -c 'select * from pg_hba_file_rules'",
            "psql -h {pg_host} -p {pg_port} -U postgres -c 'select pg_reload_conf()'",
        ],
    )
    pg_role_missing = ob.Diagnosis(
        "The role {pg_user} does not exist on {pg_host}:{pg_port}",
        title="Database role missing",
        resolution=(
            "The role was never created here, was dropped, or the client targets another "
            "cluster. Create it (through the migration that owns roles) and grant it the "
            "database."
        ),
        commands=[
            "psql -h {pg_host} -p {pg_port} -U postgres -c '\\du'",
            "createuser -h {pg_host} -p {pg_port} -U postgres --login --pwprompt {pg_user}",
        ],
    )
    pg_unreachable = ob.Diagnosis(
        "PostgreSQL on {pg_host}:{pg_port} cannot be reached: not an authentication fault",
        title="Database unreachable",
        resolution="Run troubleshoot.connectivity against the database host and port.",
        commands=[
            "pg_isready -h {pg_host} -p {pg_port}",
            "opsbooks run troubleshoot.connectivity --host {pg_host} --port {pg_port} "
            "--scheme http",
        ],
    )
    escalate = ob.Diagnosis(
        "The login to {pg_host}:{pg_port} failed in a way the tree cannot classify",
        title="Escalate to platform on-call",
        escalate="L2",
        resolution=(
            "Hand over this run's report (`opsbooks report last`) and the server log "
            "lines for the attempt."
        ),
        commands=[
            "pg_isready -h {pg_host} -p {pg_port}",
            "journalctl -u postgresql --since -15min",
        ],
    )
