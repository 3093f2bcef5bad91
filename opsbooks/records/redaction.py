"""Replace secret values in any text or structure before it is shown or stored."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from opsbooks.define.params import REDACTED


class Redactor:
    """Knows the run's secret values and configured secret patterns; scrubs them out."""

    def __init__(self, secrets: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._values = values
        self._patterns = [re.compile(p) for p in patterns]

    def add(self, secret: str) -> None:
        if secret and secret not in self._values:
            self._values = sorted([*self._values, secret], key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, REDACTED)
        for pattern in self._patterns:
            value = pattern.sub(REDACTED, value)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value
