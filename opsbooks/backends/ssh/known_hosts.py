"""Read an OpenSSH ``known_hosts`` file ourselves, markers included.

paramiko's loader drops ``@revoked`` and ``@cert-authority`` lines without a word,
so a revoked key that is also listed normally would be accepted, and a host that
is only covered by a certificate authority would get a generic "unknown key"
error. This parser keeps every line with its number, matches host names the way
``ssh`` does (comma-separated patterns, ``*`` and ``?`` wildcards, ``!`` negation,
hashed ``|1|salt|hash`` names, ``[host]:port`` for other ports) and refuses a
malformed line with its number, rather than skipping it as ``ssh`` does: a file we
check keys against must say what it means. Pure: no paramiko; keys are compared as
their wire bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from opsbooks.errors import InventoryError

Marker = str  # "", "revoked" or "cert-authority"
MARKERS = ("revoked", "cert-authority")


def lookup_name(address: str, port: int | None) -> str:
    """The name ``ssh`` looks a host up by: ``address``, or ``[address]:port`` off port 22."""
    return address if port in (None, 22) else f"[{address}]:{port}"


@dataclass(frozen=True)
class KnownHostLine:
    """One key line: its number, marker, host patterns and key (type and wire bytes)."""

    number: int
    marker: Marker
    patterns: tuple[str, ...]
    key_type: str
    blob: bytes

    def matches(self, name: str) -> bool:
        """Whether ``name`` is covered: some pattern matches and no negated one does."""
        name = name.lower()
        found = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            if _match(pattern[1:] if negated else pattern, name):
                if negated:
                    return False
                found = True
        return found

    def same_key(self, key_type: str, blob: bytes) -> bool:
        return self.key_type == key_type and self.blob == blob


@dataclass(frozen=True)
class KnownHosts:
    """The parsed file: every key line, plain and marked, in file order."""

    path: Path
    lines: tuple[KnownHostLine, ...] = ()

    @classmethod
    def read(cls, path: Path) -> KnownHosts:
        """Parse ``path``; a missing file is an empty one (nothing is known yet)."""
        if not path.is_file():
            return cls(path)
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise InventoryError(
                f"cannot read known_hosts file {path}: {exc.strerror or exc}",
                fix="check its permissions or set known_hosts in the ssh table",
            ) from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path) -> KnownHosts:
        """Parse ``text`` (the contents of ``path``); ``InventoryError`` on a malformed line."""
        lines = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if line and not line.startswith("#"):
                lines.append(_parse_line(line, number, path))
        return cls(path, tuple(lines))

    def keys_for(self, name: str) -> list[KnownHostLine]:
        """The plain lines for ``name`` whose key is not revoked for it."""
        return [
            line
            for line in self.lines
            if not line.marker
            and line.matches(name)
            and self.revoked(name, line.key_type, line.blob) is None
        ]

    def revoked(self, name: str, key_type: str, blob: bytes) -> KnownHostLine | None:
        """The ``@revoked`` line covering ``name`` with this key, if there is one."""
        for line in self.lines:
            if line.marker == "revoked" and line.same_key(key_type, blob) and line.matches(name):
                return line
        return None

    def authority_for(self, name: str) -> KnownHostLine | None:
        """The first ``@cert-authority`` line covering ``name``, if any."""
        for line in self.lines:
            if line.marker == "cert-authority" and line.matches(name):
                return line
        return None


def _parse_line(line: str, number: int, path: Path) -> KnownHostLine:
    fields = line.split()
    marker = ""
    if fields[0].startswith("@"):
        marker = fields.pop(0)[1:]
        if marker not in MARKERS:
            _malformed(path, number, f"unknown marker @{marker} (only @revoked, @cert-authority)")
    if len(fields) < 3:
        _malformed(path, number, "expected host patterns, a key type and a key")
    patterns, key_type, encoded = fields[0], fields[1], fields[2]
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        _malformed(path, number, f"the {key_type} key is not valid base64")
    names = tuple(p for p in patterns.split(",") if p)
    for name in names:
        if name.startswith("|") and _hashed(name) is None:
            _malformed(path, number, f"hashed host name {name[:12]}... is not |1|salt|hash")
    return KnownHostLine(number, marker, names, key_type, blob)


def _malformed(path: Path, number: int, why: str) -> NoReturn:
    raise InventoryError(
        f"known_hosts file {path} line {number} is malformed: {why}",
        fix="fix or delete that line (ssh-keygen -R <host> -f FILE rewrites the file), "
        "then run again",
    )


def _hashed(pattern: str) -> tuple[bytes, bytes] | None:
    """Salt and digest of a ``|1|salt|hash`` name (``None`` if it is not one)."""
    parts = pattern.split("|")
    if len(parts) != 4 or parts[0] or parts[1] != "1":
        return None
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return None
    return (salt, digest) if len(digest) == hashlib.sha1().digest_size else None


def _match(pattern: str, name: str) -> bool:
    if pattern.startswith("|"):
        hashed = _hashed(pattern)
        if hashed is None:
            return False
        salt, digest = hashed
        return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == name
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.lower()
    )
    return re.fullmatch(regex, name) is not None
