"""One model output against the engine: exact match, per-field checks, failure classes.

The failure taxonomy (data_gen/rpg/FORMAT.md, "Evals") names *how* an output is wrong:

- ``format``   it does not parse with the engine's parser (boundary confusion, label
               collapse), or it parses but is not the canonical text (e.g. unsorted lists);
- ``entity``   a name lost, changed or swapped (broken continuity);
- ``status``   statuses dropped, invented, or with wrong turns;
- ``hp``       an hp or max-hp value is wrong;
- ``cooldown`` a cooldown dropped, invented, or with wrong turns;
- ``turn``     the turn counter is wrong;
- ``result``   ongoing / draw / win:<name> is wrong.

An output can fail several ways at once (hp and status, say); it carries every class that
applies, and the counts are per class. ``format`` excludes the others: nothing else can
be read from an output that does not parse.

Entities are paired by name when the output names the same two entities (so a swap is
one ``entity`` failure, not four hp/status failures), else by position. The output's
result is read through that pairing, so a renamed winner is an ``entity`` failure only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_gen.rpg import RPGError, State, parse_target

FAILURE_CLASSES = ("format", "entity", "status", "hp", "cooldown", "turn", "result")

# Per-field accuracy keys: the turn, each entity slot's fields (in the expected order), the result.
ENTITY_FIELDS = ("name", "hp", "st", "cd")
FIELDS = ("turn", *(f"entity{i}.{f}" for i in (1, 2) for f in ENTITY_FIELDS), "result")


@dataclass(frozen=True)
class OutputCheck:
    exact: bool  # the output text equals the canonical target
    valid: bool  # the output parses with the engine's parser
    fields: dict[str, bool]  # FIELDS -> correct (all False when the output does not parse)
    failures: tuple[str, ...]  # FAILURE_CLASSES that apply, in taxonomy order; () when exact
    error: str = ""  # the parser's message when the output does not parse


def _normalise(text: str) -> str:
    # The sampler stops at the end of the record; a trailing newline or space is not an error.
    return text.strip()


def check_output(output: str, expected: str) -> OutputCheck:
    """Compares a decoded target with the engine's canonical target text."""
    expected = _normalise(expected)
    output = _normalise(output)
    if output == expected:
        return OutputCheck(exact=True, valid=True, fields={k: True for k in FIELDS}, failures=())
    want = parse_target(expected)
    try:
        got = parse_target(output)
    except RPGError as e:
        return OutputCheck(exact=False, valid=False, fields={k: False for k in FIELDS}, failures=("format",), error=str(e))
    fields, failures = compare_targets(got, want)
    if not failures:  # parses to the right state, yet is not the canonical text
        failures = {"format"}
    return OutputCheck(exact=False, valid=True, fields=fields,
                       failures=tuple(c for c in FAILURE_CLASSES if c in failures))


def compare_targets(got: tuple[State, str], want: tuple[State, str]) -> tuple[dict[str, bool], set[str]]:
    """Field-by-field comparison of two parsed targets -> (field correctness, failure classes)."""
    (got_state, got_result), (want_state, want_result) = got, want
    got_names = [e.name for e in got_state.entities]
    want_names = [e.name for e in want_state.entities]
    if sorted(got_names) == sorted(want_names):  # same two names: pair by name (catches swaps)
        paired = [got_state.entity(n) for n in want_names]
    else:  # a name lost or changed: pair by position
        paired = list(got_state.entities)
    # Read the output's names as the expected entity they stand for, so a renamed entity
    # does not also count as a wrong result.
    rename = {g.name: w.name for g, w in zip(paired, want_state.entities)}

    fields: dict[str, bool] = {"turn": got_state.turn == want_state.turn}
    failures: set[str] = set()
    if got_names != want_names:
        failures.add("entity")
    for i, (g, w) in enumerate(zip(paired, want_state.entities), start=1):
        fields[f"entity{i}.name"] = got_names[i - 1] == w.name
        fields[f"entity{i}.hp"] = (g.hp, g.max_hp) == (w.hp, w.max_hp)
        fields[f"entity{i}.st"] = g.statuses == w.statuses
        fields[f"entity{i}.cd"] = g.cooldowns == w.cooldowns
    result = got_result
    if result.startswith("win:"):
        result = "win:" + rename.get(result[4:], result[4:])
    fields["result"] = result == want_result

    if not fields["turn"]:
        failures.add("turn")
    if not fields["result"]:
        failures.add("result")
    for i in (1, 2):
        if not fields[f"entity{i}.hp"]:
            failures.add("hp")
        if not fields[f"entity{i}.st"]:
            failures.add("status")
        if not fields[f"entity{i}.cd"]:
            failures.add("cooldown")
    return fields, failures
