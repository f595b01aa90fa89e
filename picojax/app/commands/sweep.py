"""`picojax sweep`: the miniseries - train a family of depths, evaluate and measure each, report."""

from __future__ import annotations

HELP = ("train a family of depths (a miniseries), each an ordinary run in WORKDIR/d<N>/, to the depth dial's "
        "horizon or to FLOPs budgets; evaluate, measure and report capability per MB (re-run to resume)")


def add_arguments(parser):
    parser.add_argument("--config", metavar="PRESET",
                        help="preset: a file such as configs/rpg.py, or a built-in name (default: the sweep "
                             "saved in --workdir, to resume it)")
    parser.add_argument("--depths", metavar="A-B",
                        help="depths to train: a range like 1-6 or a list like 2,4,6")
    parser.add_argument("--workdir", default="runs/sweep", metavar="DIR",
                        help="where the points, results.csv/json, report.md and plots go (default runs/sweep)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field for every point, e.g. --set train.steps=400 (repeatable)")
    parser.add_argument("--flops", metavar="C1,C2",
                        help="IsoFLOP: train every depth to each training-FLOPs budget (e.g. 1e15,3e15), in "
                             "WORKDIR/f<budget>/d<N>/; steps = budget / (FLOPs/token x tokens/step)")
    parser.add_argument("--data-from-quickstart", action="store_true",
                        help="generate the quickstart's data, tokenizer and token store into WORKDIR/data and "
                             "train on it (automatic for the quickstart presets)")
    parser.add_argument("--data-size", action="append", default=[], metavar="KEY=N",
                        help="a quickstart dataset size, e.g. --data-size train_records=20000 (repeatable)")
    parser.add_argument("--eval-limit", type=int, metavar="N",
                        help="evaluate the first N records (fights) of each split (default: all)")
    parser.add_argument("--samples", type=int, default=16, metavar="N",
                        help="stories: stories sampled per point's eval (default 16)")
    parser.add_argument("--no-task-evals", action="store_true",
                        help="skip the task-eval hooks during training (the eval after training still runs)")
    parser.add_argument("--no-report", action="store_true", help="write results.csv/json but not report.md")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (one line per point)")


def run(args) -> int:
    from picojax.app.sweep.plan import SweepError, make_sweep, parse_depths, parse_flops, parse_sizes

    if args.eval_limit is not None and args.eval_limit < 1:
        raise SweepError(f"--eval-limit must be >= 1, got {args.eval_limit}")
    if args.samples < 0:
        raise SweepError(f"--samples must be >= 0, got {args.samples}")
    sweep = make_sweep(args.config, parse_depths(args.depths) if args.depths else None, args.workdir,
                       overrides=args.overrides, budgets=parse_flops(args.flops) if args.flops else (),
                       data_from_quickstart=args.data_from_quickstart,
                       data_sizes=parse_sizes(args.data_size))  # every user error before JAX starts
    from picojax import sharding

    sharding.configure_cpu_devices(sweep.points[0].cfg.mesh)
    from picojax.app.sweep.runner import run_sweep
    from picojax.tasks import EvalRequest

    limit = args.eval_limit
    try:
        outcome = run_sweep(sweep, progress=not args.no_progress, task_evals=not args.no_task_evals,
                            request=EvalRequest(limit=limit, samples=args.samples), report=not args.no_report)
    except KeyboardInterrupt:
        print(f"picojax sweep: interrupted; run the same command (or `picojax sweep --workdir {sweep.workdir}`) "
              "again to resume")
        return 130
    if outcome["failed"]:
        print(f"picojax sweep: {', '.join(outcome['failed'])} stopped on a non-finite loss (see above)")
        return 1
    return 0
