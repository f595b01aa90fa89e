"""One turn of the game, resolved in the spec's order (fizzle, effect, cooldown, ticks,
turn + 1, result). The engine is the ground truth for every dataset and eval.
"""

from __future__ import annotations

from data_gen.rpg.rules import ACTIONS, HEAL_AMOUNT, RESULT_DRAW, RESULT_ONGOING, TICK_DELTA, WIN_PREFIX
from data_gen.rpg.state import Action, Entity, State
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


def _tick(entity: Entity, hp: int, statuses: dict[str, int], cooldowns: dict[str, int]) -> Entity:
    if hp > 0:  # downed entities take no tick damage or healing
        hp = min(entity.max_hp, max(0, hp + sum([TICK_DELTA[s] for s in statuses])))
    # Both dicts are built from sorted tuples (plus maybe one new key), so re-sort.
    return Entity(
        entity.name,
        hp,
        entity.max_hp,
        tuple(sorted([(s, t - 1) for s, t in statuses.items() if t > 1])),
        tuple(sorted([(a, t - 1) for a, t in cooldowns.items() if t > 1])),
    )


def resolve(state: State, action: Action) -> tuple[State, str]:
    """`step` without the input checks: for callers that built a valid state themselves."""
    cooldown, targets_other, damage, gained, gained_turns = ACTIONS[action.name]
    first, second = state.entities
    actor = 0 if first.name == action.actor else 1
    target = 1 - actor if targets_other else actor
    hp = [first.hp, second.hp]
    statuses = [dict(first.statuses), dict(second.statuses)]
    cooldowns = [dict(first.cooldowns), dict(second.cooldowns)]

    if action.name not in cooldowns[actor]:  # 1. a running cooldown fizzles the action
        if damage:  # 2. effect
            if "guard" in statuses[target]:
                damage //= 2
            hp[target] = max(0, hp[target] - damage)
        if action.name == "heal":
            hp[actor] = min(state.entities[actor].max_hp, hp[actor] + HEAL_AMOUNT)
        if gained:  # statuses refresh to max(current, N), never stack
            statuses[target][gained] = max(statuses[target].get(gained, 0), gained_turns)
        if cooldown:  # 3. cooldown
            cooldowns[actor][action.name] = cooldown

    nxt = State(  # 4. ticks in state order, 5. turn + 1
        state.turn + 1,
        (_tick(first, hp[0], statuses[0], cooldowns[0]), _tick(second, hp[1], statuses[1], cooldowns[1])),
    )
    return nxt, result_of(nxt)


def result_of(state: State) -> str:
    """6. Both down: draw; one down: the other wins; else ongoing."""
    first, second = state.entities
    if first.hp == 0:
        return RESULT_DRAW if second.hp == 0 else WIN_PREFIX + second.name
    return WIN_PREFIX + first.name if second.hp == 0 else RESULT_ONGOING
