"""The host inventory: which machines a role means and how to reach them over SSH.

Read from ``Config.hosts`` (name -> address, port, user, key file, roles, vars) and
``Config.ssh`` (known_hosts, ssh config file, timeouts, host-key trust, agent).
Pure: parsing checks shapes, and ``preflight`` checks key files and template
variables so a bad inventory fails before any host is contacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opsbooks.define.template import Bound, bind, fields
from opsbooks.errors import (
    InventoryError,
    MissingKeyFile,
    UnknownHost,
    UnknownHostVar,
    UnknownRole,
)

RESERVED_VARS = frozenset({"name", "address", "port", "user", "roles", "key_file"})


class HostsConfig(Protocol):
    """The part of the project configuration an inventory is read from."""

    @property
    def hosts(self) -> Mapping[str, Any]: ...

    @property
    def ssh(self) -> Mapping[str, Any]: ...

    @property
    def root(self) -> Path: ...


class SshSettings(BaseModel):
    """How to connect: host-key checking, ssh config, timeouts and defaults for hosts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    known_hosts: str = "~/.ssh/known_hosts"
    ssh_config: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    command_timeout: float = Field(default=3600.0, gt=0)
    trust_new_hosts: bool = False
    use_agent: bool = True
    user: str | None = None
    key_file: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    #: ``"ask"``: ``become=`` steps get a sudo password asked once per run at the
    #: terminal (kept in memory only); ``"never"``: sudo must not ask (``sudo -n``)
    sudo_password: Literal["never", "ask"] = "never"


class Host(BaseModel):
    """One machine: where it is, how to log in, its roles and its template variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    address: str
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    key_file: str | None = None
    roles: tuple[str, ...] = ()
    vars: Mapping[str, str] = Field(default_factory=dict)
    #: the jump host (bastion) to reach this one through: another inventory host's
    #: name, or ``[user@]address[:port]``; its key is checked like any host's
    jump: str | None = None

    @field_validator("vars")
    @classmethod
    def _plain_names(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for key in value:
            if not key.isidentifier():
                raise ValueError(f"variable name {key!r} is not an identifier")
            if key in RESERVED_VARS:
                raise ValueError(f"variable name {key!r} is reserved for the host's own field")
        return value

    @property
    def target(self) -> str:
        """``user@address:port`` for messages (port and user may come from ssh config)."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.address}" + (f":{self.port}" if self.port else "")

    def values(self) -> dict[str, str]:
        """What ``{host.<field>}`` can name: name, address, port, user and every var."""
        own = {"name": self.name, "address": self.address, "port": str(self.port or 22)}
        own["user"] = self.user or ""
        return {**own, **self.vars}


