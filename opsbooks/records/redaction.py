"""Replace secret values in any text or structure before it is shown or stored.

A secret is scrubbed in every form it may take in text: as given, shell-quoted (the
way a bound command carries it), JSON-escaped and ``repr``-escaped. Configured
``secret_patterns`` are user regular expressions: they run on the ``regex`` engine
with a time limit, so a catastrophic pattern cannot hang a run (or its signal
handlers); a match that times out redacts the whole text, failing closed.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from opsbooks.define.params import REDACTED

if TYPE_CHECKING:
    import regex

#: seconds one pattern may spend on one text before the text is redacted whole.
PATTERN_TIMEOUT = 0.25
#: what a text becomes when a pattern could not be matched in time.
UNMATCHABLE = "[redacted: a secret pattern took too long on this text]"
#: the longest unfinished line a stream holds back for the patterns to see whole.
_LINE_HOLD = 4096


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile a user's secret pattern for bounded matching; raise ``regex.error``."""
    import regex  # lazy: the engine costs 9 ms to import; only configured patterns need it

    return regex.compile(pattern, flags=regex.VERSION0)


def forms(secret: str) -> set[str]:
    """Every form ``secret`` may take in text: plain, shell-quoted, JSON and repr escaped."""
    found = {secret, shlex.quote(secret), json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    return {form for form in found if form}


class Redactor:
    """Knows the run's secret values and configured secret patterns; scrubs them out."""

    def __init__(self, secrets: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self._patterns = [compile_pattern(p) for p in patterns]
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Treat ``secret`` (a secret answer, a tainted output) as secret from now on."""
        if not secret:
            return
        known = set(self._values)
        self._values = sorted(known | forms(secret), key=len, reverse=True)

    @property
    def known(self) -> tuple[str, ...]:
        """Every secret form known, longest first."""
        return tuple(self._values)

    @property
    def longest(self) -> int:
        """Length of the longest known secret form: what a stream must hold back."""
        return len(self._values[0]) if self._values else 0

    @property
    def has_patterns(self) -> bool:
        return bool(self._patterns)

    def text(self, value: str) -> str:
        if not value:  # most fields of most events: nothing to look for
            return value
        for secret in self._values:
            value = value.replace(secret, REDACTED)
        for pattern in self._patterns:
            try:
                value = pattern.sub(REDACTED, value, timeout=PATTERN_TIMEOUT)
            except TimeoutError:
                return UNMATCHABLE
        return value

    def tainted(self, value: str) -> bool:
        """Whether ``value`` contains (or is derived in plain sight from) a secret."""
        return self.text(value) != value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, SecretStr):
            return REDACTED if value.get_secret_value() else ""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self(v) for v in value]
        return value


class StreamRedactor:
    """Redacts a stream that arrives in arbitrary chunks (a secret may straddle two).

    ``feed`` returns the text that is safe to show now and holds back a tail as long as
    the longest secret, never cutting inside a secret; with patterns it also holds back
    an unfinished line (up to a bound), since a pattern sees one text at a time.
    ``drain`` returns the rest when the stream ends.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""

    def feed(self, text: str) -> str:
        buffer = self._pending + text
        cut = self._cut(buffer)
        self._pending = buffer[cut:]
        return self._redactor.text(buffer[:cut]) if cut else ""

    def drain(self) -> str:
        rest, self._pending = self._pending, ""
        return self._redactor.text(rest) if rest else ""

    def _cut(self, buffer: str) -> int:
        cut = len(buffer) - max(self._redactor.longest - 1, 0)
        if self._redactor.has_patterns:
            line_end = buffer.rfind("\n") + 1
            if len(buffer) - line_end < _LINE_HOLD:
                cut = min(cut, line_end)
        cut = max(cut, 0)
        for secret in self._redactor.known:  # never cut inside a whole secret
            start = buffer.find(secret, max(0, cut - len(secret) + 1))
            while 0 <= start < cut < start + len(secret):
                cut = start
                start = buffer.find(secret, max(0, cut - len(secret) + 1))
        return cut
