"""`picojax quickstart`: generate data, train a tokenizer and a model, evaluate, report."""

from __future__ import annotations

from picojax.app.tasks import QUICKSTART

HELP = ("the main job on built-in data: generate data, train the tokenizer and a model on this machine, "
        "evaluate, print samples and the eval table (re-run to resume)")


def add_arguments(parser):
    parser.add_argument("--task", choices=QUICKSTART, default=QUICKSTART[0], help="which specialist (default rpg)")
    parser.add_argument("--workdir", default="runs/quickstart", metavar="DIR",
                        help="where data, checkpoints, TensorBoard logs and eval.json go (default runs/quickstart)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of the quickstart preset, e.g. --set train.steps=500 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (stage lines only)")


def run(args) -> int:
    from picojax.app.quickstart import make_plan, run_quickstart

    plan = make_plan(args.task, args.workdir, overrides=args.overrides)  # config errors before JAX starts
    from picojax import sharding

    sharding.configure_cpu_devices(plan.cfg.mesh)
    try:
        run_quickstart(plan, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"picojax quickstart: interrupted; run the same command again to resume from {plan.workdir}")
        return 130
    return 0
