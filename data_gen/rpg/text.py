"""The text format: parse and print records exactly as the spec writes them.

Record: ``<state> | act=<actor>:<action>:<target> => <state> | result=<result>``.
The prompt (everything up to and including `` => ``) may spell statuses and actions with
the published aliases, in any letter case and with stray ``_``/``-`` between letters
(`aliases.canonical_label`); the target half must use canonical names, exactly. Any text
off the grammar raises `RPGError` naming the field and the value found there.
"""

from __future__ import annotations

import re

from data_gen.rpg.aliases import ACTION_CANON, STATUS_CANON, canonical_label
from data_gen.rpg.errors import RPGError
from data_gen.rpg.state import Action, Entity, Pairs, Record, State
from data_gen.rpg.validate import check_playable, check_result, check_state

ARROW = " => "  # ends the prompt: everything up to and including it
SEP = " | "  # between the blocks of a record
# The record format's field labels, each with the space that precedes it inside a block.
FIELD_LABELS = ("turn=", " hp=", " st=", " cd=", "act=", "result=")
_NUMBER = re.compile(r"0|[1-9][0-9]*")
_NAME = re.compile(r"[a-z]+")

# ---------------------------------------------------------------------------------------
# Printing (hot in the generator: plain string building).


def _pairs(pairs: Pairs) -> str:
    return ",".join([f"{name}:{turns}" for name, turns in pairs]) if pairs else "-"


def format_entity(e: Entity) -> str:
    return f"{e.name} hp={e.hp}/{e.max_hp} st={_pairs(e.statuses)} cd={_pairs(e.cooldowns)}"  # FIELD_LABELS


def format_state(state: State) -> str:
    a, b = state.entities
    return f"turn={state.turn} | {format_entity(a)} | {format_entity(b)}"


def format_prompt(state: State, action: Action) -> str:
    """The canonical prompt, ending with `` => `` as the spec says."""
    return f"{format_state(state)} | act={action.actor}:{action.name}:{action.target}{ARROW}"


def format_target(state: State, result: str) -> str:
    return f"{format_state(state)} | result={result}"


def format_record(state: State, action: Action, next_state: State, result: str) -> str:
    return format_prompt(state, action) + format_target(next_state, result)


# ---------------------------------------------------------------------------------------
# Parsing.


