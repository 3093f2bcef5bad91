"""Resource pressure on this host: CPU, memory, IO (PSI where the kernel has it) and disk.

Pressure stall information (``/proc/pressure/{cpu,memory,io}``, Linux 4.20+) says what
share of wall time tasks were stalled waiting for a resource. Each check samples the
``some total=`` counter twice, ``--sample`` seconds apart, so the figure is fresh
rather than a 10-second average. Without PSI, CPU falls back to the 1-minute load
average as a percentage of the cores.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import ActionError, program

Sample = Annotated[float, Arg(help="seconds between the two PSI readings")]
Proc = Annotated[Path, Arg(help="where procfs is mounted")]
PS_ARGV = ("ps", "-eo", "pid,comm,%cpu,%mem", "--sort=-%cpu")


def psi_total(proc: Path, resource: str) -> int | None:
    """The ``some total=`` stall counter (microseconds) of ``resource``, or None without PSI."""
    try:
        text = (proc / "pressure" / resource).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("some "):
            fields = dict(part.split("=", 1) for part in line.split()[1:])
            return int(fields["total"])
    return None


def psi_percent(proc: Path, resource: str, sample: float) -> float | None:
    """Share of the next ``sample`` seconds some task stalled on ``resource``, in percent."""
    first = psi_total(proc, resource)
    if first is None:
        return None
    started = time.monotonic()
    time.sleep(max(0.05, sample))
    second = psi_total(proc, resource)
    elapsed = time.monotonic() - started
    if second is None:
        return None
    return round(min(100.0, (second - first) / (elapsed * 1e6) * 100.0), 1)


def _ancestors(proc: Path) -> set[str]:
    """This process and its ancestors: the check and the run that started it."""
    pids, pid = set(), str(os.getpid())
    while pid not in ("0", "") and pid not in pids:
        pids.add(pid)
        try:
            stat = (proc / pid / "stat").read_text()
        except OSError:
            break
        pid = stat.rsplit(")", 1)[-1].split()[1]
    return pids


def top_processes(limit: int = 5, proc: Path = Path("/proc")) -> list[tuple[str, str, str, str]]:
    """``ps -eo pid,comm,%cpu,%mem --sort=-%cpu``: the busiest, leaving out ps and this run."""
    try:
        text = subprocess.run(PS_ARGV, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ActionError(f"`{' '.join(PS_ARGV)}` failed: {exc}") from None
    ours = _ancestors(proc)
    rows = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4 and parts[0] not in ours and parts[1] != "ps":
            rows.append((parts[0], " ".join(parts[1:-2]), parts[-2], parts[-1]))
    return rows[:limit]


def load_percent(proc: Path) -> float:
    """The 1-minute load average as a percentage of the online cores."""
    try:
        load = float((proc / "loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        raise ActionError(f"cannot read {proc / 'loadavg'}: {exc}") from None
    return round(100.0 * load / (os.cpu_count() or 1), 1)


def cpu(sample: Sample = 5.0, proc: Proc = Path("/proc")) -> Result:
    """Measure CPU pressure (PSI, else load/cores) and name the busiest processes."""
    pct = psi_percent(proc, "cpu", sample)
    source = "psi"
    if pct is None:
        pct, source = load_percent(proc), "loadavg"
    top = top_processes(proc=proc)
    lines = [f"cpu pressure {pct}% ({source}, over {sample}s)", "  PID COMMAND %CPU %MEM"]
    lines += [f"  {pid} {comm} {c} {m}" for pid, comm, c, m in top]
    first = top[0] if top else ("-", "-", "0", "0")
    return Result(
        "\n".join(lines),
        {
            "cpu_pct": pct,
            "cpu_source": source,
            "top_pid": first[0],
            "top_comm": first[1],
            "top_cpu": first[2],
        },
    )


def meminfo(proc: Path) -> dict[str, int]:
    """``/proc/meminfo`` as kB figures by field name."""
    try:
        text = (proc / "meminfo").read_text()
    except OSError as exc:
        raise ActionError(f"cannot read {proc / 'meminfo'}: {exc}") from None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if rest.split():
            values[name.strip()] = int(rest.split()[0])
    return values


def memory(sample: Sample = 5.0, proc: Proc = Path("/proc")) -> Result:
    """Report available memory and swap from /proc/meminfo, and memory PSI."""
    figures = memory_figures(proc)
    stall = psi_percent(proc, "memory", sample)
    text = (
        f"{figures['mem_available_pct']}% of memory available; swap used "
        f"{figures['swap_used_pct']}%; memory pressure {'n/a' if stall is None else f'{stall}%'}"
    )
    return Result(text, figures | {"mem_psi_pct": -1 if stall is None else stall})


def memory_figures(proc: Path) -> dict[str, float]:
    """Available memory and used swap, in percent, from ``/proc/meminfo``."""
    info = meminfo(proc)
    total = info.get("MemTotal", 0)
    if total <= 0:
        raise ActionError(f"{proc / 'meminfo'} has no MemTotal")
    available = round(100.0 * info.get("MemAvailable", info.get("MemFree", 0)) / total, 1)
    swap_total = info.get("SwapTotal", 0)
    swap_used = 0.0
    if swap_total:
        swap_used = round(100.0 * (swap_total - info.get("SwapFree", 0)) / swap_total, 1)
    return {"mem_available_pct": available, "swap_used_pct": swap_used}


def io(sample: Sample = 5.0, proc: Proc = Path("/proc")) -> Result:
    """Measure IO pressure: the share of time some task waited on IO (PSI)."""
    stall = psi_percent(proc, "io", sample)
    if stall is None:
        return Result(
            "no /proc/pressure/io on this kernel: IO pressure not measured",
            {"io_pct": -1, "io_source": "none"},
        )
    return Result(
        f"io pressure {stall}% (psi, over {sample}s)", {"io_pct": stall, "io_source": "psi"}
    )


def disk(path: Annotated[Path, Arg(help="a path on the filesystem to check")]) -> Result:
    """Report space and inode use of the filesystem holding ``path`` (like ``df``)."""
    try:
        stats = os.statvfs(path)
    except OSError as exc:
        raise ActionError(f"cannot stat the filesystem of {path}: {exc.strerror}") from None
    blocks_used = stats.f_blocks - stats.f_bfree
    usable = blocks_used + stats.f_bavail
    used_pct = round(100.0 * blocks_used / usable, 1) if usable else 0.0
    inodes_used = stats.f_files - stats.f_ffree
    inode_pct = round(100.0 * inodes_used / stats.f_files, 1) if stats.f_files else 0.0
    free_mib = stats.f_bavail * stats.f_frsize // (1024 * 1024)
    text = f"{path}: {used_pct}% of space used ({free_mib} MiB free), {inode_pct}% of inodes used"
    return Result(
        text, {"disk_used_pct": used_pct, "inode_used_pct": inode_pct, "disk_free_mib": free_mib}
    )


def cpu_ticks(proc: Path) -> dict[str, tuple[str, int]]:
    """Every process's command name and CPU time so far (utime + stime, clock ticks)."""
    found = {}
    for entry in proc.glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:  # the process ended meanwhile
            continue
        comm = text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rsplit(")", 1)[-1].split()
        found[entry.parent.name] = (comm, int(fields[11]) + int(fields[12]))
    return found


