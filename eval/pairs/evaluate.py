"""The pairs eval: exact match of the greedy completion, format validity against the
user's regex (when the dataset has one), and the failures listed (prompt, expected, got).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Callable, Sequence

from data_gen.pairs import PairsError, read_pairs
from picojax.data_dir import DataDir
from picojax.sample import Sampler, SamplingConfig
from picojax.tasks import Sample, Samples

SLACK_TOKENS = 16  # new tokens allowed past the longest expected completion
SHOWN_FAILURES = 20  # failures kept per file in the results

Complete = Callable[[list[str]], list[str]]


def make_complete(sampler: Sampler, expected: Sequence[str]) -> Complete:
    """Greedy completion up to EOS, with a budget of the longest expected completion plus slack."""
    longest = max((len(ids) for ids in sampler.tokenizer.encode_batch(list(expected))), default=0)
    settings = SamplingConfig(max_new_tokens=longest + 1 + SLACK_TOKENS)

    def complete(prompts: list[str]) -> list[str]:
        return [c.text for c in sampler.complete(prompts, settings)]

    return complete


def score(prompts: Sequence[str], expected: Sequence[str], outputs: Sequence[str], regex: str | None) -> dict:
    pattern = re.compile(regex) if regex else None
    exact = [out == want for out, want in zip(outputs, expected)]
    valid = [bool(pattern.fullmatch(out)) for out in outputs] if pattern else None
    failures = [{"prompt": p, "expected": e, "got": o} for p, e, o, ok in zip(prompts, expected, outputs, exact) if not ok]
    n = len(prompts)
    return {
        "records": n,
        "exact_match": sum(exact) / n if n else 0.0,
        **({"format_validity": sum(valid) / n if n else 0.0} if valid is not None else {}),
        "failures": len(failures),
        "failure_examples": failures[:SHOWN_FAILURES],
    }


def evaluate_files(files: Sequence[str | Path], complete: Complete, regex: str | None, limit: int | None = None) -> dict:
    results = {}
    for path in map(Path, files):
        pairs = [(p, c) for _, p, c in read_pairs(path)][:limit]
        if not pairs:
            raise PairsError(f"nothing to evaluate: {path} holds no pairs")
        prompts, expected = [p for p, _ in pairs], [c for _, c in pairs]
        results[path.stem] = score(prompts, expected, complete(prompts), regex)
    return results


def evaluate_model(sampler: Sampler, data_dir: str | Path, files: Sequence[str | Path] = (), limit: int | None = None) -> dict:
    """Exact match per file (default: the dataset's val.txt)."""
    files = list(files) or [DataDir(data_dir).text_path("val")]
    expected = [c for f in files for _, _, c in read_pairs(f)]  # sizes the decoding budget
    regex = DataDir(data_dir).read_manifest().get("completion_regex")
    return evaluate_files(files, make_complete(sampler, expected), regex, limit)


def val_samples(sampler: Sampler, cfg, n: int) -> Samples:
    """The greedy completions of the first `n` val pairs, each against its expected one."""
    pairs = list(itertools.islice(read_pairs(DataDir.of(cfg).text_path("val")), n))
    expected = [c for _, _, c in pairs]
    outputs = make_complete(sampler, expected)([p for _, p, _ in pairs])
    return Samples("greedy, val prompts", tuple(Sample(out, prompt=p, expected=c, ok=out == c)
                                                for (_, p, c), out in zip(pairs, outputs)))


def format_report(results: dict) -> str:
    from picojax.tables import format_table

    rows = [[name, str(rep["records"]), f"{100 * rep['exact_match']:.1f}%",
             f"{100 * rep['format_validity']:.1f}%" if "format_validity" in rep else "-", str(rep["failures"])]
            for name, rep in results.items()]
    lines = [format_table([["file", "pairs", "exact", "valid", "failures"], *rows], left=1)]
    for name, rep in results.items():
        for f in rep["failure_examples"][:5]:
            lines.append(f"{name}: {f['prompt']!r} -> expected {f['expected']!r}, got {f['got']!r}")
    return "\n".join(lines)


class PairsEvalHook:
    """Exact match on the first `train.task_eval_limit` val pairs every `train.task_eval_every` steps."""

    def __init__(self, cfg):
        from picojax.sample import TrainingSampler

        self.every = cfg.train.task_eval_every
        self.cfg = cfg
        self.sampler = TrainingSampler(cfg)

    def __call__(self, step: int, model, writer) -> dict[str, float]:
        val = DataDir.of(self.cfg).text_path("val")
        if not val.is_file() or val.stat().st_size == 0:
            return {}
        results = evaluate_model(self.sampler(model), self.cfg.data.dir, [val], self.cfg.train.task_eval_limit)
        rep = results["val"]
        if writer is not None and rep["failure_examples"]:
            writer.text(step, "eval/pairs/failures", "\n".join(
                f"`{f['prompt']}` expected `{f['expected']}` got `{f['got']}`  " for f in rep["failure_examples"][:8]))
        out = {"eval/pairs/val/exact_match": rep["exact_match"]}
        if "format_validity" in rep:
            out["eval/pairs/val/format_validity"] = rep["format_validity"]
        return out
