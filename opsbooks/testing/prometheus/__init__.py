"""Start real Prometheus and Alertmanager servers on loopback, for tests and drills.

Both run from the Debian packages' binaries (``prometheus``, ``prometheus-alertmanager``)
on free 127.0.0.1 ports with a temporary configuration and storage, and are stopped
(their whole process group) on exit. Prometheus scrapes a loopback exporter whose
values the test sets, every second, and evaluates rules every second, so an alert rule
fires within a few seconds of the value crossing its threshold; it sends its alerts to
the kit's Alertmanager. History (a week of disk usage, a day with a known outage) is
backfilled with ``promtool tsdb create-blocks-from openmetrics`` before the start::

    with metrics_exporter() as exporter, alertmanager_server(tmp / "am") as am:
        with prometheus_server(tmp / "prom", scrape=[exporter], alertmanager=am) as prom:
            prom.add_rules("app", RULES)          # written, then Prometheus reloads
            exporter.set("app_queue_depth", 500, job="app")
            am.wait_for_alert("QueueBacklog")
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbooks.testing.prometheus.exporter import Exporter, metrics_exporter, openmetrics

__all__ = [
    "AlertmanagerServer",
    "Exporter",
    "PrometheusServer",
    "PrometheusUnavailable",
    "alertmanager_server",
    "metrics_exporter",
    "openmetrics",
    "prometheus_server",
]

_PACKAGES = "install the Debian packages prometheus and prometheus-alertmanager"
_READY_TIMEOUT = 30.0


class PrometheusUnavailable(RuntimeError):
    """A binary is missing or a server would not start; the message says why and what to do."""


def find_binary(name: str) -> str:
    """The path of ``name`` (``prometheus``, ``promtool``...), or a clear error."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else "")
    if not found:
        raise PrometheusUnavailable(f"{name} not found on PATH or in /usr/bin; {_PACKAGES}")
    return found


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _post(url: str, body: bytes = b"", timeout: float = 10.0) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data: bytes = response.read()
        return data


@dataclass(frozen=True)
class _Process:
    """A server process started in its own process group, with its log file."""

    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def _start(argv: Sequence[str], workdir: Path, url: str, what: str) -> _Process:
    log = workdir / f"{what}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(argv),
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    process = _Process(popen, log)
    deadline = time.monotonic() + _READY_TIMEOUT
    while True:
        if popen.poll() is not None:
            raise PrometheusUnavailable(
                f"{what} exited with status {popen.returncode} at start:\n{process.tail()}"
            )
        if _ready(f"{url}/-/ready"):
            return process
        if time.monotonic() > deadline:
            process.stop()
            raise PrometheusUnavailable(
                f"{what} not ready at {url} after {_READY_TIMEOUT:.0f}s:\n{process.tail()}"
            )
        time.sleep(0.1)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@dataclass(frozen=True)
class AlertmanagerServer:
    """A running Alertmanager: its API is at ``url`` (``/api/v2/alerts``, ``/api/v2/silences``)."""

    url: str
    port: int
    workdir: Path

    def alerts(self, *, active_only: bool = True) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (``active_only``: not silenced or inhibited)."""
        query = "?silenced=false&inhibited=false" if active_only else ""
        found: list[dict[str, Any]] = _get_json(f"{self.url}/api/v2/alerts{query}")
        return found

    def silences(self) -> list[dict[str, Any]]:
        """Every silence, active or expired."""
        found: list[dict[str, Any]] = _get_json(f"{self.url}/api/v2/silences")
        return found

    def wait_for_alert(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until an active alert called ``name`` is there; return it."""
        deadline = time.monotonic() + timeout
        while True:
            for alert in self.alerts():
                if alert.get("labels", {}).get("alertname") == name:
                    return alert
            if time.monotonic() > deadline:
                raise AssertionError(f"alert {name} did not reach Alertmanager in {timeout}s")
            time.sleep(0.2)

    def expire_all_silences(self) -> None:
        """Expire every active silence, so the next test starts with none."""
        for silence in self.silences():
            if silence.get("status", {}).get("state") == "active":
                request = urllib.request.Request(
                    f"{self.url}/api/v2/silence/{silence['id']}", method="DELETE"
                )
                with urllib.request.urlopen(request, timeout=5):
                    pass


_AM_CONFIG = """\
route:
  receiver: {receiver}
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: 'null'
  - name: hook
    webhook_configs:
      - url: {webhook}
        send_resolved: true
"""


