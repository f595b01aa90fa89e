"""Rollout: the model plays whole fights on its own outputs.

Each turn the model gets the state *it* produced last turn plus the engine's next
action; we count turns until its output first differs from the engine's. All live fights
advance together, so each turn is one batched decode, not one per fight.
"""

from __future__ import annotations

from typing import Callable, Sequence

from eval.rpg.records import Fight
from eval.rpg.report import rollout_report

Complete = Callable[[list[str]], list[str]]  # prompts -> greedy completions (one record's target each)

_RESULT_SEP = " | result="


def rollout(fights: Sequence[Fight], complete: Complete) -> dict:
    """Turns to the first divergence per fight (a fight played to its end counts its length)."""
    states = [f.initial for f in fights]
    survived = [0] * len(fights)
    alive = list(range(len(fights)))
    turn = 0
    while alive:
        prompts = [f"{states[i]} | act={fights[i].actions[turn]} => " for i in alive]
        outputs = complete(prompts)
        still = []
        for i, out in zip(alive, outputs):
            out = out.strip()
            if out != fights[i].targets[turn]:
                continue  # first divergence: this fight's count stops at `turn`
            survived[i] = turn + 1
            states[i] = out.rsplit(_RESULT_SEP, 1)[0]  # feed the model its own output
            if turn + 1 < len(fights[i].actions):
                still.append(i)
        alive = still
        turn += 1
    return rollout_report(survived, [len(f.actions) for f in fights])
