"""The shell commands the incident runbooks measure a service with: curl and awk only,
so an operator can paste each one from the page into a terminal.

Each prints what it found and ``::output`` lines; none fails on an unhealthy service
(finding that out is the point), only on a probe that cannot run at all.
"""

from __future__ import annotations

import opsbooks as ob


def health(url: str = "{health_url}", suffix: str = "") -> str:
    """One GET with timeouts: ``::output health{suffix}=ok|fail`` and the HTTP code."""
    return (
        f"code=$(curl -sS -o /dev/null --connect-timeout 3 --max-time 10 "
        f"-w '%{{{{http_code}}}}' -- {url}) || true; "
        "code=${code:-000}; "
        f"echo HTTP $code from {url}; "
        'if [ "$code" -ge 200 ] && [ "$code" -lt 400 ]; then h=ok; else h=fail; fi; '
        f'echo "::output health{suffix}=$h"; echo "::output http_code{suffix}=$code"'
    )


def healthy(url: str = "{health_url}") -> str:
    """Exit 0 when the health endpoint answers 2xx/3xx within 10 seconds."""
    return f"curl -fsS -o /dev/null --connect-timeout 3 --max-time 10 -- {url}"


def error_rate(log: str = "{access_log}", window: str = "{window}") -> str:
    """The share of 5xx answers in the last ``window`` lines of an access log (combined
    format: the status is field 9): ``::output error_rate=PERCENT``."""
    return (
        f"test -r {log} || {{ echo cannot read the access log {log} >&2; exit 1; }}; "
        f"tail -n {window} -- {log} | awk "
        "'{ n++ } $9 ~ /^5[0-9][0-9]$/ { e++ } END { r = n ? 100 * e / n : 0; "
        'printf "%d requests, %d answered 5xx: error rate %.2f%%\\n", n, e, r; '
        'printf "::output error_rate=%.2f\\n", r; printf "::metric error_rate=%.2f\\n", r }\''
    )


def latency(
    url: str = "{url}",
    samples: str = "{samples}",
    p95_ms: str = "{p95_target_ms}",
    errors: str = "{error_target}",
    suffix: str = "",
) -> str:
    """``samples`` timed GETs (curl's ``time_total``): p50/p95 in ms, the error rate, and
    ``::output degraded{suffix}=yes|no`` against the targets."""
    return (
        f"i=0; while [ $i -lt {samples} ]; do "
        f"curl -sS -o /dev/null --connect-timeout 3 --max-time 10 "
        f"-w '%{{{{http_code}}}} %{{{{time_total}}}}\\n' -- {url} 2>/dev/null || true; "
        "i=$((i + 1)); done | sort -k2 -g | "
        f"awk -v p95t={p95_ms} -v errt={errors} "
        "'{ t[NR] = $2 * 1000; if ($1 !~ /^[23]/) e++ } "
        'END { if (NR == 0) { print "no samples"; exit 1 } '
        "p50 = t[int((NR + 1) / 2)]; k = int(NR * 0.95); if (k < NR * 0.95) k++; p95 = t[k]; "
        'r = 100 * e / NR; d = (p95 > p95t || r > errt) ? "yes" : "no"; '
        'printf "%d requests: p50 %.1f ms, p95 %.1f ms, errors %.1f%%\\n", NR, p50, p95, r; '
        f'printf "::output p95_ms{suffix}=%.1f\\n::output error_rate{suffix}=%.2f\\n", p95, r; '
        f'printf "::output degraded{suffix}=%s\\n::metric p95_ms{suffix}=%.1f\\n", d, p95 }}\''
    )


#: the lint reason of every probe step: it measures and changes nothing
READ_ONLY = "read-only: it measures the service and changes nothing"


def health_step(title: str = "Check the health endpoint") -> ob.Command:
    """The health check incident runbooks start with: ``health`` and ``http_code`` outputs."""
    return ob.Command(
        health(),
        title=title,
        outputs=("health", "http_code"),
        irreversible=READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
