"""The run banner shows the purpose's first sentence (or its whole first paragraph
joined), never the first line of a docstring wrapped mid-sentence."""

from __future__ import annotations

import pytest

import opsbooks as ob
from opsbooks.edges.console import headline
from opsbooks.testing import Drill


class Wrapped(ob.Runbook):
    """Restart the web tier when a health check fails: drain each node, check the service,
    restart it and put it back. Run it from the bastion.

    More detail that the banner leaves out.
    """

    name = "test.wrapped"
    scope = "console tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    tell = ob.Notify("restarting")


@pytest.mark.parametrize(
    ("purpose", "shown"),
    [
        (
            "Restart the web tier: drain each node, check the service,\n"
            "restart it and put it back. Then verify.",
            "Restart the web tier: drain each node, check the service, restart it and put it back.",
        ),
        (  # no sentence end: the whole first paragraph, joined
            "Rotate the TLS certificates of\n    the edge proxies\n\nDetails.",
            "Rotate the TLS certificates of the edge proxies",
        ),
        (  # an abbreviation's dot ends no sentence
            "Restart a service (e.g. nginx) and check it. Then report.",
            "Restart a service (e.g. nginx) and check it.",
        ),
        ("Is the primary up? Ask before failing over.", "Is the primary up?"),
        ("Serve v1.2 to 10.0.0.1 hosts.", "Serve v1.2 to 10.0.0.1 hosts."),
        ("", ""),
    ],
)
def test_the_headline_is_the_first_sentence(purpose: str, shown: str) -> None:
    assert headline(purpose) == shown


def test_the_run_banner_shows_the_first_sentence_not_a_cut_line(drill: Drill) -> None:
    drill.runbooks = (Wrapped,)
    result = drill.run(Wrapped)
    result.assert_succeeded()
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Running test.wrapped"))
    assert lines[at + 1] == (
        "  Restart the web tier when a health check fails: drain each node, check the "
        "service, restart it and put it back."
    )
    assert "Run it from the bastion" not in result.output
