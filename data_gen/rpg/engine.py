"""One turn of the game, resolved in the spec's order (fizzle, effect, cooldown, ticks,
turn + 1, result). The engine is the ground truth for every dataset and eval.
"""

from __future__ import annotations

from data_gen.rpg.rules import ACTIONS, HEAL_AMOUNT, RESULT_DRAW, RESULT_ONGOING, TICK_DELTA, WIN_PREFIX
from data_gen.rpg.state import Action, Entity, Pairs, State
from data_gen.rpg.validate import check_playable, check_state


def step(state: State, action: Action) -> tuple[State, str]:
    """The next state and its result; raises `RPGError` on a state/action the rules forbid."""
    check_state(state)
    check_playable(state, action)
    return resolve(state, action)


def is_fizzle(state: State, action: Action) -> bool:
    """The actor's cooldown for the action is still running: the action does nothing."""
    actor = state.entity(action.actor)
    return actor is not None and any(name == action.name for name, _ in actor.cooldowns)


def _ticked(pairs: Pairs) -> Pairs:
    """Every entry's turns - 1, spent ones removed (sorted order is kept)."""
    return tuple([(name, turns - 1) for name, turns in pairs if turns > 1]) if pairs else ()


def _raised(pairs: Pairs, key: str, turns: int) -> Pairs:
    """``key`` set to max(current, turns), the tuple kept sorted by name."""
    merged = dict(pairs)
    merged[key] = max(merged.get(key, 0), turns)
    return tuple(sorted(merged.items()))


def resolve(state: State, action: Action) -> tuple[State, str]:
    """`step` without the input checks: for callers that built a valid state themselves.

    Works on the sorted (name, turns) tuples directly: this is the generator's hot loop.
    """
    cooldown, targets_other, damage, gained, gained_turns = ACTIONS[action.name]
    first, second = state.entities
    entities = (first, second)
    actor = 0 if first.name == action.actor else 1
    target = 1 - actor if targets_other else actor
    hp = [first.hp, second.hp]
    statuses = [first.statuses, second.statuses]
    cooldowns = [first.cooldowns, second.cooldowns]

    if not any(name == action.name for name, _ in cooldowns[actor]):  # 1. a running cooldown fizzles it
        if damage:  # 2. effect
            if any(name == "guard" for name, _ in statuses[target]):
                damage //= 2
            hp[target] = max(0, hp[target] - damage)
        if action.name == "heal":
            hp[actor] = min(entities[actor].max_hp, hp[actor] + HEAL_AMOUNT)
        if gained:  # statuses refresh to max(current, N), never stack
            statuses[target] = _raised(statuses[target], gained, gained_turns)
        if cooldown:  # 3. cooldown (not running, or it would have fizzled)
            cooldowns[actor] = _raised(cooldowns[actor], action.name, cooldown)

    ticked = []
    for e, h, st, cd in zip(entities, hp, statuses, cooldowns):  # 4. ticks, in state order
        if h > 0 and st:  # downed entities take no tick damage or healing
            h = min(e.max_hp, max(0, h + sum([TICK_DELTA[name] for name, _ in st])))
        ticked.append(Entity(e.name, h, e.max_hp, _ticked(st), _ticked(cd)))
    nxt = State(state.turn + 1, (ticked[0], ticked[1]))  # 5. turn + 1
    return nxt, result_of(nxt)


def result_of(state: State) -> str:
    """6. Both down: draw; one down: the other wins; else ongoing."""
    first, second = state.entities
    if first.hp == 0:
        return RESULT_DRAW if second.hp == 0 else WIN_PREFIX + second.name
    return WIN_PREFIX + first.name if second.hp == 0 else RESULT_ONGOING
