"""Check files of records (or fights) against the engine: the judge behind `picojax rpg check`.

A record agrees when its prompt parses (aliases allowed) and its target is, character for
character, the canonical target the engine computes. A fights.jsonl line agrees when
replaying its actions from its initial state gives exactly its states and its result.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from data_gen.rpg.engine import step
from data_gen.rpg.errors import RPGError
from data_gen.rpg.text import format_state, format_target, parse_action, parse_prompt, parse_state, split_record


@dataclass
class CheckReport:
    agree: int = 0
    total: int = 0
    disagreements: list[tuple[int, str]] = field(default_factory=list)  # (line number, why), the first few


def record_disagreement(line: str) -> str | None:
    """Why a record line disagrees with the engine, or None when it agrees."""
    try:
        prompt, target = split_record(line)
        expected = format_target(*step(*parse_prompt(prompt)))
    except RPGError as e:
        return str(e)
    if target != expected:
        return f"target differs from the engine's {expected!r}"
    return None


def fight_disagreement(line: str) -> str | None:
    """Why a fights.jsonl line disagrees with the engine, or None when it agrees."""
    try:
        fight = json.loads(line)
    except json.JSONDecodeError as e:
        return f"not JSON: {e.msg}"
    if not isinstance(fight, dict) or not {"initial", "actions", "states", "result"} <= fight.keys():
        return "expected an object with initial, actions, states and result"
    actions, states = fight["actions"], fight["states"]
    if not isinstance(actions, list) or not isinstance(states, list) or len(actions) != len(states) or not actions:
        return "actions and states must be non-empty lists of the same length"
    try:
        state = parse_state(fight["initial"])
        result = None
        for i, (act, claimed) in enumerate(zip(actions, states)):
            state, result = step(state, parse_action(act, aliases=False))
            if format_state(state) != claimed:
                return f"state {i + 1} (after {act}) differs from the engine's {format_state(state)!r}"
    except (RPGError, TypeError, AttributeError) as e:
        return str(e)
    if fight["result"] != result:
        return f"result {fight['result']!r} differs from the engine's {result!r}"
    return None


def check_file(path: str | os.PathLike, keep: int = 5) -> CheckReport:
    """Checks every line of ``path`` (``*.jsonl``: fights, else records)."""
    path = os.fspath(path)
    judge = fight_disagreement if path.endswith(".jsonl") else record_disagreement
    report = CheckReport()
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                why = judge(line.rstrip("\n"))
                report.total += 1
                if why is None:
                    report.agree += 1
                elif len(report.disagreements) < keep:
                    report.disagreements.append((number, why))
    except FileNotFoundError:
        raise RPGError("file", path, "no such file") from None
    except IsADirectoryError:
        raise RPGError("file", path, "is a folder, not a file of records") from None
    except UnicodeDecodeError as e:
        raise RPGError("file", path, f"not UTF-8 text ({e.reason})") from None
    return report