def _number(text: str, field: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise RPGError(field, text, "expected a whole number (digits, no sign, no leading zeros)")
    return int(text)


def _name(text: str, field: str) -> str:
    if not _NAME.fullmatch(text):
        raise RPGError(field, text, "expected a name of lowercase letters a-z")
    return text


def _labelled(token: str, label: str, field: str) -> str:
    if not token.startswith(label):
        raise RPGError(field, token, f"expected {label}...")
    return token[len(label):]


def _pairs_of(text: str, canon: dict[str, str], aliases: bool, field: str, what: str) -> Pairs:
    """``-`` or ``name:turns,...`` sorted by (canonical) name, each turns >= 1."""
    if text == "-":
        return ()
    out = []
    for item in text.split(","):
        spelled, colon, turns = item.partition(":")
        name = canon.get(spelled)
        if name is None:  # a noisy spelling? (refused below unless aliases are allowed)
            name = canonical_label(spelled, canon)
        if not colon:
            raise RPGError(field, item, f"expected {what}:turns")
        if name is None:
            raise RPGError(field, spelled, f"unknown {what}")
        if name != spelled and not aliases:
            raise RPGError(field, item, f"targets use canonical names: {name!r}, not the "
                           f"{'alias' if spelled in canon else 'spelling'} {spelled!r}")
        count = _number(turns, field)
        if count < 1:
            raise RPGError(field, item, "turns must be at least 1 (a spent entry is removed)")
        if out and name <= out[-1][0]:
            problem = "listed twice" if name == out[-1][0] else f"not sorted by {what} name"
            raise RPGError(field, text, problem)
        out.append((name, count))
    return tuple(out)


def _entity(block: str, aliases: bool) -> Entity:
    tokens = block.split(" ")
    if len(tokens) != 4:
        raise RPGError("entity", block, "expected '<name> hp=<hp>/<max> st=<statuses> cd=<cooldowns>'")
    name = _name(tokens[0], "name")
    hp_text = _labelled(tokens[1], "hp=", "hp")
    hp, slash, max_text = hp_text.partition("/")
    if not slash:
        raise RPGError("hp", tokens[1], "expected hp=<hp>/<max>")
    statuses = _pairs_of(_labelled(tokens[2], "st=", "status"), STATUS_CANON, aliases, "status", "status")
    cooldowns = _pairs_of(_labelled(tokens[3], "cd=", "cooldown"), ACTION_CANON, aliases, "cooldown", "action")
    return Entity(name, _number(hp, "hp"), _number(max_text, "max"), statuses, cooldowns)


def _state(blocks: list[str], aliases: bool) -> State:
    turn = _number(_labelled(blocks[0], "turn=", "turn"), "turn")
    state = State(turn, (_entity(blocks[1], aliases), _entity(blocks[2], aliases)))
    check_state(state)
    return state


def _blocks(text: str, last: str, field: str) -> list[str]:
    blocks = text.split(SEP)
    if len(blocks) != 4 or not blocks[3].startswith(last):
        raise RPGError(field, text, f"expected 'turn=<T> | <entity> | <entity> | {last}...'")
    return blocks


def parse_action(text: str, aliases: bool = True) -> Action:
    """``actor:action:target`` (no ``act=``); the action may be an alias unless ``aliases`` is False."""
    parts = text.split(":")
    if len(parts) != 3:
        raise RPGError("act", text, "expected <actor>:<action>:<target>")
    actor, spelled, target = parts
    name = ACTION_CANON.get(spelled)
    if name is None:
        name = canonical_label(spelled, ACTION_CANON)
    if name is None:
        raise RPGError("action", spelled, "unknown action")
    if name != spelled and not aliases:
        raise RPGError("action", spelled, f"canonical name required: {name!r}")
    return Action(_name(actor, "actor"), name, _name(target, "target"))


def parse_state(text: str) -> State:
    """A bare ``turn=<T> | <entity> | <entity>`` block, canonical names only."""
    blocks = text.split(SEP)
    if len(blocks) != 3:
        raise RPGError("state", text, "expected 'turn=<T> | <entity> | <entity>'")
    return _state(blocks, aliases=False)


def parse_prompt(text: str) -> tuple[State, Action]:
    """A prompt, with or without its closing `` => ``; aliases become canonical names.

    Rejects every "Bad input" case of the spec, including a state that is already over.
    """
    if text.endswith(ARROW):
        text = text[: -len(ARROW)]
    if ARROW in text or "\n" in text:
        raise RPGError("prompt", text, "a prompt holds one state and one act= block, then ' => '")
    blocks = _blocks(text, "act=", "prompt")
    state = _state(blocks, aliases=True)
    action = parse_action(blocks[3][len("act="):])
    check_playable(state, action)
    return state, action


def parse_target(text: str) -> tuple[State, str]:
    """A target (``<state> | result=<result>``); strict: canonical names only."""
    blocks = _blocks(text, "result=", "target_block")
    state = _state(blocks, aliases=False)
    result = blocks[3][len("result="):]
    check_result(state, result)
    return state, result


def split_record(line: str) -> tuple[str, str]:
    """(prompt, target); the prompt ends with `` => ``. A trailing newline is dropped."""
    if line.endswith("\n"):
        line = line[:-1]
    head, arrow, target = line.partition(ARROW)
    if not arrow or ARROW in target:
        raise RPGError("record", line, "expected exactly one ' => ' between prompt and target")
    return head + ARROW, target


def parse_record(line: str) -> Record:
    prompt, target = split_record(line)
    state, action = parse_prompt(prompt)
    next_state, result = parse_target(target)
    return Record(state, action, next_state, result)
