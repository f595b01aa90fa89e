"""Which branches of the rules a record exercises: the dataset's coverage report.

`branches` returns a bit mask over `ENGINE_BRANCHES` for one turn (computed from the
prompt's state and the engine's next state, without re-running the engine); the writer
counts masks per split and `rates` turns the counts into the manifest's shares.

- ``fizzle``            the action is on the actor's cooldown: no effect
- ``guard_halved``      damage dealt to a target with ``guard`` (halved)
- ``hp_clamped_0``      damage or a tick would take an entity below 0 (clamped to 0)
- ``heal_clamped``      a heal that would go above max (clamped to max)
- ``tick_clamped_max``  a tick (regen) that would go above max
- ``refresh``           a status gained while already present (refreshed, not stacked)
- ``status_expires``    a status at 1 turn is removed this turn
- ``cooldown_expires``  a cooldown at 1 turn is removed this turn
- ``win`` / ``draw``    one entity down / both down after the turn
- ``crowded``           both entities with all four statuses and at least three cooldowns
"""

from __future__ import annotations

from collections import Counter

from data_gen.rpg.rules import ACTIONS, HEAL_AMOUNT, RESULT_DRAW, RESULT_ONGOING, STATUSES, TICK_DELTA
from data_gen.rpg.state import Action, State

ENGINE_BRANCHES = ("fizzle", "guard_halved", "hp_clamped_0", "heal_clamped", "tick_clamped_max", "refresh",
                   "status_expires", "cooldown_expires", "win", "draw", "crowded")
BIT = {name: 1 << i for i, name in enumerate(ENGINE_BRANCHES)}
_FIZZLE, _GUARD, _ZERO, _HEAL, _TICK_MAX, _REFRESH, _ST_EXP, _CD_EXP, _WIN, _DRAW, _CROWDED = BIT.values()
_ALL_STATUSES = len(STATUSES)
CROWDED_COOLDOWNS = 3


def branches(state: State, action: Action, nxt: State, result: str) -> int:
    """The bit mask (`BIT`) of the branches the turn ``state`` --``action``--> ``nxt`` takes.

    Plain loops over the short (name, turns) tuples: this runs once per generated record."""
    cooldown, targets_other, damage, gained, _ = ACTIONS[action.name]
    first, second = entities = state.entities
    ai = 0 if first.name == action.actor else 1
    ti = 1 - ai if targets_other else ai
    actor, target = entities[ai], entities[ti]
    hp = [first.hp, second.hp]
    bits = 0
    if action.name in [name for name, _ in actor.cooldowns]:
        bits |= _FIZZLE
    else:
        if damage or gained:
            target_statuses = [name for name, _ in target.statuses]
            if damage:
                if "guard" in target_statuses:
                    bits |= _GUARD
                    damage //= 2
                if damage > hp[ti]:
                    bits |= _ZERO
                    hp[ti] = 0
                else:
                    hp[ti] -= damage
            if gained in target_statuses:
                bits |= _REFRESH
        elif action.name == "heal":
            if hp[ai] + HEAL_AMOUNT > actor.max_hp:
                bits |= _HEAL
                hp[ai] = actor.max_hp
            else:
                hp[ai] += HEAL_AMOUNT
    crowded = True
    for e, h, after in ((first, hp[0], nxt.entities[0]), (second, hp[1], nxt.entities[1])):
        statuses = e.statuses
        if statuses:
            if h > 0:
                raw = h
                for name, t in statuses:
                    raw += TICK_DELTA[name]
                if raw < 0:
                    bits |= _ZERO
                elif raw > e.max_hp:
                    bits |= _TICK_MAX
            if not bits & _ST_EXP:
                for name, t in statuses:
                    if t == 1 and name not in [n for n, _ in after.statuses]:
                        bits |= _ST_EXP
                        break
        if not bits & _CD_EXP:
            for _, t in e.cooldowns:
                if t == 1:
                    bits |= _CD_EXP
                    break
        if crowded and (len(statuses) < _ALL_STATUSES or len(e.cooldowns) < CROWDED_COOLDOWNS):
            crowded = False
    if crowded:
        bits |= _CROWDED
    if result != RESULT_ONGOING:
        bits |= _DRAW if result == RESULT_DRAW else _WIN
    return bits


def rates(masks: Counter[int], n: int) -> dict[str, float]:
    """Share of ``n`` records taking each branch, from a Counter of masks."""
    n = max(n, 1)
    return {name: round(sum(c for m, c in masks.items() if m & bit) / n, 4) for name, bit in BIT.items()}


# The table `picojax data rpg` prints: these files' coverage, side by side.
TABLE_FILES = ("train.txt", "eval/in_dist.txt", "eval/uniform.txt")


def format_coverage(manifest: dict, files: tuple[str, ...] = TABLE_FILES) -> str:
    """A small table: one row per branch (plus alias and noise), one column per file."""
    from picojax import tables

    splits = manifest["splits"]
    files = tuple(f for f in files if splits.get(f, {}).get("coverage") and splits[f]["records"])
    if not files:
        return ""
    names = list(splits[files[0]]["coverage"])
    rows = [["branch", *files]]
    rows += [[name, *(f"{100 * splits[f]['coverage'][name]:.2f}%" for f in files)] for name in names]
    return tables.format_table(rows, left=1)
