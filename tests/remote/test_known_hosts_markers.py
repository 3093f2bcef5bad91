"""known_hosts read by opsbooks itself: markers, hashed names, ports, wildcards, bad lines;
the host-key policies' answers for revoked and CA-only hosts; jump hosts resolved from the
inventory and from an ssh config. Pure: no network, no subprocess."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import paramiko
import pytest

from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.backends.ssh.checks import (
    HostKeyProblem,
    HostKeyRevoked,
    RejectUnknown,
    TrustAndRecord,
    classify,
)
from opsbooks.backends.ssh.connect import ConnectSettings
from opsbooks.backends.ssh.known_hosts import KnownHosts, lookup_name
from opsbooks.errors import InventoryError, MissingKeyFile


def _blob(seed: int) -> bytes:
    """The wire form of an ed25519 public key (any 32 bytes do for comparing)."""
    name = b"ssh-ed25519"
    body = bytes([seed]) * 32
    return len(name).to_bytes(4, "big") + name + len(body).to_bytes(4, "big") + body


def _b64(seed: int) -> str:
    return base64.b64encode(_blob(seed)).decode()


def _key(seed: int) -> paramiko.PKey:
    return paramiko.PKey.from_type_string("ssh-ed25519", _blob(seed))


def _hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def _known(tmp_path: Path, *lines: str) -> KnownHosts:
    path = tmp_path / "known_hosts"
    path.write_text("".join(line + "\n" for line in lines))
    return KnownHosts.read(path)


def test_lookup_names_carry_the_port_only_off_22() -> None:
    assert lookup_name("10.0.0.1", None) == "10.0.0.1"
    assert lookup_name("10.0.0.1", 22) == "10.0.0.1"
    assert lookup_name("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_plain_lines_match_names_ports_wildcards_and_negations(tmp_path: Path) -> None:
    known = _known(
        tmp_path,
        "# a comment, then a blank line",
        "",
        f"web1,10.0.0.1 ssh-ed25519 {_b64(1)} comment words",
        f"[10.0.0.2]:2222 ssh-ed25519 {_b64(2)}",
        f"*.internal,!secret.internal ssh-ed25519 {_b64(3)}",
        f"db? ssh-ed25519 {_b64(4)}",
    )
    assert [line.number for line in known.lines] == [3, 4, 5, 6]
    assert [line.number for line in known.keys_for("WEB1")] == [3]
    assert [line.number for line in known.keys_for("[10.0.0.2]:2222")] == [4]
    assert known.keys_for("10.0.0.2") == [] and known.keys_for("[10.0.0.1]:2222") == []
    assert [line.number for line in known.keys_for("app.internal")] == [5]
    assert known.keys_for("secret.internal") == []
    assert [line.number for line in known.keys_for("db1")] == [6]
    assert known.keys_for("db12") == []


def test_hashed_names_match_their_host_only(tmp_path: Path) -> None:
    known = _known(
        tmp_path,
        f"{_hashed('[127.0.0.1]:2222')} ssh-ed25519 {_b64(1)}",
        f"@revoked {_hashed('web1')} ssh-ed25519 {_b64(2)}",
    )
    assert [line.number for line in known.keys_for("[127.0.0.1]:2222")] == [1]
    assert known.keys_for("127.0.0.1") == []
    assert known.revoked("web1", "ssh-ed25519", _blob(2)) is not None
    assert known.revoked("web2", "ssh-ed25519", _blob(2)) is None


def test_a_revoked_key_is_not_known_even_when_also_listed_normally(tmp_path: Path) -> None:
    known = _known(
        tmp_path,
        f"web1 ssh-ed25519 {_b64(1)}",
        f"web1 ssh-ed25519 {_b64(2)}",
        f"@revoked * ssh-ed25519 {_b64(1)}",
    )
    assert [line.number for line in known.keys_for("web1")] == [2]
    revoked = known.revoked("web1", "ssh-ed25519", _blob(1))
    assert revoked is not None and revoked.number == 3 and revoked.marker == "revoked"
    assert known.revoked("web1", "ssh-ed25519", _blob(2)) is None


def test_cert_authority_lines_are_found_for_the_hosts_they_cover(tmp_path: Path) -> None:
    known = _known(tmp_path, f"@cert-authority *.example.com ssh-ed25519 {_b64(9)}")
    line = known.authority_for("web1.example.com")
    assert line is not None and line.number == 1
    assert known.authority_for("web1.example.org") is None
    assert known.keys_for("web1.example.com") == []  # a CA key is no host key


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (f"@trusted web1 ssh-ed25519 {_b64(1)}", "unknown marker @trusted"),
        ("web1 ssh-ed25519", "expected host patterns, a key type and a key"),
        (f"@revoked ssh-ed25519 {_b64(1)}", "expected host patterns, a key type and a key"),
        ("web1 ssh-ed25519 not*base64", "the ssh-ed25519 key is not valid base64"),
        (f"|1|nothash ssh-ed25519 {_b64(1)}", "is not |1|salt|hash"),
    ],
)
def test_a_malformed_line_is_a_config_error_naming_file_and_line(
    tmp_path: Path, line: str, why: str
) -> None:
    with pytest.raises(InventoryError) as caught:
        _known(tmp_path, f"web0 ssh-ed25519 {_b64(1)}", "# fine so far", line)
    message = str(caught.value)
    assert f"{tmp_path / 'known_hosts'} line 3 is malformed" in message
    assert why in message and "fix or delete that line" in message
    assert "\n" not in message and "Traceback" not in message


def test_a_missing_file_knows_nothing_and_unknown_key_types_are_kept(tmp_path: Path) -> None:
    assert KnownHosts.read(tmp_path / "absent").lines == ()
    known = _known(tmp_path, f"web1 sk-ssh-ed25519@openssh.com {_b64(1)}")
    assert [line.key_type for line in known.keys_for("web1")] == ["sk-ssh-ed25519@openssh.com"]


def test_both_policies_refuse_a_revoked_key_and_say_which_line(tmp_path: Path) -> None:
    known = _known(tmp_path, "# header", f"@revoked web1 ssh-ed25519 {_b64(1)}")
    client = paramiko.SSHClient()
    with pytest.raises(HostKeyRevoked) as caught:
        RejectUnknown(known).missing_host_key(client, "web1", _key(1))
    file = tmp_path / "trusted_known_hosts"
    trusting = TrustAndRecord(file, known)
    with pytest.raises(HostKeyRevoked):
        trusting.missing_host_key(client, "web1", _key(1))
    assert not file.exists() and trusting.trusted is None
    host = Host(name="web1", address="web1", user="deploy")
    failure = classify(host, caught.value, known.path, 5.0)
    assert failure.kind == "hostkey"
    assert (
        f"key ssh-ed25519 {_fingerprint(1)} of web1 (deploy@web1) is marked @revoked in "
        f"known_hosts line 2 ({known.path})" in str(failure)
    )


def test_a_host_covered_only_by_a_cert_authority_gets_the_unsupported_answer(
    tmp_path: Path,
) -> None:
    known = _known(tmp_path, f"@cert-authority web* ssh-ed25519 {_b64(9)}")
    with pytest.raises(HostKeyProblem) as caught:
        RejectUnknown(known).missing_host_key(paramiko.SSHClient(), "web1", _key(1))
    host = Host(name="web1", address="web1", port=2222)
    failure = classify(host, caught.value, known.path, 5.0)
    assert failure.kind == "unknown_hostkey"
    assert "host certificates are not supported" in str(failure)
    assert f"ssh-keyscan -p 2222 web1 >> {known.path}" in str(failure)
    plain = classify(host, HostKeyProblem("web1", _key(1)), known.path, 5.0)
    assert "certificates" not in str(plain) and "is not in" in str(plain)


def test_a_malformed_known_hosts_fails_before_any_host_is_contacted(tmp_path: Path) -> None:
    bad = tmp_path / "known_hosts"
    bad.write_text("web1 ssh-ed25519\n")
    inventory = Inventory.parse({"web1": {}}, {"known_hosts": str(bad)})
    with pytest.raises(InventoryError, match=r"known_hosts line 1 is malformed|line 1 is"):
        ConnectSettings.from_inventory(inventory)


def test_an_inventory_jump_names_a_host_or_a_user_host_port(tmp_path: Path) -> None:
    inventory = Inventory.parse(
        {
            "outer": {"address": "10.0.0.1", "user": "jumper"},
            "bastion": {"address": "10.0.1.1", "jump": "outer"},
            "web1": {"address": "10.0.2.1", "jump": "bastion"},
            "web2": {"address": "10.0.2.2", "jump": "ops@gw.example.com:2222"},
            "web3": {"address": "10.0.2.3", "jump": "gw.example.com"},
        },
        {"user": "deploy", "key_file": "k"},
        root=tmp_path,
    )
    chain = inventory.jumps_for(inventory.host("web1"))
    assert [h.name for h in chain] == ["outer", "bastion"]
    (spec,) = inventory.jumps_for(inventory.host("web2"))
    assert (spec.address, spec.port, spec.user) == ("gw.example.com", 2222, "ops")
    assert spec.key_file == str(tmp_path / "k")
    (plain,) = inventory.jumps_for(inventory.host("web3"))
    assert (plain.address, plain.port, plain.user) == ("gw.example.com", None, "deploy")
    assert inventory.jumps_for(inventory.host("outer")) == ()


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ({"a": {"jump": "b"}, "b": {"jump": "a"}}, "its jump hosts form a loop (a -> b -> a)"),
        ({"a": {"jump": "a"}}, "form a loop"),
        ({"a": {"jump": "ops@gw:port"}}, "is neither an inventory host nor"),
        ({"a": {"jump": "ops@gw:99999"}}, "jump 'ops@gw:99999': port"),
    ],
)
def test_a_bad_jump_is_refused_when_the_inventory_is_read(
    hosts: dict[str, dict[str, str]], message: str
) -> None:
    with pytest.raises(InventoryError) as caught:
        Inventory.parse(hosts)
    assert message in str(caught.value)


def test_preflight_checks_the_jump_hosts_key_files(tmp_path: Path) -> None:
    inventory = Inventory.parse(
        {"bastion": {"key_file": "missing_key"}, "web1": {"jump": "bastion", "roles": ["web"]}},
        root=tmp_path,
    )
    with pytest.raises(MissingKeyFile, match=r"bastion: .*missing_key"):
        inventory.preflight(inventory.hosts_for("web"))


def test_ssh_config_proxyjump_hops_go_in_ssh_order(tmp_path: Path) -> None:
    config = (
        "Host web\n  ProxyJump ops@a:2200,ssh://b\n"
        "Host a\n  ProxyJump outer\n"
        "Host direct\n  ProxyJump none\n"
        "Host *.loop\n  ProxyJump x.loop\n"
    )
    settings = ConnectSettings(tmp_path / "kh", False, 1.0, False, ssh_configs=(config,))
    hops = settings.hops(Host(name="web", address="web"))
    assert [(h.address, h.port, h.user) for h in hops] == [
        ("outer", None, None),
        ("a", 2200, "ops"),
        ("b", None, None),
    ]
    assert settings.hops(Host(name="direct", address="direct")) == ()
    assert settings.hops(Host(name="x", address="x.loop")) == ()


def _fingerprint(seed: int) -> str:
    digest = hashlib.sha256(_blob(seed)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
