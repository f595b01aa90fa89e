"""Noisy label variants for prompts: two disjoint families, one for training, one for the eval.

The parser reads a noisy label (any letter case, single ``_``/``-`` between letters) as
the canonical name or published alias it squashes to (`aliases.canonical_label`). To
measure whether a model *generalises* that reading, the ``eval/label_variants`` split
uses spellings training never shows:

- ``train`` (the ``noise_rate`` knob): lowercase or mixed case (never all upper, never
  title case), and/or one ``-`` put between two letters;
- ``eval``: ALL UPPER or Title case, always, and (half the time) one ``_`` put between
  two letters.

A spelling's family is read off its letters (`family_of`), so the two cannot overlap: an
``eval`` spelling is all upper or title case, a ``train`` spelling never is. Either
family starts from the canonical name or, a quarter of the time, a published alias.
Targets are always canonical; only the printed prompt changes.
"""

from __future__ import annotations

import random

from data_gen.rpg.aliases import ACTION_ALIASES, ACTION_CANON, STATUS_ALIASES, STATUS_CANON
from data_gen.rpg.state import Action, Entity, State

FAMILIES = ("train", "eval")
ALIAS_BASE_CHANCE = 0.25  # a noisy label starts from a published alias this often


def _insert(word: str, sep: str, rng: random.Random) -> str:
    """``sep`` put at a random point between two letters of ``word``."""
    spots = [i for i in range(1, len(word)) if word[i - 1].isalpha() and word[i].isalpha()]
    i = spots[int(rng.random() * len(spots))]
    return word[:i] + sep + word[i:]


def _mixed(word: str, rng: random.Random) -> str:
    """Random letters upper-cased; never all lower, all upper or title case (first lower, last upper)."""
    chars = [c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in word]
    letters = [c for c in chars if c.isalpha()]
    rest = "".join(letters[1:])
    if rest.islower() or rest.isupper():  # all lower, all upper or title: force a mixed shape
        chars[0] = chars[0].lower()
        last = max(i for i, c in enumerate(chars) if c.isalpha())
        chars[last] = chars[last].upper()
    return "".join(chars)


def noisy_label(word: str, family: str, rng: random.Random, canon: dict[str, str]) -> str:
    """``word`` (a canonical name or published alias, lowercase) respelled in ``family``."""
    if family == "eval":
        out = word.upper() if rng.random() < 0.5 else word[0].upper() + word[1:]
        return _insert(out, "_", rng) if rng.random() < 0.5 else out
    mode = int(rng.random() * 3)  # 0: mixed case, 1: a "-", 2: both
    out = _insert(word, "-", rng) if mode else word
    if mode != 1 or out in canon:  # lowercase with a "-" can be a published alias ("poison-strike")
        out = _mixed(out, rng)
    return out


def family_of(spelling: str, canon: dict[str, str]) -> str:
    """``canonical``, ``alias``, ``eval`` or ``train``: which kind of spelling this is."""
    if spelling in canon:
        return "canonical" if canon[spelling] == spelling else "alias"
    letters = "".join(c for c in spelling if c.isalpha())
    if letters.isupper() or (letters[:1].isupper() and (letters[1:].islower() or len(letters) == 1)):
        return "eval"
    return "train"


def noisy_prompt(state: State, action: Action, family: str, rng: random.Random) -> tuple[State, Action]:
    """A copy of (state, action) with labels respelled in ``family``: each label with
    probability 1/2, at least one (the action, if nothing else was). For printing only."""
    changed = False

    def spell(name: str, aliases: dict[str, tuple[str, ...]], canon: dict[str, str], force: bool = False) -> str:
        nonlocal changed
        if not force and rng.random() >= 0.5:
            return name
        changed = True
        base = rng.choice(aliases[name]) if rng.random() < ALIAS_BASE_CHANCE else name
        return noisy_label(base, family, rng, canon)

    entities = tuple(
        Entity(
            e.name,
            e.hp,
            e.max_hp,
            tuple((spell(s, STATUS_ALIASES, STATUS_CANON), t) for s, t in e.statuses),
            tuple((spell(a, ACTION_ALIASES, ACTION_CANON), t) for a, t in e.cooldowns),
        )
        for e in state.entities
    )
    name = spell(action.name, ACTION_ALIASES, ACTION_CANON)
    if not changed:
        name = spell(action.name, ACTION_ALIASES, ACTION_CANON, force=True)
    return State(state.turn, entities), Action(action.actor, name, action.target)
