"""Aggregating output checks into per-split figures, and the table people read.

A split report is a plain JSON-able dict so the CLI writes it as is and TensorBoard gets
its numbers under ``eval/rpg/<split>/<metric>``.
"""

from __future__ import annotations

import statistics
from typing import Sequence

from eval.rpg.compare import FAILURE_CLASSES, FIELDS, OutputCheck
from picojax import tables

EXAMPLES_PER_CLASS = 3  # failing outputs kept per class, so a report shows *how* it fails
WRITTEN_TARGET_EXAMPLES = 5  # records scored by their written target: why, for the first few


def split_report(checks: Sequence[OutputCheck], prompts: Sequence[str], expected: Sequence[str],
                 outputs: Sequence[str], malformed: Sequence[dict] = (), by_written_target: Sequence[dict] = ()) -> dict:
    """Exact match, format validity, per-field accuracy, taxonomy counts and examples.

    ``by_written_target``: {line, error} of the records scored against the target written in
    the file because the engine could not read their prompt (counted, the first few kept)."""
    n = len(checks)

    def share(count: int) -> float:
        return count / n if n else 0.0

    examples: dict[str, list[dict]] = {c: [] for c in FAILURE_CLASSES}
    for check, prompt, want, got in zip(checks, prompts, expected, outputs):
        for c in check.failures:
            if len(examples[c]) < EXAMPLES_PER_CLASS:
                examples[c].append({"prompt": prompt, "expected": want, "output": got, "failures": list(check.failures)})
    return {
        "records": n,
        "exact_match": share(sum(c.exact for c in checks)),
        "format_validity": share(sum(c.valid for c in checks)),
        "field_accuracy": {f: share(sum(c.fields[f] for c in checks)) for f in FIELDS},
        "taxonomy": {c: sum(c in check.failures for check in checks) for c in FAILURE_CLASSES},
        "malformed_records": list(malformed),
        "scored_by_written_target": len(by_written_target),
        "written_target_examples": list(by_written_target[:WRITTEN_TARGET_EXAMPLES]),
        "examples": {c: ex for c, ex in examples.items() if ex},
    }


def rollout_report(turns_survived: Sequence[int], fight_lengths: Sequence[int]) -> dict:
    """Turns to the first divergence per fight; a fight played to its end counts its length."""
    n = len(turns_survived)
    return {
        "fights": n,
        "mean_turns_to_divergence": statistics.fmean(turns_survived) if n else 0.0,
        "median_turns_to_divergence": float(statistics.median(turns_survived)) if n else 0.0,
        "completed": sum(t >= length for t, length in zip(turns_survived, fight_lengths)) / n if n else 0.0,
        "mean_fight_length": statistics.fmean(fight_lengths) if n else 0.0,
        "turns": list(turns_survived),
    }


def scalar_metrics(results: dict) -> dict[str, float]:
    """Flat ``<split>/<metric>`` scalars for TensorBoard (taxonomy as shares of records)."""
    out: dict[str, float] = {}
    for split, rep in results.items():
        if split == "rollout":
            out["rollout/mean_turns_to_divergence"] = rep["mean_turns_to_divergence"]
            out["rollout/median_turns_to_divergence"] = rep["median_turns_to_divergence"]
            out["rollout/completed"] = rep["completed"]
            continue
        out[f"{split}/exact_match"] = rep["exact_match"]
        out[f"{split}/format_validity"] = rep["format_validity"]
        for f, acc in rep["field_accuracy"].items():
            out[f"{split}/field/{f}"] = acc
        for c, count in rep["taxonomy"].items():
            out[f"{split}/failure/{c}"] = count / rep["records"] if rep["records"] else 0.0
        if rep.get("scored_by_written_target"):
            out[f"{split}/scored_by_written_target"] = rep["scored_by_written_target"] / rep["records"]
    return out


def format_table(results: dict) -> str:
    """One row per split: records, exact match, validity, then the failure counts; a
    ``by_target`` column (records scored against their written target) when any split has one."""
    splits = {s: rep for s, rep in results.items() if s != "rollout"}
    written = any(rep.get("scored_by_written_target") for rep in splits.values())
    header = ["split", "records", "exact", "valid", *FAILURE_CLASSES, "malformed", *(["by_target"] if written else [])]
    rows = [header]
    for split, rep in splits.items():
        rows.append([split, str(rep["records"]), f"{100 * rep['exact_match']:.1f}%",
                     f"{100 * rep['format_validity']:.1f}%", *(str(rep["taxonomy"][c]) for c in FAILURE_CLASSES),
                     str(len(rep["malformed_records"])),
                     *([str(rep.get("scored_by_written_target", 0))] if written else [])])
    lines = [tables.format_table(rows, left=1)]
    if written:
        lines.append("by_target: records whose prompt the engine cannot read (unknown labels), scored against "
                     "the target written in the file")
    if "rollout" in results:
        ro = results["rollout"]
        lines.append(f"rollout: {ro['fights']} fights, turns to first divergence mean {ro['mean_turns_to_divergence']:.1f}, "
                     f"median {ro['median_turns_to_divergence']:.1f}, {100 * ro['completed']:.0f}% played to the end "
                     f"(mean fight length {ro['mean_fight_length']:.1f})")
    return "\n".join(lines)
