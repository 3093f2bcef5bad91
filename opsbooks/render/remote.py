"""How a remote step reads on a page and in a dry run: its target and its context.

Only what the step sets is shown, so the page of a step that uses none of ``hosts=``,
``cwd=``, ``umask=``, ``become=``, ``env=`` or per-host outputs reads as before.
"""

from __future__ import annotations

from opsbooks.define.specs import RemoteSpec


def target(spec: RemoteSpec) -> str:
    """``role `web``` or ``hosts `web1, web2``` (as bound, or as the template for docs)."""
    return f"hosts `{spec.hosts}`" if spec.hosts else f"role `{spec.role}`"


def context(spec: RemoteSpec) -> list[str]:
    """One phrase per context keyword the step sets, in the order the host applies them."""
    found: list[str] = []
    if spec.become:
        found.append(f"as `{spec.become}` (sudo)")
    if spec.cwd:
        found.append(f"in `{spec.cwd}`")
    if spec.umask:
        found.append(f"umask `{spec.umask}`")
    if spec.env:
        found.append("environment " + ", ".join(f"`{name}`" for name in spec.env) + " (over stdin)")
    if spec.outputs:
        found.append("outputs per host: " + ", ".join(f"`{name}`" for name in spec.outputs))
    return found


def checking(spec: RemoteSpec) -> list[str]:
    """What a check on hosts expects, or how it polls each host."""
    if spec.check == "verify" and spec.expect:
        return [f"expect: {spec.expect}"]
    if spec.check == "wait" and spec.poll is not None:
        return [f"polls each host {spec.poll.describe()}"]
    return []


def facts(spec: RemoteSpec) -> list[str]:
    """The page's facts lines of a remote step."""
    lines = [f"- **Hosts:** {target(spec)}; {spec.rollout}"]
    shown = context(spec)
    lines += [f"- **On each host:** {'; '.join(shown)}"] if shown else []
    return lines + [f"- **Check:** {line}" for line in checking(spec)]


def dry_run(spec: RemoteSpec) -> list[str]:
    """The dry run's lines of a remote step."""
    where = f"on hosts {spec.hosts!r}" if spec.hosts else f"on role {spec.role!r}"
    shown = context(spec)
    lines = [f"{where}: {spec.rollout}", *([f"on each host: {'; '.join(shown)}"] if shown else [])]
    return lines + checking(spec)
