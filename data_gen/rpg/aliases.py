"""Published aliases (messy labels) for statuses and actions.

Prompts may use them; targets never do. "guard" is both a status and an action with
different aliases, so each table is used only in its own context (st= vs cd=/act=).

A prompt's label may also be *noisy* (`canonical_label`): any letter case, and single
``_``/``-`` between letters, as long as what is left (lowercased, separators dropped) is
a canonical name or a published alias of that context: ``POISON``, ``Poison_Strike``,
``he-al``, ``Psn`` all parse; ``poison__strike``, ``_heal``, ``fireball`` do not.
"""

from __future__ import annotations

import random
import re

from data_gen.rpg.rules import ACTION_NAMES, STATUSES
from data_gen.rpg.state import Action, Entity, State

STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "poison": ("psn", "poisoned"),
    "burn": ("brn", "burning"),
    "regen": ("rgn", "regeneration"),
    "guard": ("grd", "guarded"),
}

ACTION_ALIASES: dict[str, tuple[str, ...]] = {
    "poison_strike": ("poisonstrike", "poison-strike"),
    "ignite": ("ign", "ignition"),
    "heal": ("hl", "cure"),
    "guard": ("block", "defend"),
    "rally": ("rly", "inspire"),
    "strike": ("hit", "attack"),
    "wait": ("pass", "skip"),
}

# Spelling -> canonical name, for each context (canonical names map to themselves).
STATUS_CANON: dict[str, str] = {s: s for s in STATUSES}
STATUS_CANON.update({alias: s for s, aliases in STATUS_ALIASES.items() for alias in aliases})
ACTION_CANON: dict[str, str] = {a: a for a in ACTION_NAMES}
ACTION_CANON.update({alias: a for a, aliases in ACTION_ALIASES.items() for alias in aliases})

# A noisy label: runs of letters joined by single "_" or "-".
_NOISY = re.compile(r"[A-Za-z]+(?:[_-][A-Za-z]+)*")


def squash(spelling: str) -> str:
    """Lowercase, ``_`` and ``-`` dropped: the form noisy spellings are matched on."""
    return spelling.lower().replace("_", "").replace("-", "")


def _squashed(canon: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for spelling, name in canon.items():
        key = squash(spelling)
        if table.setdefault(key, name) != name:  # two names would read alike: the tables must change
            raise AssertionError(f"noisy spelling {key!r} is ambiguous: {table[key]!r} or {name!r}")
    return table


# id(canonical table) -> its squashed table (the parser passes the canonical table it uses).
_SQUASHED = {id(STATUS_CANON): _squashed(STATUS_CANON), id(ACTION_CANON): _squashed(ACTION_CANON)}


def canonical_label(spelled: str, canon: dict[str, str]) -> str | None:
    """The canonical name a noisy prompt label stands for in ``canon``'s context (`STATUS_CANON`
    or `ACTION_CANON`), or None. Exact spellings are ``canon[spelled]``; this is the fallback."""
    if not _NOISY.fullmatch(spelled):
        return None
    return _SQUASHED[id(canon)].get(squash(spelled))


def respell_prompt(state: State, action: Action, rng: random.Random) -> tuple[State, Action]:
    """A copy of (state, action) whose status/action names are spelled with aliases, for
    printing an alias prompt: each name is respelled with probability 1/2, and at least
    one is (the action, if nothing else was). Only for formatting: the copy is not canonical.
    """
    changed = False

    def spell(name: str, table: dict[str, tuple[str, ...]]) -> str:
        nonlocal changed
        if rng.random() < 0.5:
            changed = True
            return rng.choice(table[name])
        return name

    entities = tuple(
        Entity(
            e.name,
            e.hp,
            e.max_hp,
            tuple((spell(s, STATUS_ALIASES), t) for s, t in e.statuses),
            tuple((spell(a, ACTION_ALIASES), t) for a, t in e.cooldowns),
        )
        for e in state.entities
    )
    name = spell(action.name, ACTION_ALIASES)
    if not changed:
        name = rng.choice(ACTION_ALIASES[action.name])
    return State(state.turn, entities), Action(action.actor, name, action.target)
