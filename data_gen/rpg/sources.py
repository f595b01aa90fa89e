"""Record sources: the distribution each split draws its records from.

A `Source` says which names, which value ranges and which kind of state (the training
mix of fights and random states, crowded states, forced fizzles, out-of-range numbers)
a split uses, and how often its prompts use aliases. `make_records` turns a source and a
seeded rng into finished record lines plus the facts the manifest counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, NamedTuple

from data_gen.rpg.aliases import respell_prompt
from data_gen.rpg.engine import resolve
from data_gen.rpg.generator import (
    BIG_RANGES,
    TRAIN_RANGES,
    Ranges,
    fight,
    fight_transitions,
    fizzle_action,
    random_action,
    random_state,
)
from data_gen.rpg.names import TRAIN_NAMES
from data_gen.rpg.state import Action, State
from data_gen.rpg.text import format_prompt, format_target

Kind = Literal["mix", "crowded", "fizzle", "out_of_range"]


@dataclass(frozen=True)
class Source:
    kind: Kind = "mix"
    names: tuple[str, ...] = TRAIN_NAMES
    alias_rate: float = 0.05  # share of prompts written with published aliases
    fight_share: float = 0.5  # mix only: share of records taken from whole fights
    ranges: Ranges = TRAIN_RANGES  # max hp and turn of random states and fights (not out_of_range)


class Made(NamedTuple):
    """One generated record and what the manifest counts about it."""

    key: str  # the canonical prompt: splits are disjoint on this (so an alias prompt
    #           can't smuggle a held-out state into training under another spelling)
    line: str  # the record as written, newline included
    action: str
    result: str
    fizzle: bool
    alias: bool


def make_record(rng: random.Random, state: State, action: Action, alias_rate: float, outcome=None) -> Made:
    """``outcome``: the (next state, result) when the caller already resolved the turn."""
    nxt, result = outcome or resolve(state, action)
    key = format_prompt(state, action)
    alias = alias_rate > 0 and rng.random() < alias_rate
    prompt = format_prompt(*respell_prompt(state, action, rng)) if alias else key
    fizzle = any(name == action.name for name, _ in state.entity(action.actor).cooldowns)
    return Made(key, prompt + format_target(nxt, result) + "\n", action.name, result, fizzle, alias)


def _out_of_range_state(rng: random.Random, names: tuple[str, ...]) -> State:
    """Big max hp, big turn, or both: every record has at least one out-of-range number."""
    mode = int(rng.random() * 3)
    max_hp = BIG_RANGES.max_hp if mode != 1 else TRAIN_RANGES.max_hp
    turn = BIG_RANGES.turn if mode != 0 else TRAIN_RANGES.turn
    return random_state(rng, names, Ranges(max_hp=max_hp, turn=turn))


def _one(rng: random.Random, source: Source) -> tuple[State, Action]:
    if source.kind == "fizzle":
        return fizzle_action(rng, random_state(rng, source.names, source.ranges))
    if source.kind == "crowded":
        state = random_state(rng, source.names, source.ranges, crowded=True)
    elif source.kind == "out_of_range":
        state = _out_of_range_state(rng, source.names)
    else:
        state = random_state(rng, source.names, source.ranges)
    return state, random_action(rng, state)


def make_records(rng: random.Random, source: Source, n: int) -> list[Made]:
    """``n`` records from ``source``; for the mix, fight turns and random states shuffled."""
    out: list[Made] = []
    if source.kind == "mix":
        n_fight = round(n * source.fight_share)
        while len(out) < n_fight:
            for state, action, nxt, result in fight_transitions(fight(rng, source.names, source.ranges)):
                out.append(make_record(rng, state, action, source.alias_rate, (nxt, result)))
        del out[n_fight:]
    while len(out) < n:
        out.append(make_record(rng, *_one(rng, source), source.alias_rate))
    rng.shuffle(out)
    return out
