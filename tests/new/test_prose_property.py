"""Any Markdown, however hostile, gives source that compiles, imports and says the text.

Hypothesis builds documents from the pieces prose runbooks use (headings, numbered and
checklist items, shell and other code blocks, Issue blocks, links) filled with arbitrary
text; each one either has no procedure (``NoProcedure``) or becomes a module whose
runbook class defines (no ``DefinitionError``) and whose steps render to the prose.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prose_kit import load, parse, source_of

from opsbooks.define.template import bind
from opsbooks.edges.prose import NoProcedure

_LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
    max_size=30,
)
_WORDS = st.sampled_from(
    ['"""', "\\", "{x}", "{{y}}", "}", "'", '"', "ü", "✅", "\t", "**Cause**:", "`a`", "$HOME"]
)
_TEXT = st.lists(st.one_of(_LINE, _WORDS), min_size=1, max_size=4).map(" ".join)
_PIECE = st.one_of(
    _TEXT.map(lambda t: f"# {t}"),
    st.tuples(st.sampled_from(["##", "###"]), _TEXT).map(lambda p: f"{p[0]} {p[1]}"),
    st.sampled_from(["## Steps", "## Verification", "## Troubleshooting", "## Related"]),
    _TEXT.map(lambda t: f"1. {t}"),
    _TEXT.map(lambda t: f"   - {t}"),
    _TEXT.map(lambda t: f"- [ ] {t}"),
    _TEXT.map(lambda t: f"- [{t}](ops.x{len(t)})"),
    _TEXT.map(lambda t: f"### Issue: {t}\n**Symptoms**: {t}\n**Solution**: {t}"),
    st.tuples(st.sampled_from(["bash", "sh", "python", ""]), _TEXT).map(
        lambda p: f"```{p[0]}\n{p[1]}\n```"
    ),
    _TEXT,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECE, min_size=1, max_size=12).map(lambda p: "\n".join([*p, "1. go"])))
def test_any_prose_gives_a_module_that_imports_and_keeps_the_text(text: str) -> None:
    try:
        prose = parse(text)
    except NoProcedure:
        return
    runbook = load(source_of(prose))
    steps = prose.all_steps()
    assert [s.id for s in runbook.steps] == [s.id for s in steps]
    for made, model in zip(runbook.steps, steps, strict=True):
        assert bind(made.title, {}, shell=False).text == model.title
        if model.shell:
            assert bind(made.command, {}, shell=True).text == model.shell
        elif model.argv:
            assert tuple(bind(w, {}, shell=False).text for w in made.command) == model.argv
        else:
            assert bind(made.instructions, {}, shell=False).text == model.text
    assert runbook.verification == (prose.verification or runbook.verification)
    assert tuple(t.symptom for t in runbook.troubleshooting)[: len(prose.troubles)] == tuple(
        t.symptom or runbook.troubleshooting[i].symptom for i, t in enumerate(prose.troubles)
    )