def busiest(
    before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]], seconds: float
) -> list[tuple[str, str, float]]:
    """(pid, command, %CPU during the window), busiest first, like ``top``."""
    ticks = os.sysconf("SC_CLK_TCK")
    rows = [
        (pid, comm, round(100.0 * (used - before[pid][1]) / (ticks * seconds), 1))
        for pid, (comm, used) in after.items()
        if pid in before
    ]
    return sorted(rows, key=lambda row: row[2], reverse=True)


def psi_all(proc: Path, sample: float) -> dict[str, float | None]:
    """CPU, memory and IO stall percentages over one shared ``sample`` window."""
    names = ("cpu", "memory", "io")
    first = {name: psi_total(proc, name) for name in names}
    started = time.monotonic()
    time.sleep(max(0.05, sample))
    elapsed = time.monotonic() - started
    found: dict[str, float | None] = {}
    for name in names:
        second = psi_total(proc, name)
        before = first[name]
        if before is None or second is None:
            found[name] = None
        else:
            found[name] = round(min(100.0, (second - before) / (elapsed * 1e6) * 100.0), 1)
    return found


def host(
    path: Annotated[Path, Arg(help="a path on the filesystem to check")],
    sample: Sample = 5.0,
    proc: Proc = Path("/proc"),
) -> Result:
    """Every check at once: CPU, memory and IO pressure over one window, memory, disk."""
    before, started = cpu_ticks(proc), time.monotonic()
    stalls = psi_all(proc, sample)
    ours = _ancestors(proc)
    now = [
        row
        for row in busiest(before, cpu_ticks(proc), time.monotonic() - started)
        if row[0] not in ours
    ][:8]
    cpu_pct, source = stalls["cpu"], "psi"
    if cpu_pct is None:
        cpu_pct, source = load_percent(proc), "loadavg"
    first = now[0] if now else ("-", "-", 0.0)
    lines = [f"cpu pressure {cpu_pct}% ({source}, over {sample}s); busiest meanwhile:"]
    lines += [f"  {pid} {comm} {pct}%" for pid, comm, pct in now]
    lines.append(f"$ {' '.join(PS_ARGV)} | head -6")
    lines += [f"  {pid} {comm} {c} {m}" for pid, comm, c, m in top_processes(proc=proc)]
    outputs: dict[str, object] = {
        "cpu_pct": cpu_pct,
        "cpu_source": source,
        "top_pid": first[0],
        "top_comm": first[1],
        "top_cpu": first[2],
        "top_pids": ",".join(row[0] for row in now) or "-",
    }
    mem = memory_figures(proc)
    mem_psi = stalls["memory"]
    outputs |= mem | {"mem_psi_pct": -1 if mem_psi is None else mem_psi}
    lines.append(
        f"memory {mem['mem_available_pct']}% available, swap used {mem['swap_used_pct']}%, "
        f"pressure {'n/a' if mem_psi is None else f'{mem_psi}%'}"
    )
    io_pct = stalls["io"]
    outputs |= {
        "io_pct": -1 if io_pct is None else io_pct,
        "io_source": "none" if io_pct is None else "psi",
    }
    lines.append(f"io pressure {'n/a' if io_pct is None else f'{io_pct}%'}")
    used = disk(path)
    lines.append(used.text)
    return Result("\n".join(lines), outputs | dict(used.outputs))


PROGRAM = program("diagnose.pressure", __doc__)
for _command in (host, cpu, memory, io, disk):
    PROGRAM.command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.diagnose.pressure``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
