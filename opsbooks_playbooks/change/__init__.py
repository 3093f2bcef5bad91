"""Change management: request and approve a change, run a maintenance window, emergencies.

Risk classes, approvers, windows and freeze periods follow the rules in
``opsbooks_playbooks.actions.change``; freezes come from ``[settings.change] freezes`` in the
configuration, each ``{start = "...Z", end = "...Z", reason = "..."}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import model_validator

import opsbooks as ob
from opsbooks_playbooks.actions.change import (
    UTC_PATTERN,
    ChangeRefused,
    change_settings,
    check_window,
    parse_utc,
    read_freezes,
)

CHANGE_ID = r"^CHG-\d{1,10}$"


def change_action(*args: str) -> list[str]:
    """Argv of a change action, the same command an operator types by hand."""
    return ["python", "-m", "opsbooks_playbooks.actions.change", *args]


class WindowParams(ob.Params):
    """A change's id and its scheduled window, in UTC."""

    change_id: str = ob.Field(pattern=CHANGE_ID, description="Change ticket id, e.g. CHG-1234")
    window_start: str = ob.Field(
        pattern=UTC_PATTERN,
        description="When the change window opens (UTC), e.g. 2026-12-02T22:00Z",
    )
    window_end: str = ob.Field(
        pattern=UTC_PATTERN, description="When the change window closes (UTC), after window_start"
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        start = parse_utc(self.window_start, "window_start")
        end = parse_utc(self.window_end, "window_end")
        if end <= start:
            raise ValueError(
                f"window_end {self.window_end} is not after window_start {self.window_start}; "
                "give the window's closing time after its opening time (both UTC)"
            )
        return self


def window_check(ctx: ob.StepContext, runbook: str, start: str, end: str) -> str:
    """Refuse (fail the step) outside the window or when it overlaps a configured freeze."""
    try:
        freezes = read_freezes(change_settings(ctx.config, runbook))
    except ValueError as exc:
        raise ob.ConfigError(f"{exc}; fix the configuration and run again") from None
    try:
        return check_window(
            parse_utc(start, "window_start"),
            parse_utc(end, "window_end"),
            dt.datetime.now(dt.UTC),
            freezes,
        )
    except ChangeRefused as exc:
        raise ob.BadInput(f"change refused: {exc}") from None
