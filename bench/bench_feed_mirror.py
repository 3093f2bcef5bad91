"""What does mirroring the update feed to web hosts cost over the bare copy it must make?

Starts N real sshd hosts on 127.0.0.1 and a feed of R releases (artifacts of S KiB).
In the same process it times, per round:

- baseline: one SFTP upload per file per host, host after host, through the same
  ``RemoteExecutor`` (the least any mirror must do: the files have to get there);
- first mirror: ``feed_remote.mirror`` into empty folders (checks on the host, temp
  names and ``mv``, feed files, hosts at the same time);
- re-mirror: the same again when nothing changed (the common case on every release
  for all but one artifact);
- first mirror, one host at a time: the checks' own cost, without the parallelism.

It prints each as a ratio to the baseline, so the figures survive noisy machines.

    .venv/bin/python bench/bench_feed_mirror.py [--hosts 5] [--releases 4] [--kib 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.testing.sshd import sshd_hosts
from opsbooks_playbooks.actions import feed, feed_remote
from opsbooks_playbooks.actions.feed_format import FEED_JSON


def make_feed(folder: Path, releases: int, kib: int) -> list[Path]:
    """A feed of ``releases`` versions, each with a random artifact of ``kib`` KiB."""
    built = folder / "built"
    built.mkdir(parents=True)
    for minor in range(releases):
        artifact = built / f"app-1.{minor}.0.tar.gz"
        artifact.write_bytes(os.urandom(kib * 1024))
        feed.publish(folder / "feed", f"1.{minor}.0", "https://updates.example/", artifact=artifact)
    return sorted(p for p in (folder / "feed").iterdir() if p.is_file())


def write_config(folder: Path, config: dict[str, dict[str, object]]) -> Path:
    lines: list[str] = []
    for name, table in config["hosts"].items():
        assert isinstance(table, dict)
        lines.append(f"[hosts.{name}]")
        for key in ("address", "port", "user", "key_file"):
            value = table[key]
            lines.append(
                f"{key} = {value!r}".replace("'", '"')
                if isinstance(value, str)
                else f"{key} = {value}"
            )
        lines.append('roles = ["web"]')
    lines.append("[ssh]")
    lines.append(f'known_hosts = "{config["ssh"]["known_hosts"]}"')
    lines.append("use_agent = false")
    path = folder / "opsbooks.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--releases", type=int, default=4)
    parser.add_argument("--kib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as tmp:
        root = Path(tmp)
        files = make_feed(root, args.releases, args.kib)
        size = sum(p.stat().st_size for p in files) / 1024
        with sshd_hosts(root, count=args.hosts) as cluster:
            config = cluster.inventory_config(roles=["web"])
            config_file = write_config(root, config)
            inventory = Inventory.parse(config["hosts"], config["ssh"])
            executor = RemoteExecutor(inventory)
            www = root / "www"

            def clear() -> None:
                shutil.rmtree(www, ignore_errors=True)
                for host in inventory.hosts:
                    (www / "base" / host.name).mkdir(parents=True)

            def baseline() -> None:
                for host in inventory.hosts:
                    for path in files:
                        result = executor.put(host, path, f"{www}/base/{host.name}/{path.name}")
                        assert result.ok, result.error

            def mirror() -> None:
                feed_remote.mirror(
                    root / "feed", "web", f"{www}/mirror/{{host.name}}", config=config_file
                )

            def mirror_serially() -> None:
                workers, feed_remote._WORKERS = feed_remote._WORKERS, 1
                try:
                    feed_remote.mirror(
                        root / "feed", "web", f"{www}/serial/{{host.name}}", config=config_file
                    )
                finally:
                    feed_remote._WORKERS = workers

            base, first, again, serial = [], [], [], []
            for _ in range(args.rounds):
                clear()
                base.append(timed(baseline))
                first.append(timed(mirror))
                again.append(timed(mirror))
                serial.append(timed(mirror_serially))
                for host in inventory.hosts:
                    served = (www / "mirror" / host.name / FEED_JSON).read_bytes()
                    assert served == (root / "feed" / FEED_JSON).read_bytes()
    b, f, a, s = (statistics.median(x) for x in (base, first, again, serial))
    print(f"hosts={args.hosts} files={len(files)} ({size:.0f} KiB a host) rounds={args.rounds}")
    print(f"baseline (one SFTP put per file, host after host): {b:.2f}s (median round)")
    print(f"first mirror into empty folders: {f:.2f}s  ratio {f / b:.2f}x")
    print(f"re-mirror, nothing changed:      {a:.2f}s  ratio {a / b:.2f}x")
    print(f"first mirror, one host at a time: {s:.2f}s  ratio {s / b:.2f}x")


if __name__ == "__main__":
    main()
