"""`picojax eval`: failure-first evals of a run's checkpoint (RPG splits and rollout; stories)."""

from __future__ import annotations

import argparse
import json
import sys

from picojax.app.tasks import BUILT_IN

HELP = "evaluate a run's checkpoint: RPG exact match, fields, failure taxonomy, rollout; stories bpb and samples"


def add_arguments(parser):
    parser.add_argument("--workdir", required=True, metavar="RUN", help="run directory written by `picojax train`")
    parser.add_argument("--task", choices=BUILT_IN,
                        help="which eval (default: the run's data.task)")
    parser.add_argument("--split", action="append", default=[], metavar="FILE",
                        help="rpg: a file of records (or fights .jsonl) to evaluate; repeatable "
                             "(default: every split under the run's <data.dir>/eval/)")
    parser.add_argument("--limit", type=int, metavar="N", help="rpg: evaluate the first N records (fights) of each file")
    parser.add_argument("--text", metavar="FILE",
                        help="stories: score this TinyStories-format file instead of the val split")
    parser.add_argument("--samples", type=int, default=32, metavar="N", help="stories: stories to sample (default 32)")
    parser.add_argument("--constrained", action=argparse.BooleanOptionalAction, default=None,
                        help="decode under the task's grammar (rpg: the record format, labels from the closed "
                             "sets, the prompt's two names); default: the task's choice (rpg: on)")
    parser.add_argument("--gguf", metavar="FILE",
                        help="rpg: score this GGUF export through llama.cpp (llama-cpp-python) instead of the "
                             "checkpoint, on the run's splits: exact match as deployed")
    parser.add_argument("--json", metavar="OUT", help="also write the full results as JSON")
    parser.add_argument("--step", type=int, metavar="N", help="checkpoint step to load (default: the latest)")


def run(args) -> int:
    from picojax.app.task_reports import print_eval
    from picojax.config import MeshConfig
    from picojax.errors import UserError
    from picojax.tasks import EvalRequest, get_task

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")
    if args.samples < 0:  # 0 = score the text only, sample nothing
        raise UserError(f"--samples must be >= 0, got {args.samples}")
    if args.json:
        check_json_target(args.json)  # before the (slow) evals, not after them
    if args.gguf:
        return run_gguf(args)
    from picojax import sharding

    sharding.configure_cpu_devices(MeshConfig())
    from picojax.sample import load_sampler

    cfg, sampler, step = load_sampler(args.workdir, step=args.step)
    task = get_task(args.task or cfg.data.task)
    files = args.split or ([args.text] if args.text else [])
    results = task.evaluate(sampler, cfg, EvalRequest(files=files, limit=args.limit, samples=args.samples,
                                                       constrained=args.constrained))
    print_eval(task.report(results), sys.stdout, sys.stderr)
    if args.json:
        write_json(args.json, {**results, "_run": {"workdir": str(args.workdir), "step": step, "task": task.name}})
    return 0


def run_gguf(args) -> int:
    """`--gguf FILE`: the run's RPG splits scored through llama.cpp on the exported file."""
    from pathlib import Path

    from picojax.app.api import load
    from picojax.app.task_reports import print_eval
    from picojax.errors import UserError
    from picojax.run_dir import RunDir
    from picojax.tasks import EvalRequest, get_task

    if not Path(args.gguf).is_file():
        raise UserError(f"--gguf {args.gguf}: no such file")
    run = RunDir(args.workdir)
    if not run.config_path.is_file():
        raise UserError(f"--workdir {args.workdir}: no config.json (the run's splits come from its data.dir)")
    cfg = run.read_config()
    task = get_task(args.task or cfg.data.task)
    if task.name != "rpg":
        raise UserError(f"--gguf scores the rpg task's splits; this run is {task.name}")
    from eval.rpg.model import evaluate_completer

    model = load(args.gguf)
    constrained = args.constrained if args.constrained is not None else task.constrained_by_default
    results = evaluate_completer(
        lambda prompts, budget: model.complete(prompts, max_new_tokens=budget, constrained=constrained),
        args.split or None, data_dir=cfg.data.dir, limit=args.limit)
    results["_decoding"] = {"constrained": constrained, "gguf": str(args.gguf)}
    print_eval(task.report(results), sys.stdout, sys.stderr)
    if args.json:
        write_json(args.json, {**results, "_run": {"workdir": str(args.workdir), "gguf": str(args.gguf), "task": "rpg"}})
    return 0


def check_json_target(path: str) -> None:
    """--json OUT must be writable: its folder exists (or can be made) and OUT is no folder."""
    from picojax.errors import UserError
    from picojax.paths import ensure_dir, is_remote, run_path

    if is_remote(path):
        return
    target = run_path(path)
    if target.is_dir():
        raise UserError(f"--json {path} is a folder, not a file")
    try:
        ensure_dir(target.parent)
    except OSError as e:
        raise UserError(f"--json {path}: cannot create its folder {target.parent} ({e.strerror})") from None


def write_json(path: str, results: dict) -> None:
    """Atomically (temp file + rename): an interrupted eval never leaves half a JSON."""
    from picojax.errors import UserError
    from picojax.paths import run_path, write_text_atomic

    try:
        write_text_atomic(run_path(path), json.dumps(results, indent=2) + "\n")
    except OSError as e:
        raise UserError(f"--json {path}: cannot write it ({e.strerror})") from None