@contextlib.contextmanager
def alertmanager_server(
    tmpdir: Path | str, *, webhook_url: str = ""
) -> Iterator[AlertmanagerServer]:
    """Start Alertmanager under ``tmpdir`` (notifications to ``webhook_url``, if given)."""
    binary = find_binary("prometheus-alertmanager")
    workdir = Path(tmpdir)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    receiver = "hook" if webhook_url else "'null'"
    config.write_text(
        _AM_CONFIG.format(
            receiver=receiver, webhook=json.dumps(webhook_url or "http://127.0.0.1:9/")
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    process = _start(argv, workdir, url, "alertmanager")
    try:
        yield AlertmanagerServer(url, port, workdir)
    finally:
        process.stop()


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus: query it at ``url``; add rule files with ``add_rules``."""

    url: str
    port: int
    workdir: Path
    rules_dir: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` now (``/api/v1/query``)."""
        qs = urllib.parse.urlencode({"query": expr})
        answer = _get_json(f"{self.url}/api/v1/query?{qs}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def add_rules(self, name: str, text: str) -> Path:
        """Write rule file ``name.yml`` and reload; raise if Prometheus refuses it."""
        path = self.rules_dir / f"{name}.yml"
        path.write_text(text)
        self.reload()
        return path

    def reload(self) -> None:
        """Re-read the configuration and rule files (``POST /-/reload``)."""
        try:
            _post(f"{self.url}/-/reload")
        except urllib.error.HTTPError as exc:
            raise PrometheusUnavailable(
                f"Prometheus refused the reload: {exc.read().decode(errors='replace')}"
            ) from None

    def wait_for_series(self, expr: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until ``expr`` returns at least one series (a scrape happened)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.query(expr)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr} returned nothing in {timeout}s")
            time.sleep(0.2)


def _prometheus_config(
    rules_dir: Path, scrape: Sequence[Exporter], alertmanager: AlertmanagerServer | None
) -> str:
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "*.yml")],
        "scrape_configs": [
            {
                "job_name": "exporter",
                "scrape_interval": "1s",
                "static_configs": [{"targets": [e.target for e in scrape]}],
            }
        ]
        if scrape
        else [],
    }
    if alertmanager is not None:
        targets = [f"127.0.0.1:{alertmanager.port}"]
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": targets}]}]}
    return json.dumps(config, indent=2)  # JSON is YAML


def backfill(data_dir: Path, history: str) -> None:
    """Write ``history`` (OpenMetrics text) into TSDB blocks under ``data_dir``."""
    source = data_dir.parent / "history.om"
    source.write_text(history)
    result = subprocess.run(
        [
            find_binary("promtool"),
            *("tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=240h"),
            *(str(source), str(data_dir)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PrometheusUnavailable(
            f"promtool could not backfill the history: {result.stderr.strip()}"
        )


@contextlib.contextmanager
def prometheus_server(
    tmpdir: Path | str,
    *,
    scrape: Sequence[Exporter] = (),
    alertmanager: AlertmanagerServer | None = None,
    rules: Mapping[str, str] | None = None,
    history: str = "",
) -> Iterator[PrometheusServer]:
    """Start Prometheus under ``tmpdir``: 1s scrapes of ``scrape``, 1s rule evaluation;
    yield once every exporter has been scraped.

    ``rules`` are rule files (name -> YAML) written before the start; ``history`` is
    OpenMetrics text backfilled into storage first (see ``openmetrics``).
    """
    binary = find_binary("prometheus")
    workdir = Path(tmpdir)
    rules_dir, data_dir = workdir / "rules", workdir / "data"
    for folder in (rules_dir, data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for name, text in (rules or {}).items():
        (rules_dir / f"{name}.yml").write_text(text)
    if history:
        backfill(data_dir, history)
    config = workdir / "prometheus.yml"
    config.write_text(_prometheus_config(rules_dir, scrape, alertmanager))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=90d",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--rules.alert.resend-delay=1s",
        "--log.level=warn",
    ]
    process = _start(argv, workdir, url, "prometheus")
    try:
        server = PrometheusServer(url, port, workdir, rules_dir)
        if scrape:  # ready means scraping: the first scrape waits for discovery (~5 s)
            every = f'count(up{{job="exporter"}} == 1) == {len(scrape)}'
            server.wait_for_series(every, timeout=_READY_TIMEOUT)
        yield server
    finally:
        process.stop()
