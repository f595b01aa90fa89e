"""The RPG eval over files: every split, then rollout, through one `complete` function.

`complete(prompts) -> targets` is greedy decoding of each prompt to the end of its record;
`eval.rpg.model` builds it from a model with `picojax.sample`. Keeping the model behind
that one function lets the taxonomy, splits and rollout be tested against the engine
itself, and lets the in-training hook reuse everything here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from eval.rpg.compare import check_output
from eval.rpg.records import EvalInputError, EvalRecord, load_fights, load_records
from eval.rpg.report import split_report
from eval.rpg.rollout import Complete, rollout
from picojax.data_dir import DataDir

FIGHTS_FILE = "fights.jsonl"


def evaluate_records(records: Sequence[EvalRecord], complete: Complete, malformed: Sequence[dict] = ()) -> dict:
    prompts = [r.prompt for r in records]
    expected = [r.target for r in records]
    outputs = complete(prompts) if prompts else []
    checks = [check_output(out, want) for out, want in zip(outputs, expected)]
    by_written = [{"line": r.line, "error": r.by_written_target} for r in records if r.by_written_target]
    return split_report(checks, prompts, expected, outputs, malformed, by_written)


def evaluate_file(path: str | Path, complete: Complete, limit: int | None = None) -> dict:
    records, malformed = load_records(path, limit)
    return evaluate_records(records, complete, malformed)


def default_splits(data_dir: str | Path) -> list[Path]:
    """Every ``<data_dir>/eval/*.txt`` split, plus the fights for rollout when present."""
    eval_dir = DataDir(data_dir).eval_dir
    if not eval_dir.is_dir():
        raise EvalInputError(f"no eval splits: {eval_dir} does not exist (make the data with `picojax data rpg`, "
                             f"or name files with --split)")
    paths = sorted(eval_dir.glob("*.txt"))
    if (eval_dir / FIGHTS_FILE).is_file():
        paths.append(eval_dir / FIGHTS_FILE)
    if not paths:
        raise EvalInputError(f"no eval splits in {eval_dir}")
    return paths


def load_inputs(paths: Sequence[str | Path], limit: int | None = None, fights_limit: int | None = None) -> dict:
    """{split stem: (records, malformed)} for record files; "rollout": (fights, malformed) for a ``.jsonl``."""
    inputs: dict[str, tuple[list, list[dict]]] = {}
    for path in map(Path, paths):
        if path.suffix == ".jsonl":
            inputs["rollout"] = load_fights(path, fights_limit if fights_limit is not None else limit)
        else:
            inputs[path.stem] = load_records(path, limit)
    return inputs


def expected_targets(inputs: dict) -> list[str]:
    """Every target the model will be asked for (to size the decoding budget)."""
    out = []
    for name, (items, _) in inputs.items():
        if name == "rollout":
            out.extend(t for fight in items for t in fight.targets)
        else:
            out.extend(r.target for r in items)
    return out


def evaluate_inputs(inputs: dict, complete: Complete) -> dict:
    results: dict[str, dict] = {}
    for name, (items, malformed) in inputs.items():
        if name == "rollout":
            results[name] = {**rollout(items, complete), "malformed_records": malformed}
        else:
            results[name] = evaluate_records(items, complete, malformed)
    return results


def evaluate_paths(paths: Sequence[str | Path], complete: Complete, limit: int | None = None) -> dict:
    """{split stem: report} for record files, and "rollout" for a ``.jsonl`` of fights."""
    return evaluate_inputs(load_inputs(paths, limit), complete)
