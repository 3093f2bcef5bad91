"""A small troubleshooting tree decided by Python probes (no subprocess): the fast tests'
runbook. Params say what the probes find, so each leaf can be reached on purpose."""

from __future__ import annotations

import opsbooks as ob


class WebDown(ob.Runbook):
    """Find out why a web endpoint does not answer: name resolution, TLS, or escalate."""

    name = "diag.web_down"
    title = "Web endpoint down"
    scope = "Diagnosis tests; the probes read their verdicts from params."
    owner = "sre"
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        host: str = ob.Field("shop.example.internal", description="the endpoint's host")
        dns_state: str = ob.Field("ok", description="what the DNS probe finds: ok or fail")
        tls_state: str = ob.Field("ok", description="what the TLS probe finds: ok or fail")

    @ob.step(title="Probe name resolution")
    def dns(self, ctx: ob.StepContext) -> str:
        """Publish the DNS verdict (the step's return is the output ``outputs.dns``)."""
        return str(ctx.params.dns_state)  # type: ignore[attr-defined]

    @ob.step(title="Probe the TLS handshake")
    def tls(self, ctx: ob.StepContext) -> str:
        """Publish the TLS verdict as ``outputs.tls``."""
        return str(ctx.params.tls_state)  # type: ignore[attr-defined]

    decide = ob.Branch(
        cases=[("outputs.dns == 'fail'", "dns_failed"), ("outputs.tls == 'fail'", "tls_failed")],
        default="unknown",
    )
    dns_failed = ob.Diagnosis(
        "Name resolution fails for {host}",
        resolution="Check /etc/resolv.conf and the resolver's health.",
        commands=["getent hosts {host}", "resolvectl status"],
        title="DNS failure",
    )
    tls_failed = ob.Diagnosis(
        "The TLS handshake with {host} fails",
        resolution="Check the certificate's expiry and chain.",
        commands=["openssl s_client -connect {host}:443 -servername {host} </dev/null"],
    )
    unknown = ob.Diagnosis(
        "No known cause found for {host}",
        resolution="Hand over to the service's on-call with the probes' results.",
        escalate="L2",
    )
    after = ob.Notify("never sent: the tree ends at a leaf")
