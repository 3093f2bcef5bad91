"""Find why a service is slow: its endpoint's latency, then CPU, memory, IO and disk pressure."""

from __future__ import annotations

import opsbooks as ob

_TOP = "ps -eo pid,comm,%cpu,%mem --sort=-%cpu | head -15"


def _pressure(check: str, *args: str) -> list[str]:
    """``python -m opsbooks_playbooks.actions.diagnose.pressure CHECK ARGS``."""
    return ["python", "-m", "opsbooks_playbooks.actions.diagnose.pressure", check, *args]


class Performance(ob.Runbook):
    """Diagnose a slow service: measure its latency, then find the resource under pressure.

    Use it when users or an alert report a slow service. The run measures the
    endpoint's latency itself (p50/p90/p99 over `requests` GETs) and its error share,
    then checks this host in the order that usually explains slowness: CPU, memory,
    IO and disk. Pressure comes from the kernel's pressure stall information
    (`/proc/pressure/*`, sampled over `sample_seconds`), or the load average against
    the cores where PSI is missing; the busiest processes come from `ps`. The first
    resource over its threshold ends the run at its diagnosis. A slow endpoint on a
    host with no pressure is escalated to the service's owners: the cause is inside
    the application or behind it.
    """

    title = "Troubleshoot Performance Problems"
    owner = "SRE team"
    scope = (
        "One Linux host and, optionally, one HTTP endpoint it serves, measured from this "
        "host. Run it on the host that serves the slow endpoint. Not for a slow database "
        "query: use troubleshoot.database. Not for an endpoint that cannot be reached at "
        "all from clients: use troubleshoot.connectivity."
    )
    prerequisites = [
        "A shell on the host that serves the slow endpoint",
        "Linux with /proc (PSI needs kernel 4.20+; older kernels fall back to load average)",
        "The endpoint URL clients use, or one on loopback that takes the same path",
        "Thresholds that fit the service: its latency SLO (`p99_max_ms`) and error budget",
    ]
    verification = [
        "The run ends at the diagnosis healthy: latency within target, no resource pressure",
        "After a fix, run it again: the diagnosis moves on to healthy or the next resource",
        "The service's latency dashboard and SLO burn rate are back to normal",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="cpu_saturated, but the CPU graphs of the host look calm",
            cause=(
                "PSI counts every stall in the sample window: a burst (a cron job, a "
                "deploy) in a short `sample_seconds` reads as saturation."
            ),
            solution="Run again with `sample_seconds` 30; a real saturation stays.",
        ),
        ob.Trouble(
            symptom="io_pressure reads -1 (not measured)",
            cause="The kernel has no /proc/pressure/io (older than 4.20, or psi=0 on boot).",
            solution="Use `iostat -x 1 5` and `vmstat 1 5` (the `wa` column) by hand.",
        ),
        ob.Trouble(
            symptom="memory_low but `free -m` shows plenty of free memory",
            cause="The host is a container: /proc/meminfo shows the host, not the cgroup.",
            solution="Read the cgroup: `cat /sys/fs/cgroup/memory.current memory.max`.",
        ),
    ]
    recovery = (
        "Every check only reads: it sends GETs to the endpoint, reads /proc and runs "
        "`ps` and `statvfs`. Nothing needs to be undone. Apply the diagnosis's "
        "resolution by hand, then run the tree again to confirm."
    )
    related = ["troubleshoot.database", "troubleshoot.connectivity"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: latency percentiles, PSI, memory, disk", "sre")
    ]

    class Params(ob.Params):
        url: str = ob.Field(
            "",
            pattern=r"^(https?://[^\s]+)?$",
            description="Endpoint to time, e.g. http://127.0.0.1:8080/health (empty: host only)",
        )
        requests: int = ob.Field(50, ge=1, le=10000, description="Requests to time")
        request_timeout: float = ob.Field(5.0, gt=0, le=120, description="Seconds per request")
        p50_max_ms: float = ob.Field(200.0, gt=0, description="Median latency target (ms)")
        p99_max_ms: float = ob.Field(1000.0, gt=0, description="p99 latency target (ms)")
        max_error_pct: float = ob.Field(
            1.0, ge=0, le=100, description="Share of failed requests tolerated (percent)"
        )
        sample_seconds: float = ob.Field(
            5.0, gt=0, le=60, description="Seconds each pressure reading is sampled over"
        )
        cpu_max_pct: float = ob.Field(
            40.0, ge=0, le=100, description="CPU pressure (percent of time stalled) tolerated"
        )
        mem_min_available_pct: float = ob.Field(
            10.0, ge=0, le=100, description="Available memory below this percentage is low"
        )
        mem_max_psi_pct: float = ob.Field(
            10.0, ge=0, le=100, description="Memory pressure (percent stalled) tolerated"
        )
        io_max_pct: float = ob.Field(
            30.0, ge=0, le=100, description="IO pressure (percent stalled) tolerated"
        )
        disk_path: ob.NoOption = ob.Field("/", description="A path on the filesystem to check")
        disk_max_pct: float = ob.Field(
            90.0, ge=0, le=100, description="Filesystem space use above this percentage is full"
        )
        inode_max_pct: float = ob.Field(
            90.0, ge=0, le=100, description="Inode use above this percentage is exhausted"
        )

    measure_latency = ob.Command(
        [
            *("python", "-m", "opsbooks_playbooks.actions.diagnose.latency", "measure"),
            *("--url={url}", "--requests", "{requests}", "--timeout", "{request_timeout}"),
        ],
        when="url",
        outputs=("reachable", "p50_ms", "p90_ms", "p99_ms", "error_pct", "errors"),
        title="Time the endpoint",
        description="Sequential GETs, each on a new connection; p50/p90/p99 in ms.",
        timeout="30m",
        idempotent=True,
        rerun_on_resume=True,
    )
    route_endpoint = ob.Branch(
        cases=[
            ("outputs.reachable == 'no'", "endpoint_down"),
            ("outputs.error_pct > max_error_pct", "endpoint_errors"),
        ],
        when="url",
        title="Does the endpoint answer?",
    )
    host = ob.Command(
        _pressure("host", "--path={disk_path}", "--sample", "{sample_seconds}"),
        outputs=(
            *("cpu_pct", "cpu_source", "top_pid", "top_comm", "top_cpu", "top_pids"),
            *("mem_available_pct", "swap_used_pct", "mem_psi_pct", "io_pct", "io_source"),
            *("disk_used_pct", "inode_used_pct", "disk_free_mib"),
        ),
        title="Measure CPU, memory, IO and disk pressure",
        description=(
            "One sampling window for the CPU, memory and IO stall counters "
            "(/proc/pressure), the processes busiest during it, /proc/meminfo and statvfs."
        ),
        idempotent=True,
        rerun_on_resume=True,
    )
    route_cpu = ob.Branch(
        cases=[("outputs.cpu_pct > cpu_max_pct", "cpu_saturated")],
        title="Is the CPU saturated?",
    )
    route_memory = ob.Branch(
        cases=[
            ("outputs.mem_available_pct < mem_min_available_pct", "memory_low"),
            ("outputs.mem_psi_pct > mem_max_psi_pct", "memory_low"),
        ],
        title="Is memory short?",
    )
    route_io = ob.Branch(
        cases=[("outputs.io_pct > io_max_pct", "io_pressure")],
        title="Is IO the bottleneck?",
    )
    route_disk = ob.Branch(
        cases=[
            ("outputs.disk_used_pct > disk_max_pct", "disk_full"),
            ("outputs.inode_used_pct > inode_max_pct", "inodes_exhausted"),
        ],
        title="Is the filesystem full?",
    )
    route_latency = ob.Branch(
        cases=[
            ("outputs.p99_ms > p99_max_ms", "slow_endpoint"),
            ("outputs.p50_ms > p50_max_ms", "slow_endpoint"),
        ],
        when="url",
        title="Is the endpoint slow with no pressure on the host?",
    )
    healthy = ob.Diagnosis(
        "No resource is under pressure on this host (CPU {outputs.cpu_pct}%, memory "
        "{outputs.mem_available_pct}% available, IO {outputs.io_pct}%, disk "
        "{outputs.disk_used_pct}% used), and the endpoint, if one was given, meets its "
        "latency targets",
        resolution=(
            "Nothing here explains slowness. Compare with the client's view (network, "
            "DNS, TLS: troubleshoot.connectivity) and with the database (troubleshoot.database)."
        ),
        commands=["opsbooks run troubleshoot.connectivity", "opsbooks run troubleshoot.database"],
        title="No performance fault found",
    )
    endpoint_down = ob.Diagnosis(
        "Every request to {url} was refused: nothing listens there",
        resolution=(
            "The service is down or listens elsewhere. Check the process and its port, "
            "then its log for why it stopped; restart it once the cause is known."
        ),
        commands=["ss -ltnp", "systemctl --failed", "journalctl -p err --since '-30 min'"],
        title="Endpoint down",
    )
    endpoint_errors = ob.Diagnosis(
        "{outputs.error_pct}% of requests to {url} failed ({outputs.errors}), over the "
        "{max_error_pct}% budget",
        resolution=(
            "Errors before slowness: read the service's error log for the failing "
            "requests, and check its dependencies. Timeouts point at saturation below."
        ),
        commands=["curl -sS -o /dev/null -w '%{{http_code}} %{{time_total}}\\n' {url}"],
        title="Endpoint failing",
    )
    cpu_saturated = ob.Diagnosis(
        "CPU is saturated: tasks stalled {outputs.cpu_pct}% of the time ({outputs.cpu_source}); "
        "busiest process: pid {outputs.top_pid} ({outputs.top_comm}, {outputs.top_cpu}% CPU)",
        resolution=(
            "Find whether the busiest process is the service itself (a hot loop, a "
            "traffic spike) or a neighbour (a backup, a runaway job). Throttle or stop the "
            "neighbour; scale the service out if it is load; profile it if it is a loop."
        ),
        commands=[
            _TOP,
            "top -b -n 1 -o %CPU | head -20",
            "pidstat -u 1 5",
            "renice +10 -p {outputs.top_pid}",
        ],
        title="CPU saturated",
    )
    memory_low = ob.Diagnosis(
        "Memory is short: {outputs.mem_available_pct}% available, swap "
        "{outputs.swap_used_pct}% used, memory pressure {outputs.mem_psi_pct}%",
        resolution=(
            "Find the largest resident processes; restart a leaking one, lower caches or "
            "worker counts, and check the OOM killer's record. Add memory if it is growth."
        ),
        commands=[
            "ps -eo pid,comm,rss,%mem --sort=-rss | head -15",
            "free -m",
            "journalctl -k --since '-1 h' | grep -i 'out of memory'",
        ],
        title="Memory low",
    )
    io_pressure = ob.Diagnosis(
        "IO is the bottleneck: tasks waited on IO {outputs.io_pct}% of the time",
        resolution=(
            "Find the process doing the IO and the device it saturates; move batch jobs "
            "off peak, or give the service a faster or dedicated volume."
        ),
        commands=["iostat -x 1 5", "pidstat -d 1 5", "iotop -o -b -n 3"],
        title="IO pressure",
    )
    disk_full = ob.Diagnosis(
        "The filesystem of {disk_path} is {outputs.disk_used_pct}% full "
        "({outputs.disk_free_mib} MiB free)",
        resolution=(
            "Find what grew: logs not rotated, old releases, core dumps, deleted files "
            "still held open. Free space, then fix the rotation or retention that failed."
        ),
        commands=[
            "df -h {disk_path}",
            "du -xh --max-depth=2 {disk_path} | sort -h | tail -20",
            "lsof +L1",
            "journalctl --vacuum-size=500M",
        ],
        title="Disk full",
    )
    inodes_exhausted = ob.Diagnosis(
        "The filesystem of {disk_path} has used {outputs.inode_used_pct}% of its inodes",
        resolution="Millions of small files: find the directory (sessions, caches, mail queues).",
        commands=[
            "df -i {disk_path}",
            "du -x --inodes --max-depth=3 {disk_path} | sort -n | tail -20",
        ],
        title="Inodes exhausted",
    )
    slow_endpoint = ob.Diagnosis(
        "{url} is slow (p50 {outputs.p50_ms} ms, p90 {outputs.p90_ms} ms, p99 "
        "{outputs.p99_ms} ms; targets p50 {p50_max_ms} ms, p99 {p99_max_ms} ms) while the "
        "host has no CPU, memory, IO or disk pressure",
        resolution=(
            "The time is spent inside the application or in what it calls (a database, "
            "another service, a lock). Hand over to the service's owners with these "
            "figures and the run's report."
        ),
        commands=[
            "curl -sS -o /dev/null -w 'connect %{{time_connect}} ttfb "
            "%{{time_starttransfer}} total %{{time_total}}\\n' {url}",
            "opsbooks run troubleshoot.database",
            "opsbooks report {run_id}",
        ],
        escalate="L2",
        title="Slow endpoint, no host pressure",
    )