class Inventory:
    """Hosts in declared order, grouped by role, plus the SSH settings to reach them."""

    def __init__(self, hosts: Iterable[Host], ssh: SshSettings | None = None) -> None:
        self.hosts: tuple[Host, ...] = tuple(hosts)
        self.ssh = ssh or SshSettings()

    @classmethod
    def parse(
        cls,
        hosts: Mapping[str, Any],
        ssh: Mapping[str, Any] | None = None,
        *,
        root: Path | None = None,
    ) -> Inventory:
        """Build from the ``hosts`` and ``ssh`` tables; relative paths resolve against ``root``."""
        try:
            settings = SshSettings.model_validate(dict(ssh or {}))
        except ValidationError as exc:
            raise InventoryError(f"invalid [ssh] settings: {_problems(exc)}") from None
        base = root or Path.cwd()
        settings = settings.model_copy(
            update={
                "known_hosts": _resolve(settings.known_hosts, base),
                "ssh_config": _resolve(settings.ssh_config, base),
                "key_file": _resolve(settings.key_file, base),
            }
        )
        parsed: list[Host] = []
        for name, table in hosts.items():
            if not isinstance(table, Mapping):
                raise InventoryError(f"host {name!r} must be a table of settings")
            data = {
                "address": name,
                "port": settings.port,
                "user": settings.user,
                "key_file": settings.key_file,
                **table,
                "name": name,
            }
            data["key_file"] = _resolve(data["key_file"], base)
            try:
                parsed.append(Host.model_validate(data))
            except ValidationError as exc:
                raise InventoryError(f"invalid host {name!r}: {_problems(exc)}") from None
        inventory = cls(parsed, settings)
        for host in inventory.hosts:
            inventory.jumps_for(host)  # a bad jump or a loop fails now, not at connect time
        return inventory

    @classmethod
    def from_config(cls, config: HostsConfig) -> Inventory:
        """Build from an ``opsbooks.edges.config.Config`` (its ``hosts``, ``ssh`` and ``root``)."""
        return cls.parse(config.hosts, config.ssh, root=config.root)

    @property
    def roles(self) -> list[str]:
        """Every role, in the order it first appears."""
        return list(dict.fromkeys(role for host in self.hosts for role in host.roles))

    def hosts_for(self, role: str) -> list[Host]:
        """The hosts with ``role``, in declared order."""
        found = [host for host in self.hosts if role in host.roles]
        if not found:
            raise UnknownRole(role, self.roles)
        return found

    def host(self, name: str) -> Host:
        for candidate in self.hosts:
            if candidate.name == name:
                return candidate
        raise UnknownHost(name, [h.name for h in self.hosts])

    def jumps_for(self, host: Host) -> tuple[Host, ...]:
        """The jump hosts on the way to ``host``, the first one to connect to first.

        A jump naming an inventory host goes through that host's own jump, if it has
        one; ``[user@]address[:port]`` is a host of its own, with the ``[ssh]``
        defaults for what it does not say. ``InventoryError`` for a loop or a bad jump.
        """
        chain: list[Host] = []
        current = host
        while current.jump:
            hop = self._jump_host(current)
            if hop.name == host.name or any(hop.name == seen.name for seen in chain):
                names = " -> ".join([host.name, *(h.name for h in chain), hop.name])
                raise InventoryError(
                    f"host {host.name!r}: its jump hosts form a loop ({names})",
                    fix="make the last jump host one that is reached directly (no jump)",
                )
            chain.insert(0, hop)
            current = hop
        return tuple(chain)

    def _jump_host(self, host: Host) -> Host:
        spec = host.jump or ""
        for candidate in self.hosts:
            if candidate.name == spec:
                return candidate
        user, _, rest = spec.rpartition("@")
        address, colon, port = rest.partition(":")
        if not address or "@" in user or (colon and not port.isdigit()) or " " in spec:
            raise InventoryError(
                f"host {host.name!r}: jump {spec!r} is neither an inventory host nor "
                f"[user@]address[:port]",
                fix="name another host of the hosts table, or write e.g. "
                'jump = "deploy@bastion.example.com:2222"',
            )
        data: dict[str, Any] = {
            "name": spec,
            "address": address,
            "port": int(port) if colon else self.ssh.port,
            "user": user or self.ssh.user,
            "key_file": self.ssh.key_file,
        }
        try:
            return Host.model_validate(data)
        except ValidationError as exc:
            raise InventoryError(
                f"host {host.name!r}: jump {spec!r}: {_problems(exc)}",
                fix="fix the jump setting of that host",
            ) from None

    def preflight(self, hosts: Iterable[Host], templates: Iterable[str] = ()) -> None:
        """Fail before connecting: missing key or ssh config file, undefined ``{host.*}``.

        Jump hosts' key files count too: a run must not find them missing halfway.
        """
        hosts = list(hosts)
        hops = [hop for host in hosts for hop in self.jumps_for(host)]
        if self.ssh.ssh_config and not Path(self.ssh.ssh_config).is_file():
            raise InventoryError(
                f"ssh_config file {self.ssh.ssh_config} does not exist",
                fix="create it or fix ssh_config in the ssh table of the opsbooks configuration",
            )
        missing = {
            h.name: h.key_file
            for h in [*hosts, *hops]
            if h.key_file and not Path(h.key_file).is_file()
        }
        if missing:
            raise MissingKeyFile(missing)
        for template in templates:
            for host in hosts:
                check_host_fields(template, host)


def check_host_fields(template: str, host: Host) -> None:
    """Raise ``UnknownHostVar`` if ``template`` names a ``{host.*}`` field ``host`` lacks."""
    known = host.values()
    for name in fields(template):
        root, _, rest = name.partition(".")
        if root.split("[")[0] != "host":
            continue
        attr, _, key = rest.partition(".")
        if attr == "vars" and "vars" not in known:  # {host.vars.KEY}: the same as {host.KEY}
            if key not in host.vars:
                raise UnknownHostVar(host.name, f"vars.{key}", sorted(host.vars))
            continue
        if not attr or attr not in known or key:
            raise UnknownHostVar(host.name, rest or "(none)", sorted(known))


def bound_for_host(
    template: str,
    host: Host,
    values: Mapping[str, Any] | None = None,
    *,
    shell: bool = True,
) -> Bound:
    """Bind params and ``{host.*}`` in one pass; with ``shell``, every value is shell-quoted.

    Pass the step's *template* (``Remote.command``), not an already bound command: a
    bound parameter value is never parsed again, so braces in it stay data. Use
    ``shell=False`` for file paths (``Upload``/``Download``), which no shell reads.
    """
    check_host_fields(template, host)
    return bind(template, {**(values or {}), "host": host_values(host)}, shell=shell)


def host_values(host: Host) -> dict[str, Any]:
    """What ``{host.*}`` binds: ``host.values()``, and ``{host.vars.KEY}`` for each var."""
    return {"vars": dict(host.vars), **host.values()}  # a var named ``vars`` wins


def bind_for_host(
    template: str,
    host: Host,
    values: Mapping[str, Any] | None = None,
    *,
    shell: bool = True,
) -> str:
    """The text to use on ``host`` (may hold secrets; show ``bound_for_host().shown``)."""
    return bound_for_host(template, host, values, shell=shell).text


def _resolve(path: str | None, base: Path) -> str | None:
    if not path:
        return path
    if not isinstance(path, str):
        kind = type(path).__name__
        raise InventoryError(
            f"a path in the hosts or ssh settings must be text, got {kind} {path!r}",
            fix="quote it in the configuration",
        )
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else base / candidate)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg'].lower()}"
        for e in exc.errors(include_url=False)
    )
