"""Who to call, by escalation level: shown on every runbook page."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Contacts(BaseModel):
    """Who to call, by escalation level."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    L1: str = ""
    L2: str = ""
    L3: str = ""
