"""The RPG eval on a real model: greedy decoding through `picojax.sample`.

This is the only place the RPG eval touches a model; everything else sees a
``complete(prompts) -> targets`` function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from eval.rpg.evaluate import Complete, default_splits, evaluate_inputs, expected_targets, load_inputs
from picojax.sample import Sampler, SamplingConfig

# A record is one line; the model should end it with EOS, but a newline ends it too.
RECORD_STOP = ("\n",)
# Tokens allowed past the longest expected target: a model that rambles on is cut here
# (and scored as wrong) instead of filling the whole context.
SLACK_TOKENS = 16


def make_complete(sampler: Sampler, max_new_tokens: int, constraint=None) -> Complete:
    """Greedy completion of each prompt; ``constraint`` (prompt -> token automaton, the
    task's grammar) keeps the outputs inside the record grammar."""
    settings = SamplingConfig(max_new_tokens=max_new_tokens)  # greedy: temperature 0

    def complete(prompts: list[str]) -> list[str]:
        return [c.text for c in sampler.complete(prompts, settings, stop_strings=RECORD_STOP, constraint=constraint)]

    return complete


def decode_budget(sampler: Sampler, targets: Sequence[str]) -> int:
    """New tokens to allow: the longest expected target (with EOS) plus some slack."""
    longest = max((len(ids) for ids in sampler.tokenizer.encode_batch(list(targets))), default=0)
    return longest + 1 + SLACK_TOKENS


def evaluate_model(sampler: Sampler, paths: Sequence[str | Path] | None = None, *, data_dir: str | Path | None = None,
                   limit: int | None = None, fights_limit: int | None = None, constraint=None) -> dict:
    """Greedy RPG eval of `paths` (default: every split under ``<data_dir>/eval``), under
    ``constraint`` when given (`eval.rpg.grammar`)."""
    paths = list(paths) if paths else default_splits(data_dir)
    inputs = load_inputs(paths, limit, fights_limit)
    complete = make_complete(sampler, decode_budget(sampler, expected_targets(inputs)), constraint)
    return evaluate_inputs(inputs, complete)


def evaluate_completer(complete_fn, paths: Sequence[str | Path] | None = None, *, data_dir: str | Path | None = None,
                       limit: int | None = None) -> dict:
    """The same eval through any ``complete_fn(prompts, max_new_tokens) -> texts`` (e.g. a
    GGUF export in llama.cpp, `picojax.load`); the budget counts characters, an upper
    bound on tokens for the RPG tokenizer."""
    paths = list(paths) if paths else default_splits(data_dir)
    inputs = load_inputs(paths, limit)
    budget = max((len(t) for t in expected_targets(inputs)), default=0) + 1 + SLACK_TOKENS
    return evaluate_inputs(inputs, lambda prompts: [o.split("\n")[0] for o in complete_fn(prompts, budget)])
