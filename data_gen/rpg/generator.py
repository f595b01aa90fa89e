"""Random states, random actions and whole fights: the raw material of every split.

Everything takes an explicit `random.Random`, so a seed fixes the output. Integers are
drawn as ``lo + int(rng.random() * span)`` rather than `randint` (several times faster,
equally deterministic): generation speed is a requirement (1M records < 2 min).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from data_gen.rpg.engine import resolve
from data_gen.rpg.names import Names
from data_gen.rpg.rules import ACTION_NAMES, COOLDOWN, COOLDOWN_ACTIONS, STATUSES, TARGETS_OTHER
from data_gen.rpg.state import Action, Entity, State

# Turns a freshly gained status starts with (the most a random state may show).
STATUS_MAX_TURNS = {"burn": 2, "guard": 2, "poison": 3, "regen": 3}


@dataclass(frozen=True)
class Ranges:
    """Value ranges (inclusive) for random prompts."""

    max_hp: tuple[int, int]
    turn: tuple[int, int]


# Training ranges: max hp 20-99, turns 1-60. Prompt turns stop at 59 so that every turn in
# a training record (the target's turn + 1 included) stays within 1-60.
TRAIN_RANGES = Ranges(max_hp=(20, 99), turn=(1, 59))
# Out-of-range values (only in the out_of_range eval): max hp >= 100, turn >= 100.
BIG_RANGES = Ranges(max_hp=(100, 999), turn=(100, 998))

# Random states: chance that each status / each cooldown is present on an entity.
STATUS_CHANCE = 0.3
COOLDOWN_CHANCE = 0.3
# Fights: chance that a policy tries an action regardless of its cooldown (so fights
# contain fizzles too, as in the states a model will meet in rollouts).
FIGHT_FIZZLE_CHANCE = 0.08

# Uniform states (the `uniform` source): every status and every cooldown present with
# this chance, independently, so every combination occurs; hp gets extra mass at the two
# edges where the rules clamp: within one turn's worst loss of 0 (strike 6 + burn 4 +
# poison 3 = 13) and within a heal (12) of max.
UNIFORM_CHANCE = 0.5
HP_LOW_SPAN = 13  # hp 1..13: one turn can down the entity
HP_HIGH_SPAN = 12  # hp max-11..max: a heal is clamped at max
HP_EDGE_CHANCE = 0.25  # each edge; the rest uniform over 1..max


def _int(rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo + 1))


def two_names(rng: random.Random, names) -> tuple[str, str]:
    """Two distinct names from a list, or from a `names.NamePool` (anything with ``draw``)."""
    if hasattr(names, "draw"):
        a = names.draw(rng)
        b = names.draw(rng)
        while b == a:
            b = names.draw(rng)
        return a, b
    n = len(names)
    i = int(rng.random() * n)
    j = int(rng.random() * (n - 1))
    return names[i], names[j + (j >= i)]


def random_entity(rng: random.Random, name: str, max_hp: int, crowded: bool = False) -> Entity:
    """hp in 1..max (a prompt's entities are all standing); random statuses and cooldowns.

    ``crowded``: all four statuses and at least three cooldowns.
    """
    rand = rng.random
    statuses = tuple(
        (s, 1 + int(rand() * STATUS_MAX_TURNS[s])) for s in STATUSES if crowded or rand() < STATUS_CHANCE
    )
    if crowded:
        dropped = set(rng.sample(COOLDOWN_ACTIONS, _int(rng, 0, len(COOLDOWN_ACTIONS) - 3)))
        names = [a for a in COOLDOWN_ACTIONS if a not in dropped]
    else:
        names = [a for a in COOLDOWN_ACTIONS if rand() < COOLDOWN_CHANCE]
    cooldowns = tuple((a, 1 + int(rand() * COOLDOWN[a])) for a in names)
    return Entity(name, 1 + int(rand() * max_hp), max_hp, statuses, cooldowns)


def uniform_hp(rand, max_hp: int) -> int:
    """hp in 1..max: a quarter near 0, a quarter near max, the rest uniform."""
    r = rand()
    if r < HP_EDGE_CHANCE:
        return 1 + int(rand() * min(HP_LOW_SPAN, max_hp))
    if r < 2 * HP_EDGE_CHANCE:
        return max_hp - int(rand() * min(HP_HIGH_SPAN, max_hp))
    return 1 + int(rand() * max_hp)


def uniform_entity(rng: random.Random, name: str, max_hp: int, low_span: int = 0) -> Entity:
    """Each status (turns 1..its fresh value) and each cooldown (1..its cooldown) present
    with `UNIFORM_CHANCE`; hp from `uniform_hp`, or uniform over 1..``low_span`` when given."""
    rand = rng.random
    statuses = tuple((s, 1 + int(rand() * STATUS_MAX_TURNS[s])) for s in STATUSES if rand() < UNIFORM_CHANCE)
    cooldowns = tuple((a, 1 + int(rand() * COOLDOWN[a])) for a in COOLDOWN_ACTIONS if rand() < UNIFORM_CHANCE)
    hp = 1 + int(rand() * min(low_span, max_hp)) if low_span else uniform_hp(rand, max_hp)
    return Entity(name, hp, max_hp, statuses, cooldowns)


def uniform_state(rng: random.Random, names: Names, ranges: Ranges, low_span: int = 0) -> State:
    """A state drawn uniformly over ``ranges`` (max hp, turn) and every status/cooldown combination."""
    a, b = two_names(rng, names)
    lo, hi = ranges.max_hp
    return State(_int(rng, *ranges.turn), (uniform_entity(rng, a, _int(rng, lo, hi), low_span),
                                           uniform_entity(rng, b, _int(rng, lo, hi), low_span)))


def draw_prompt(rng: random.Random, names: Names, ranges: Ranges) -> tuple[State, Action]:
    """A uniform state and action whose turn ends in a draw (both down): rare by chance
    (under 1% of uniform states), so drawn by rejection from states with both hp near 0
    (1..13, the most one turn can take, or half the time 1..7, where draws are likelier)."""
    while True:
        state = uniform_state(rng, names, ranges, HP_LOW_SPAN if rng.random() < 0.5 else (HP_LOW_SPAN + 1) // 2)
        action = random_action(rng, state)
        if resolve(state, action)[1] == "draw":
            return state, action


def random_state(rng: random.Random, names: Names, ranges: Ranges, crowded: bool = False) -> State:
    a, b = two_names(rng, names)
    lo, hi = ranges.max_hp
    return State(
        _int(rng, *ranges.turn),
        (random_entity(rng, a, _int(rng, lo, hi), crowded), random_entity(rng, b, _int(rng, lo, hi), crowded)),
    )


def action_for(state: State, actor_index: int, name: str) -> Action:
    """The action ``name`` by entity ``actor_index``, aimed as the action table says."""
    actor = state.entities[actor_index].name
    target = state.entities[1 - actor_index].name if TARGETS_OTHER[name] else actor
    return Action(actor, name, target)


def random_action(rng: random.Random, state: State) -> Action:
    """Any actor, any action: actions on cooldown included, so fizzles occur naturally."""
    return action_for(state, int(rng.random() * 2), ACTION_NAMES[int(rng.random() * len(ACTION_NAMES))])


def fizzle_action(rng: random.Random, state: State) -> tuple[State, Action]:
    """An action that is on the actor's cooldown (adding a cooldown if the actor has none)."""
    actor_index = int(rng.random() * 2)
    actor = state.entities[actor_index]
    if not actor.cooldowns:
        name = rng.choice(COOLDOWN_ACTIONS)
        actor = Entity(actor.name, actor.hp, actor.max_hp, actor.statuses, ((name, _int(rng, 1, COOLDOWN[name])),))
        pair = (actor, state.entities[1]) if actor_index == 0 else (state.entities[0], actor)
        state = State(state.turn, pair)
    return state, action_for(state, actor_index, rng.choice(actor.cooldowns)[0])


# ---------------------------------------------------------------------------------------
# Fights between two random policies.


@dataclass(frozen=True)
class Policy:
    """A fixed preference over actions; tries only actions off cooldown, mostly."""

    weights: tuple[float, ...]  # one per ACTION_NAMES entry

    @staticmethod
    def random(rng: random.Random) -> "Policy":
        # Squared uniforms give some strongly-preferred actions; a floor on strike keeps
        # fights moving towards a result.
        weights = [rng.random() ** 2 for _ in ACTION_NAMES]
        weights[ACTION_NAMES.index("strike")] += 1.0
        return Policy(tuple(weights))

    def choose(self, rng: random.Random, actor: Entity) -> str:
        if rng.random() < FIGHT_FIZZLE_CHANCE:
            return ACTION_NAMES[int(rng.random() * len(ACTION_NAMES))]
        busy = {a for a, _ in actor.cooldowns}
        options = [(a, w) for a, w in zip(ACTION_NAMES, self.weights) if a not in busy]
        pick = rng.random() * sum(w for _, w in options)
        for name, weight in options:
            pick -= weight
            if pick < 0:
                return name
        return options[-1][0]


@dataclass(frozen=True)
class Fight:
    initial: State
    actions: tuple[Action, ...]
    states: tuple[State, ...]  # the engine's state after each action
    results: tuple[str, ...]  # the result after each action; the last is the fight's


def fight(rng: random.Random, names: Names, ranges: Ranges = TRAIN_RANGES) -> Fight:
    """Two random policies from full hp at turn 1, alternating, until a result or until
    the prompt turn would leave ``ranges`` (then the last result is ``ongoing``)."""
    a, b = two_names(rng, names)
    lo, hi = ranges.max_hp
    max_a, max_b = _int(rng, lo, hi), _int(rng, lo, hi)
    state = State(1, (Entity(a, max_a, max_a), Entity(b, max_b, max_b)))
    policies = (Policy.random(rng), Policy.random(rng))
    actor_index = int(rng.random() * 2)
    initial, actions, states, results = state, [], [], []
    while state.turn <= ranges.turn[1]:
        action = action_for(state, actor_index, policies[actor_index].choose(rng, state.entities[actor_index]))
        state, result = resolve(state, action)
        actions.append(action)
        states.append(state)
        results.append(result)
        if result != "ongoing":
            break
        actor_index = 1 - actor_index
    return Fight(initial, tuple(actions), tuple(states), tuple(results))


def fight_transitions(f: Fight):
    """(state, action, next_state, result) for each turn of a fight."""
    before = (f.initial,) + f.states[:-1]
    return zip(before, f.actions, f.states, f.results)
