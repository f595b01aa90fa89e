"""Reading eval inputs: split files of records and the rollout fights.

Any file of records can be evaluated. A record's expected target comes from the engine
when the engine can read its prompt (aliases and noisy labels included); a record whose
stated target then disagrees with the engine is malformed. When the engine cannot read
the prompt (unknown labels: an unpublished alias, a spelling off the noisy-label rules),
the record is scored against the target written in the file, which must itself parse
with the strict target parser (`EvalRecord.by_written_target`). Malformed records (no
`` => ``, no target, a target that does not parse, one that disagrees with the engine)
are reported by line number and skipped, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from data_gen.rpg import (
    RPGError,
    format_state,
    format_target,
    parse_action,
    parse_prompt,
    parse_state,
    parse_target,
    split_record,
    step,
)
from picojax.errors import UserError


class EvalInputError(UserError):
    """An eval input file is missing or unreadable as a whole."""


@dataclass(frozen=True)
class EvalRecord:
    line: int  # 1-based line number in its file
    prompt: str  # as written in the file (alias spellings kept: the aliases split tests them)
    target: str  # the engine's canonical target for the prompt, or the written one (below)
    by_written_target: str = ""  # why the engine could not read the prompt, when `target` is the file's


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
        except RPGError as e:
            malformed.append({"line": number, "error": str(e)})
            continue
        try:
            target = format_target(*step(*parse_prompt(prompt)))
        except RPGError as prompt_error:
            why = _written_target_error(stated)
            if why:
                malformed.append({"line": number, "error": f"prompt: {prompt_error}; written target: {why}"})
            else:
                records.append(EvalRecord(number, prompt, stated, by_written_target=str(prompt_error)))
            continue
        if stated != target:
            malformed.append({"line": number, "error": f"target disagrees with the engine, which gives {target!r}"})
            continue
        records.append(EvalRecord(number, prompt, target))
    return records, malformed


def _written_target_error(stated: str) -> str:
    """Why a written target cannot be scored against (empty when it can): it must parse."""
    if not stated.strip():
        return "no target after ' => '"
    try:
        parse_target(stated)
    except RPGError as e:
        return str(e)
    return ""


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
