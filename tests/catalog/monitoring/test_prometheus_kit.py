"""The Prometheus/Alertmanager test kit itself (opsbooks.testing.prometheus)."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from monitoring_kit import Monitoring

from opsbooks.testing import prometheus as kit


def test_a_missing_binary_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(kit.PrometheusUnavailable) as caught:
        kit.find_binary("prometheus-not-installed")
    assert "install the Debian packages prometheus and prometheus-alertmanager" in str(caught.value)


def test_exporter_text_and_backfill_format() -> None:
    exporter = kit.Exporter()
    exporter.set("app_up", 1, job="a", path='x"y')
    exporter.set("app_up", 0, job="a", path='x"y')  # replaces
    exporter.set("queue", 2.5)
    assert exporter.text() == 'app_up{job="a",path="x\\"y"} 0.0\nqueue 2.5\n'
    exporter.remove("queue")
    assert "queue" not in exporter.text()
    text = kit.openmetrics([("m", {"a": "1"}, 1.0, 10.0), ("m", {"a": "1"}, 2.0, 20.0)])
    assert text == '# TYPE m gauge\nm{a="1"} 1.0 10.000\nm{a="1"} 2.0 20.000\n# EOF\n'


def test_prometheus_config_scrapes_every_second_and_alerts_to_alertmanager(tmp_path: Path) -> None:
    exporter = kit.Exporter(port=9999)
    am = kit.AlertmanagerServer("http://127.0.0.1:9093", 9093, tmp_path)
    config = json.loads(kit._prometheus_config(tmp_path / "rules", [exporter], am))
    assert config["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert config["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:9999"]}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": ["127.0.0.1:9093"]}
    ]


@pytest.mark.slow
def test_a_value_the_test_sets_is_scraped(monitoring: Monitoring) -> None:
    monitoring.exporter.set("kit_probe", 42, case="scrape")
    (series,) = monitoring.prometheus.wait_for_series('kit_probe{case="scrape"} == 42')
    assert series["metric"]["job"] == "exporter"


@pytest.mark.slow
def test_a_rule_file_prometheus_refuses_is_an_error(monitoring: Monitoring) -> None:
    with pytest.raises(kit.PrometheusUnavailable, match="refused the reload"):
        monitoring.prometheus.add_rules(
            "broken", "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: 'sum('\n"
        )
    (monitoring.prometheus.rules_dir / "broken.yml").unlink()
    monitoring.prometheus.reload()


@pytest.mark.slow
def test_alertmanager_stops_with_its_process_group(tmp_path: Path) -> None:
    with kit.alertmanager_server(tmp_path / "am") as am:
        with urllib.request.urlopen(f"{am.url}/-/ready", timeout=5) as response:
            assert response.status == 200
        port = am.port
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
