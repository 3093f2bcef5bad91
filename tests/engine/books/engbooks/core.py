"""Engine test runbooks: every command appends to ``ledger.txt`` in the project root."""

from __future__ import annotations

import datetime as dt

from pydantic import SecretStr

from opsbooks import (
    Branch,
    Command,
    Field,
    Gate,
    Notify,
    Params,
    Poll,
    Retry,
    Runbook,
    Verify,
    WaitUntil,
)

REVIEWED = dt.date(2026, 11, 1)


def log(text: str) -> str:
    return f"echo {text} >> ledger.txt"


class Basic(Runbook):
    """Commands, a gate, a wait and an undo."""

    name = "eng.basic"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    class Params(Params):
        target: str = Field(default="blue", description="where")

    prepare = Command("echo prepare {target} >> ledger.txt", undo="unprepare")
    unprepare = Command(log("unprepare"))
    approve = Gate.confirm("Deploy to {target}?")
    settle = WaitUntil("test -e ledger.txt", poll=Poll(interval=1, timeout=5))
    finish = Command("touch created.txt; echo finish >> ledger.txt")


class Fails(Runbook):
    """Fails at ``d`` until ``fixed`` exists; ``b``'s undo fails while ``ub_fails`` exists."""

    name = "eng.fails"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    a = Command(log("a"), undo="ua")
    ua = Command(log("undo-a"))
    b = Command(log("b"), undo="ub")
    ub = Command("echo undo-b >> ledger.txt; test ! -e ub_fails")
    c = Command(log("c"))
    d = Command(
        "if test -e fixed; then echo d >> ledger.txt; else echo boom-on-stderr >&2; exit 7; fi"
    )
    e = Command(log("e"))


class Crash(Runbook):
    """A long, non-idempotent step in the middle."""

    name = "eng.crash"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    one = Command(log("one"))
    two = Command("echo two >> ledger.txt; echo $$ > two.pid; test -e quick || sleep 30")
    three = Command(log("three"))


class CrashIdem(Runbook):
    """A long, idempotent step in the middle."""

    name = "eng.crash_idem"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    one = Command(log("one"))
    two = Command(
        "echo two >> ledger.txt; echo $$ > two.pid; test -e quick || sleep 30", idempotent=True
    )
    three = Command(log("three"))


class Timeout(Runbook):
    """A grandchild keeps stdout open past the timeout."""

    name = "eng.timeout"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    hang = Command("sh -c 'sleep 60 & echo $! > gc.pid; sleep 60'", timeout=1)


class Stdin(Runbook):
    """Commands get no stdin unless the step gives it."""

    name = "eng.stdin"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    no_input = Command("cat > no_input.txt")
    given = Command("cat > given.txt", stdin="hello from stdin\n")


class Retrying(Runbook):
    """Fails twice, then succeeds."""

    name = "eng.retry"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    flaky = Command(
        "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; test $n -ge 3",
        retry=Retry(attempts=3, wait=0.01),
    )


class Gates(Runbook):
    """Every kind of gate."""

    name = "eng.gates"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    class Params(Params):
        environment: str = Field(default="staging", description="where")

    first = Command(log("first"))
    go = Gate.confirm("Proceed in {environment}?")
    pick = Gate.choose("Which colour?", ["blue", "green"])
    count = Gate.ask("How many replicas?", int)
    destroy = Gate.confirm("Destroy {environment}?", phrase="{environment}")
    last = Command(log("last"))


class TimedGate(Runbook):
    """A gate that continues with its default after a timeout."""

    name = "eng.timed_gate"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    wait_for_me = Gate.ask("Replicas?", int, gate_timeout=1, on_timeout="default", default=2)
    after = Command(log("after"))


class DeclineRollback(Runbook):
    """Declining the gate rolls back."""

    name = "eng.decline_rollback"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    setup = Command(log("setup"), undo="teardown")
    teardown = Command(log("teardown"))
    approve = Gate.confirm("Keep going?", rollback_on_decline=True)
    after = Command(log("after"))


class Flow(Runbook):
    """``when``, ``Branch`` and ``Notify``."""

    name = "eng.flow"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    class Params(Params):
        color: str = Field(default="green", description="route")
        loud: bool = Field(default=False, description="run the loud step")

    loud_step = Command(log("loud"), when="loud")
    route = Branch(on="color", routes={"blue": "to_blue", "green": "to_green"})
    to_blue = Command(log("blue"))
    to_green = Command(log("green"))
    tell_file = Notify("deployed {color} to file", channel="file")
    tell_out = Notify("deployed {color} to stdout", channel="out")
    tell_hook = Notify("deployed {color} to hook", channel="hook")
    done = Verify("test -e ledger.txt", expect="the ledger exists")


class Secret(Runbook):
    """A secret is echoed by a failing command."""

    name = "eng.secret"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    class Params(Params):
        token: SecretStr = Field(description="api token")

    leak = Command(
        'echo "token=$TOKEN"; echo "bad token $TOKEN" >&2; exit 4', env={"TOKEN": "{token}"}
    )


class Pattern(Runbook):
    """Output matching a configured secret pattern is redacted."""

    name = "eng.pattern"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    show = Command("echo key=AKIAZZZZ1234567890QQ")


class Versioned(Runbook):
    """Params with validation."""

    name = "eng.versioned"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    class Params(Params):
        version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="release")
        replicas: int = Field(default=1, description="how many")

    touch = Command("touch ran.txt")
