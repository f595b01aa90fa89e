"""Semantic checks the grammar alone cannot make (spec: "Bad input").

Used by the parser and by `engine.step`, so a hand-built `State` gets the same scrutiny
as parsed text.
"""

from __future__ import annotations

from data_gen.rpg.errors import RPGError
from data_gen.rpg.rules import RESULT_DRAW, RESULT_ONGOING, TARGETS_OTHER, WIN_PREFIX
from data_gen.rpg.state import Action, State


def check_state(state: State) -> None:
    """Names distinct, max >= 1, 0 <= hp <= max (any state, prompt or target)."""
    a, b = state.entities
    if a.name == b.name:
        raise RPGError("name", a.name, "the two entities must have different names")
    for e in state.entities:
        if e.max_hp < 1:
            raise RPGError("max", e.max_hp, f"max hp of {e.name!r} must be at least 1")
        if e.hp > e.max_hp:
            raise RPGError("hp", f"{e.hp}/{e.max_hp}", f"hp of {e.name!r} is above its max")


def check_playable(state: State, action: Action) -> None:
    """The prompt's state is not over yet, and the action fits the action table."""
    for e in state.entities:
        if e.hp == 0:
            raise RPGError("hp", f"{e.hp}/{e.max_hp}", f"{e.name!r} is down: the fight is over, no further actions")
    if state.entity(action.actor) is None:
        raise RPGError("actor", action.actor, "not a name in the state")
    if action.name not in TARGETS_OTHER:
        raise RPGError("action", action.name, "unknown action")
    if state.entity(action.target) is None:
        raise RPGError("target", action.target, "not a name in the state")
    if TARGETS_OTHER[action.name]:
        if action.target == action.actor:
            raise RPGError("target", action.target, f"{action.name} must target the other entity, not the actor")
    elif action.target != action.actor:
        raise RPGError("target", action.target, f"{action.name} must target the actor itself ({action.actor!r})")


def check_result(state: State, result: str) -> None:
    if result in (RESULT_ONGOING, RESULT_DRAW):
        return
    if result.startswith(WIN_PREFIX):
        if state.entity(result[len(WIN_PREFIX):]) is None:
            raise RPGError("result", result, "the winner is not a name in the state")
        return
    raise RPGError("result", result, "expected ongoing, draw or win:<name>")
