"""Record sources: the distribution each split draws its records from.

A `Source` says which names, which value ranges and which kind of state (the training
mix of fights, uniform, crowded and random states; uniform states alone; crowded states;
forced fizzles; out-of-range numbers) a split uses, and how often its prompts use aliases
or noisy labels. `make_records` turns a source and a seeded rng into finished record
lines plus the facts the manifest counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, NamedTuple

from data_gen.rpg.aliases import respell_prompt
from data_gen.rpg.coverage import BIT, branches
from data_gen.rpg.engine import resolve
from data_gen.rpg.generator import (
    BIG_RANGES,
    TRAIN_RANGES,
    Ranges,
    draw_prompt,
    fight,
    fight_transitions,
    fizzle_action,
    random_action,
    random_state,
    uniform_state,
)
from data_gen.rpg.names import TRAIN_NAMES, Names
from data_gen.rpg.noise import noisy_prompt
from data_gen.rpg.state import Action, State
from data_gen.rpg.text import format_prompt, format_target

_FIZZLE = BIT["fizzle"]

Kind = Literal["mix", "uniform", "crowded", "draw", "fizzle", "out_of_range"]
NoiseFamily = Literal["train", "eval"]


@dataclass(frozen=True)
class Source:
    kind: Kind = "mix"
    names: Names = TRAIN_NAMES  # a list, or a NamePool (listed + procedural names)
    alias_rate: float = 0.05  # share of prompts written with published aliases
    # mix only: shares of records from whole fights, uniform states, crowded states and
    # turns that end in a draw; the rest are random states (sparse statuses/cooldowns).
    # (Defaults: the training mix of `splits.Options`.)
    fight_share: float = 0.5
    uniform_share: float = 0.4
    crowded_share: float = 0.02
    draw_share: float = 0.01
    ranges: Ranges = TRAIN_RANGES  # max hp and turn of random states and fights (not out_of_range)
    noise_rate: float = 0.0  # share of (non-alias) prompts written with noisy labels of `noise_family`
    noise_family: NoiseFamily = "train"


class Made(NamedTuple):
    """One generated record and what the manifest counts about it."""

    key: str  # the canonical prompt: splits are disjoint on this (so an alias prompt
    #           can't smuggle a held-out state into training under another spelling)
    line: str  # the record as written, newline included
    action: str
    result: str
    fizzle: bool
    alias: bool
    noise: bool = False  # the prompt's labels are noisy variants (data_gen/rpg/noise.py)
    branches: int = 0  # coverage.branches mask of the turn


def make_record(rng: random.Random, state: State, action: Action, alias_rate: float, outcome=None,
                noise_rate: float = 0.0, noise_family: NoiseFamily = "train") -> Made:
    """``outcome``: the (next state, result) when the caller already resolved the turn.
    A prompt gets published aliases with ``alias_rate``, else noisy labels with ``noise_rate``."""
    nxt, result = outcome or resolve(state, action)
    key = format_prompt(state, action)
    alias = alias_rate > 0 and rng.random() < alias_rate
    noise = not alias and noise_rate > 0 and rng.random() < noise_rate
    if alias:
        prompt = format_prompt(*respell_prompt(state, action, rng))
    elif noise:
        prompt = format_prompt(*noisy_prompt(state, action, noise_family, rng))
    else:
        prompt = key
    mask = branches(state, action, nxt, result)
    fizzle = bool(mask & _FIZZLE)
    return Made(key, prompt + format_target(nxt, result) + "\n", action.name, result, fizzle, alias, noise, mask)


def _out_of_range_state(rng: random.Random, names: Names) -> State:
    """Big max hp, big turn, or both: every record has at least one out-of-range number."""
    mode = int(rng.random() * 3)
    max_hp = BIG_RANGES.max_hp if mode != 1 else TRAIN_RANGES.max_hp
    turn = BIG_RANGES.turn if mode != 0 else TRAIN_RANGES.turn
    return random_state(rng, names, Ranges(max_hp=max_hp, turn=turn))


def _one(rng: random.Random, source: Source, kind: str) -> tuple[State, Action]:
    if kind == "fizzle":
        return fizzle_action(rng, random_state(rng, source.names, source.ranges))
    if kind == "draw":
        return draw_prompt(rng, source.names, source.ranges)
    if kind == "crowded":
        state = random_state(rng, source.names, source.ranges, crowded=True)
    elif kind == "uniform":
        state = uniform_state(rng, source.names, source.ranges)
    elif kind == "out_of_range":
        state = _out_of_range_state(rng, source.names)
    else:
        state = random_state(rng, source.names, source.ranges)
    return state, random_action(rng, state)


def make_records(rng: random.Random, source: Source, n: int) -> list[Made]:
    """``n`` records from ``source``; for the mix, fight turns, uniform, crowded, draw and
    random states, shuffled."""
    out: list[Made] = []
    a, noise, family = source.alias_rate, source.noise_rate, source.noise_family
    if source.kind == "mix":
        n_fight = round(n * source.fight_share)
        while len(out) < n_fight:
            for state, action, nxt, result in fight_transitions(fight(rng, source.names, source.ranges)):
                out.append(make_record(rng, state, action, a, (nxt, result), noise, family))
        del out[n_fight:]
        for kind, share in (("uniform", source.uniform_share), ("crowded", source.crowded_share),
                            ("draw", source.draw_share)):
            stop = min(n, len(out) + round(n * share))
            while len(out) < stop:
                out.append(make_record(rng, *_one(rng, source, kind), a, None, noise, family))
    kind = "random" if source.kind == "mix" else source.kind
    while len(out) < n:
        out.append(make_record(rng, *_one(rng, source, kind), a, None, noise, family))
    rng.shuffle(out)
    return out
