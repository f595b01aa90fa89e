"""`picojax eval`: failure-first evals of a run's checkpoint (RPG splits and rollout; stories)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HELP = "evaluate a run's checkpoint: RPG exact match, fields, failure taxonomy, rollout; stories bpb and samples"


def add_arguments(parser):
    parser.add_argument("--workdir", required=True, metavar="RUN", help="run directory written by `picojax train`")
    parser.add_argument("--task", choices=("rpg", "stories"),
                        help="which eval (default: the run's data.task)")
    parser.add_argument("--split", action="append", default=[], metavar="FILE",
                        help="rpg: a file of records (or fights .jsonl) to evaluate; repeatable "
                             "(default: every split under the run's <data.dir>/eval/)")
    parser.add_argument("--limit", type=int, metavar="N", help="rpg: evaluate the first N records (fights) of each file")
    parser.add_argument("--text", metavar="FILE",
                        help="stories: score this TinyStories-format file instead of the val split")
    parser.add_argument("--samples", type=int, default=32, metavar="N", help="stories: stories to sample (default 32)")
    parser.add_argument("--json", metavar="OUT", help="also write the full results as JSON")
    parser.add_argument("--step", type=int, metavar="N", help="checkpoint step to load (default: the latest)")


def run(args) -> int:
    from picojax.config import MeshConfig
    from picojax.errors import UserError

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")
    from picojax import sharding

    sharding.configure_cpu_devices(MeshConfig())
    from picojax.sample import load_sampler

    cfg, sampler, step = load_sampler(args.workdir, step=args.step)
    task = args.task or cfg.data.task
    if task == "rpg":
        from eval.rpg.model import evaluate_model
        from eval.rpg.report import format_table

        results = evaluate_model(sampler, args.split or None, data_dir=cfg.data.dir, limit=args.limit)
        print(format_table(results))
        _print_malformed(results)
    else:
        from eval.stories.evaluate import format_report, sample_report, val_loss_bpb

        name = Path(args.text).stem if args.text else "val"
        results = {name: val_loss_bpb(cfg, sampler_model(sampler), sampler.tokenizer, args.text)}
        if args.samples > 0:
            results["samples"] = sample_report(sampler, args.samples)
        print(format_report(results))
        for text in results.get("samples", {}).get("texts", [])[:3]:
            print("---\n" + text)
    if args.json:
        write_json(args.json, {**results, "_run": {"workdir": str(args.workdir), "step": step, "task": task}})
    return 0


def sampler_model(sampler):
    from flax import nnx

    return nnx.merge(sampler.graphdef, sampler.state)


def _print_malformed(results: dict) -> None:
    for split, rep in results.items():
        bad = rep.get("malformed_records", [])
        if bad:
            shown = "; ".join(f"line {m['line']}: {m['error']}" for m in bad[:3])
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            print(f"{split}: {len(bad)} malformed record(s) skipped: {shown}{more}", file=sys.stderr)


def write_json(path: str, results: dict) -> None:
    """Atomically (temp file + rename): an interrupted eval never leaves half a JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)
