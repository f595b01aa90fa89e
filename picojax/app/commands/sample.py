"""`picojax sample`: continue prompts with a trained run's latest (or chosen) checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "sample from a run's checkpoint: the config and tokenizer come from --workdir"


def add_arguments(parser):
    parser.add_argument("--workdir", required=True, metavar="RUN", help="run directory written by `picojax train`")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", metavar="TEXT", help="the text to continue")
    source.add_argument("--prompts-file", metavar="F", help="a file of prompts, one per line (blank lines skipped)")
    parser.add_argument("--num-samples", type=int, default=1, metavar="N", help="samples per prompt (default 1)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); higher = more random")
    parser.add_argument("--top-k", type=int, default=0, metavar="K", help="sample among the K likeliest tokens (0 = all)")
    parser.add_argument("--top-p", type=float, default=1.0, metavar="P",
                        help="sample among the likeliest tokens holding probability P (1 = all)")
    parser.add_argument("--max-new-tokens", type=int, metavar="N",
                        help="stop after N new tokens (default: at EOS or when the context is full)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (sample i of a run uses seed and i)")
    parser.add_argument("--step", type=int, metavar="N", help="checkpoint step to load (default: the latest)")
    parser.add_argument("--constrained", action=argparse.BooleanOptionalAction, default=None,
                        help="follow the task's grammar (rpg: the record format, closed label sets, the prompt's "
                             "names); default: the task's choice (rpg: on)")


def read_prompts(args) -> list[str]:
    from picojax.sample import SampleError

    if args.prompt is not None:
        return [args.prompt]
    path = Path(args.prompts_file)
    if not path.is_file():
        raise SampleError(f"prompts file not found: {path}")
    try:
        prompts = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as e:
        raise SampleError(f"{path} is not UTF-8 text (byte {e.start}): give one prompt per line") from None
    if not prompts:
        raise SampleError(f"{path} holds no prompts (one per line)")
    return prompts


def run(args) -> int:
    from picojax.config import MeshConfig
    from picojax.sample import SampleError, SamplingConfig

    if args.num_samples < 1:
        raise SampleError(f"--num-samples must be >= 1, got {args.num_samples}")
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise SampleError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    # The flags are checked before the (slow) restore, not after it.
    SamplingConfig(max_new_tokens=args.max_new_tokens or 1, temperature=args.temperature, top_k=args.top_k,
                   top_p=args.top_p, seed=args.seed).check()
    prompts = read_prompts(args)
    if any(not p for p in prompts):
        raise SampleError("the prompt is empty: give some text to continue")
    from picojax import sharding

    sharding.configure_cpu_devices(MeshConfig())
    from picojax.sample import load_sampler
    from picojax.tasks import get_task

    cfg, sampler, step = load_sampler(args.workdir, step=args.step)
    settings = SamplingConfig(max_new_tokens=args.max_new_tokens or cfg.model.seq_len, temperature=args.temperature,
                              top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    task = get_task(cfg.data.task)
    stops = task.stop_strings  # e.g. an RPG record is one line
    constrained = task.constrained_by_default if args.constrained is None else args.constrained
    constraint = task.constraint(sampler.tokenizer) if constrained else None
    if constrained and constraint is None:
        raise SampleError(f"--constrained: the {task.name} task has no grammar to follow")
    expanded = [p for p in prompts for _ in range(args.num_samples)]
    completions = sampler.complete(expanded, settings, stop_strings=stops, constraint=constraint)
    print(f"picojax sample: {args.workdir} step {step}, {cfg.data.task}, "
          f"{'greedy' if settings.temperature == 0 else f'temperature {settings.temperature}'}"
          f"{', constrained' if constraint is not None else ''}", file=sys.stderr)
    several = len(expanded) > 1
    for i, (prompt, c) in enumerate(zip(expanded, completions)):
        if several:
            print(f"=== prompt {i // args.num_samples + 1}, sample {i % args.num_samples + 1} (stopped: {c.stopped})")
        print(prompt + c.text)
    return 0
