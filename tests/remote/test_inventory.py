"""Inventory parsing, role lookup, preflight checks and ``{host.*}`` binding (no SSH)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from opsbooks.backends.hosts import load_inventory
from opsbooks.backends.hosts.inventory import Inventory, bind_for_host, bound_for_host
from opsbooks.edges.config import Config
from opsbooks.errors import (
    BadInput,
    ConfigError,
    InventoryError,
    MissingKeyFile,
    UnknownHost,
    UnknownHostVar,
    UnknownRole,
)

HOSTS = {
    "db1": {"address": "10.0.0.5", "roles": ["db"], "vars": {"dc": "ams"}},
    "web1": {"address": "10.0.0.11", "port": 2222, "roles": ["web", "edge"]},
    "web2": {"roles": ["web"], "user": "deploy", "key_file": "keys/web"},
}


def test_parse_applies_ssh_defaults_and_resolves_paths(tmp_path: Path) -> None:
    ssh = {"user": "ops", "key_file": "keys/ops", "known_hosts": "kh", "connect_timeout": 3}
    inv = Inventory.parse(HOSTS, ssh, root=tmp_path)
    web1, web2 = inv.host("web1"), inv.host("web2")
    assert (web1.address, web1.port, web1.user) == ("10.0.0.11", 2222, "ops")
    assert web1.key_file == str(tmp_path / "keys/ops")
    assert (web2.address, web2.port, web2.user) == ("web2", None, "deploy")
    assert web2.key_file == str(tmp_path / "keys/web")
    assert inv.ssh.known_hosts == str(tmp_path / "kh")
    assert inv.ssh.connect_timeout == 3
    assert inv.ssh.trust_new_hosts is False


def test_from_config_reads_hosts_and_ssh_tables(tmp_path: Path) -> None:
    config = Config(root=tmp_path, hosts=HOSTS, ssh={"known_hosts": "known"})
    inv = Inventory.from_config(config)
    assert [h.name for h in inv.hosts] == ["db1", "web1", "web2"]
    assert inv.ssh.known_hosts == str(tmp_path / "known")


def test_hosts_for_keeps_declared_order() -> None:
    inv = Inventory.parse(HOSTS)
    assert [h.name for h in inv.hosts_for("web")] == ["web1", "web2"]
    assert inv.roles == ["db", "web", "edge"]


def test_unknown_role_names_the_role_and_the_known_ones() -> None:
    with pytest.raises(UnknownRole) as caught:
        Inventory.parse(HOSTS).hosts_for("cache")
    assert isinstance(caught.value, BadInput)
    assert "'cache'" in str(caught.value) and "db, web, edge" in str(caught.value)


def test_unknown_host_lists_the_known_hosts() -> None:
    with pytest.raises(UnknownHost, match="db1, web1, web2"):
        Inventory.parse(HOSTS).host("web9")


@pytest.mark.parametrize(
    ("hosts", "ssh", "fragment"),
    [
        ({"a": {"port": "x"}}, {}, "invalid host 'a': port"),
        ({"a": {"colour": "red"}}, {}, "colour"),
        ({"a": {"vars": {"name": "x"}}}, {}, "reserved"),
        ({"a": {"vars": {"bad-name": "x"}}}, {}, "not an identifier"),
        ({"a": "10.0.0.1"}, {}, "must be a table"),
        ({}, {"connect_timeout": 0}, "connect_timeout"),
        ({}, {"strict": True}, "strict"),
    ],
)
def test_malformed_inventory_is_a_config_error(
    hosts: dict[str, object], ssh: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InventoryError) as caught:
        Inventory.parse(hosts, ssh)
    assert isinstance(caught.value, ConfigError)
    assert fragment in str(caught.value)


def test_preflight_reports_every_missing_key_file_before_connecting(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/web").write_text("key")
    hosts = {**HOSTS, "web3": {"roles": ["web"], "key_file": "keys/gone"}}
    inv = Inventory.parse(hosts, {"key_file": "keys/missing"}, root=tmp_path)
    with pytest.raises(MissingKeyFile) as caught:
        inv.preflight(inv.hosts_for("web"))
    assert set(caught.value.missing) == {"web1", "web3"}
    assert str(tmp_path / "keys/gone") in str(caught.value)


def test_preflight_checks_host_vars_used_by_the_command() -> None:
    inv = Inventory.parse({k: v for k, v in HOSTS.items() if k != "web2"})
    inv.preflight(inv.hosts_for("db"), ["echo {host.dc}"])
    with pytest.raises(UnknownHostVar) as caught:
        inv.preflight(inv.hosts_for("web"), ["echo {host.dc} {version}"])
    assert caught.value.host == "web1" and caught.value.var == "dc"
    assert "address, name, port, user" in str(caught.value)


def test_bind_for_host_fills_host_fields_and_params_in_one_pass() -> None:
    host = Inventory.parse(HOSTS).host("db1")
    text = bind_for_host(
        "deploy {version} to {host.name} at {host.address}:{host.port} in {host.dc}",
        host,
        {"version": "1.2 {host.name}"},
    )
    assert text == "deploy '1.2 {host.name}' to db1 at 10.0.0.5:22 in ams"


@pytest.mark.slow  # runs a real sh
@pytest.mark.parametrize(
    "evil",
    ["it's", '"; rm -rf / #', "$(touch pwned)", "`id`", "a\nb", "{x}", "-n"],
)
def test_host_var_values_stay_data_in_the_shell(evil: str) -> None:
    host = Inventory.parse({"h": {"vars": {"note": evil}}}).host("h")
    text = bind_for_host("printf %s {host.note}", host)
    out = subprocess.run(["sh", "-c", text], capture_output=True, text=True, check=True)
    assert out.stdout == evil
    assert shlex.split(text)[-1] == evil


def test_bound_for_host_redacts_secrets_in_the_shown_form() -> None:
    host = Inventory.parse(HOSTS).host("web1")
    bound = bound_for_host("login {token} {host.name}", host, {"token": SecretStr("hunter2")})
    assert bound.text == "login hunter2 web1"
    assert "hunter2" not in bound.shown and "web1" in bound.shown


def test_a_bare_host_placeholder_is_rejected() -> None:
    host = Inventory.parse(HOSTS).host("web1")
    with pytest.raises(UnknownHostVar):
        bind_for_host("echo {host}", host)


def test_a_missing_ssh_config_file_is_caught_before_connecting(tmp_path: Path) -> None:
    from opsbooks.backends.ssh.executor import RemoteExecutor

    inv = Inventory.parse({"a": {}}, {"ssh_config": "nope/config"}, root=tmp_path)
    with pytest.raises(InventoryError, match="nope/config"):
        inv.preflight(inv.hosts)
    with pytest.raises(InventoryError, match="nope/config"):
        RemoteExecutor(inv)


def test_load_inventory_reads_opsbooks_toml_pyproject_a_folder_or_a_table(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sub" / "deeper").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.opsbooks.hosts.web1]\nroles = ["web"]\n'
        'key_file = "keys/web"\n\n[tool.opsbooks.ssh]\nconnect_timeout = 3\n'
    )
    from_file = load_inventory(project / "pyproject.toml")
    assert [h.name for h in from_file.hosts_for("web")] == ["web1"]
    assert from_file.host("web1").key_file == str(project / "keys/web")
    assert from_file.ssh.connect_timeout == 3
    assert load_inventory(project / "sub" / "deeper").host("web1").key_file == str(
        project / "keys/web"
    )
    (project / "sub" / "opsbooks.toml").write_text('[hosts.db1]\nroles = ["db"]\n')
    assert [h.name for h in load_inventory(project / "sub" / "deeper").hosts] == ["db1"]
    assert [h.name for h in load_inventory({"hosts": HOSTS}).hosts] == ["db1", "web1", "web2"]
    config = Config(root=tmp_path, hosts=HOSTS, ssh={"known_hosts": "kh"})
    assert load_inventory(config).ssh.known_hosts == str(tmp_path / "kh")


def test_load_inventory_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    bad = tmp_path / "bad" / "opsbooks.toml"
    bad.write_text("[hosts\n")
    with pytest.raises(InventoryError, match="not valid TOML"):
        load_inventory(bad)
    bad.write_text('hosts = "web1"\n')
    with pytest.raises(InventoryError, match=r"hosts in .* must be a table"):
        load_inventory(bad)
    with pytest.raises(InventoryError, match="cannot read"):
        load_inventory(tmp_path / "missing.toml")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_inventory(empty).hosts == ()  # no configuration at or above it
