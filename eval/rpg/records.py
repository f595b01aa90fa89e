"""Reading eval inputs: split files of records and the rollout fights.

Any file of records can be evaluated. Each record's expected target comes from the
engine, not from the file: a record whose stated target disagrees with the engine, or
that does not parse, is reported by line number and skipped, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from data_gen.rpg import RPGError, format_state, format_target, parse_action, parse_prompt, parse_state, split_record, step
from picojax.errors import UserError


class EvalInputError(UserError):
    """An eval input file is missing or unreadable as a whole."""


@dataclass(frozen=True)
class EvalRecord:
    line: int  # 1-based line number in its file
    prompt: str  # as written in the file (alias spellings kept: the aliases split tests them)
    target: str  # the engine's canonical target for the prompt


@dataclass(frozen=True)
class Fight:
    line: int
    initial: str  # the first state block
    actions: tuple[str, ...]  # "actor:action:target" per turn
    targets: tuple[str, ...]  # the engine's target after each action (state | result=...)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise EvalInputError(f"eval file not found: {path}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise EvalInputError(f"{path} is not UTF-8 text (byte {e.start}): not a file of records") from None


def load_records(path: str | Path, limit: int | None = None) -> tuple[list[EvalRecord], list[dict]]:
    """(the first ``limit`` good records, the malformed ones as {line, error})."""
    records: list[EvalRecord] = []
    malformed: list[dict] = []
    for number, line in enumerate(_lines(Path(path)), start=1):
        if limit is not None and len(records) >= limit:
            break
        if not line.strip():
            continue
        try:
            prompt, stated = split_record(line)
            target = format_target(*step(*parse_prompt(prompt)))
        except RPGError as e:
            malformed.append({"line": number, "error": str(e)})
            continue
        if stated != target:
            malformed.append({"line": number, "error": f"target disagrees with the engine, which gives {target!r}"})
            continue
        records.append(EvalRecord(number, prompt, target))
    return records, malformed


def load_fights(path: str | Path, limit: int | None = None) -> tuple[list[Fight], list[dict]]:
    """Fights from a fights.jsonl, replayed through the engine (which gives every target)."""
    fights: list[Fight] = []
    malformed: list[dict] = []
    for number, line in enumerate(_lines(Path(path)), start=1):
        if limit is not None and len(fights) >= limit:
            break
        if not line.strip():
            continue
        try:
            fights.append(_replay(number, json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            malformed.append({"line": number, "error": f"not a fight record ({type(e).__name__}: {e})"})
        except (RPGError, ValueError) as e:
            malformed.append({"line": number, "error": str(e)})
    return fights, malformed


def _replay(number: int, data: dict) -> Fight:
    state = parse_state(data["initial"])
    actions = tuple(data["actions"])
    targets = []
    for i, text in enumerate(actions):
        state, result = step(state, parse_action(text))
        if "states" in data and data["states"][i] != format_state(state):
            raise ValueError(f"turn {i + 1}: stated state disagrees with the engine")
        targets.append(format_target(state, result))
        if result != "ongoing" and i + 1 < len(actions):
            raise ValueError(f"turn {i + 1}: the fight ended ({result}) but actions continue")
    if not actions:
        raise ValueError("a fight with no actions")
    return Fight(number, data["initial"], actions, tuple(targets))
