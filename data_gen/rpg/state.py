"""Typed, immutable RPG states: what the parser builds, the engine steps and the formatter prints.

Frozen dataclasses so that two states compare field by field (the eval's failure
taxonomy diffs them); statuses and cooldowns are tuples of ``(name, turns)`` sorted by
name, exactly the order the text format uses.
"""

from __future__ import annotations

from dataclasses import dataclass

Pairs = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Entity:
    name: str  # [a-z]+, distinct within a state
    hp: int  # 0 <= hp <= max_hp
    max_hp: int  # >= 1
    statuses: Pairs = ()  # ((status, turns >= 1), ...) sorted by status
    cooldowns: Pairs = ()  # ((action, turns >= 1), ...) sorted by action


@dataclass(frozen=True, slots=True)
class State:
    turn: int
    entities: tuple[Entity, Entity]  # in the record's order; never sorted

    def entity(self, name: str) -> Entity | None:
        for e in self.entities:
            if e.name == name:
                return e
        return None


@dataclass(frozen=True, slots=True)
class Action:
    actor: str
    name: str  # canonical action name
    target: str

    def __str__(self) -> str:
        return f"{self.actor}:{self.name}:{self.target}"


@dataclass(frozen=True, slots=True)
class Record:
    """One line of data: prompt state + action, and the next state + result it claims."""

    state: State
    action: Action
    next_state: State
    result: str  # "ongoing", "draw" or "win:<name>"
