"""Row 5: one ``Remote`` step on 1 to 50 real loopback sshd hosts, against plain fabric
``ThreadingGroup`` and ``ansible`` ad hoc (``-m shell``, ``-f`` = host count).

All three are whole processes, with the same client key and ``known_hosts`` and every
host at once (opsbooks ``workers`` = host count). Ansible runs from its own virtual
environment (``bench/.venv-ansible``, ansible-core from PyPI, made on first use), with
SSH connection sharing off (``ControlMaster=no``): neither opsbooks nor the fabric
script keeps a connection between processes, so a warm ControlPersist socket from the
previous repetition would measure something else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.measure import BIN, Row, Sample, compare, interleave, run_process, skipped
from bench.projects import write_config, write_runbook

HERE = Path(__file__).resolve().parent
ANSIBLE_VENV = HERE / ".venv-ansible"
COMMAND = "true; uname -a"
#: host counts where ansible is measured too: the target is at 20, and each ansible run
#: at 50 hosts takes about half a minute here (the suite must stay under 5 minutes)
ANSIBLE_AT = (1, 20, 50)


def ensure_ansible(*, install: bool = True) -> tuple[Path | None, str]:
    """The ``ansible`` executable of the bench's own venv, or why there is none."""
    ansible = ANSIBLE_VENV / "bin" / "ansible"
    if ansible.exists():
        return ansible, ""
    if not install:
        return None, f"ansible-core not installed in {ANSIBLE_VENV} (a full run installs it)"
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(ANSIBLE_VENV)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode == 0:
        made = subprocess.run(
            [str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"],
            capture_output=True,
            text=True,
            check=False,
        )
    if made.returncode != 0 or not ansible.exists():
        tail = (made.stderr or made.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"could not install ansible-core from PyPI: {tail[0]}"
    return ansible, ""


def _project(work: Path, cluster: object, names: Sequence[str]) -> Path:
    root = work / f"ssh-ours-{len(names)}"
    config = cluster.inventory_config()  # type: ignore[attr-defined]
    hosts = {name: config["hosts"][name] for name in names}
    fan = f'    fan = ob.Remote({COMMAND!r}, role="all", strategy="parallel", workers={len(names)})'
    write_runbook(root, "bench", "fanout", steps=0, extra=[fan])
    write_config(root, hosts=hosts, ssh=config["ssh"])
    return root


def _fabric_spec(work: Path, cluster: object, names: Sequence[str]) -> Path:
    config = cluster.inventory_config()  # type: ignore[attr-defined]
    spec = {
        "known_hosts": config["ssh"]["known_hosts"],
        "hosts": [config["hosts"][n] for n in names],
    }
    path = work / f"fabric-{len(names)}.json"
    path.write_text(json.dumps(spec))
    return path


def _ansible_inventory(work: Path, cluster: object, names: Sequence[str]) -> Path:
    config = cluster.inventory_config()  # type: ignore[attr-defined]
    lines = ["[all]"]
    for name in names:
        h = config["hosts"][name]
        lines.append(
            f"{name} ansible_host={h['address']} ansible_port={h['port']}"
            f" ansible_user={h['user']} ansible_ssh_private_key_file={h['key_file']}"
            " ansible_python_interpreter=/usr/bin/python3"
        )
    path = work / f"ansible-{len(names)}.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def _ansible_env(work: Path, known_hosts: str) -> dict[str, str]:
    (work / "ansible-tmp").mkdir(exist_ok=True)
    return {
        "ANSIBLE_CONFIG": str(work / "ansible.cfg"),  # absent: no user or system config
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": (
            f"-o ControlMaster=no -o IdentitiesOnly=yes -o UserKnownHostsFile={known_hosts}"
        ),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }


def ssh_rows(work: Path, counts: Sequence[int], *, reps: int, install: bool) -> list[Row]:
    try:
        from opsbooks.testing.sshd import SshdError, sshd_hosts
    except ImportError as exc:  # pragma: no cover - opsbooks.testing ships with opsbooks
        return [skipped(5, "ssh", "fan-out", ours="Remote", baseline="fabric", reason=str(exc))]
    ansible, why_not = ensure_ansible(install=True) if install else (None, "left out of --quick")
    try:
        with sshd_hosts(work / "sshd", count=max(counts)) as cluster:
            return _measure(work, cluster, counts, reps, ansible, why_not)
    except SshdError as exc:
        reason = str(exc).splitlines()[0]
        return [
            skipped(
                5, "ssh", f"{n} hosts", ours="Remote", baseline="fabric / ansible", reason=reason
            )
            for n in counts
        ]


def _measure(
    work: Path,
    cluster: object,
    counts: Sequence[int],
    reps: int,
    ansible: Path | None,
    why_not: str,
) -> list[Row]:
    rows: list[Row] = []
    known = cluster.inventory_config()["ssh"]["known_hosts"]  # type: ignore[attr-defined]
    names_all: list[str] = cluster.names  # type: ignore[attr-defined]
    for count in counts:
        names = names_all[:count]
        ours = _project(work, cluster, names)
        spec = _fabric_spec(work, cluster, names)
        variants = {
            "ours": lambda ours=ours: run_process(
                [str(BIN / "opsbooks"), "run", "bench.fanout", "--yes"], cwd=ours
            ),
            "fabric": lambda spec=spec: run_process(
                [sys.executable, str(HERE / "fabric_fanout.py"), str(spec), COMMAND], cwd=work
            ),
        }
        with_ansible = ansible is not None and count in ANSIBLE_AT
        if with_ansible and ansible is not None:
            inventory = _ansible_inventory(work, cluster, names)
            argv = [str(ansible), "all", "-i", str(inventory), "-f", str(count)]
            argv += ["-m", "shell", "-a", COMMAND]
            env = _ansible_env(work, known)
            variants["ansible"] = lambda argv=argv, env=env: run_process(argv, cwd=work, env=env)
        # no warm-up round: each run makes new connections anyway, and ansible at 50
        # hosts takes half a minute a run
        samples: dict[str, list[Sample]] = interleave(variants, reps, warmup=False)
        walls = {name: [s.wall for s in got] for name, got in samples.items()}
        rows.append(
            compare(
                5,
                "ssh",
                f"{count} hosts vs fabric",
                ours="opsbooks run, 1 Remote step",
                baseline="fabric ThreadingGroup",
                ours_values=walls["ours"],
                baseline_values=walls["fabric"],
                target_ratio=1.1,
            )
        )
        if count not in ANSIBLE_AT:
            continue
        if "ansible" not in walls:
            rows.append(
                skipped(
                    5,
                    "ssh",
                    f"{count} hosts vs ansible",
                    ours="opsbooks run",
                    baseline="ansible -m shell",
                    reason=why_not,
                )
            )
            continue
        versus = compare(
            5,
            "ssh",
            f"{count} hosts vs ansible",
            ours="opsbooks run, 1 Remote step",
            baseline="ansible -m shell",
            ours_values=walls["ours"],
            baseline_values=walls["ansible"],
            target=">= 3x faster at 20 hosts",
        )
        versus.met = None if count != 20 else (versus.ratio or 9) <= 1 / 3
        rows.append(versus)
    _per_host(rows, counts)
    return rows


def _per_host(rows: list[Row], counts: Sequence[int]) -> None:
    """Note each fabric row's cost per host beyond the first, to show it stays flat."""
    fabric = {r.case.split()[0]: r for r in rows if r.case.endswith("vs fabric") and r.ours_value}
    first = fabric.get(str(min(counts)))
    for count, row in fabric.items():
        if first is not None and int(count) > min(counts) and row.ours_value and first.ours_value:
            extra = (row.ours_value - first.ours_value) / (int(count) - min(counts)) * 1000
            row.note = f"{extra:.0f} ms per extra host"
