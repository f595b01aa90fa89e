"""`picojax train`: train (or resume) a model in a run directory."""

from __future__ import annotations

import sys

from picojax.app.commands._common import add_config_args

HELP = "train a model in --workdir (resumes from its latest checkpoint; SIGTERM checkpoints and exits 0)"


def add_arguments(parser):
    add_config_args(parser)
    parser.add_argument("--workdir", required=True, metavar="DIR",
                        help="run directory, local or gs://bucket/path: config.json, checkpoints/, tb/, "
                             "metrics.jsonl (resumed if present)")
    parser.add_argument("--stop-after", type=int, metavar="N",
                        help="run at most N steps in this call, checkpoint and exit (the schedule keeps train.steps)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    parser.add_argument("--no-task-evals", action="store_true", help="skip the task-eval hooks (eval/<task>/hooks.py)")
    multi = parser.add_argument_group("multi-process runs (also from JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
                                      "JAX_PROCESS_ID; automatic on Cloud TPU)")
    multi.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0's coordinator service")
    multi.add_argument("--num-processes", type=int, metavar="N", help="number of processes in the run")
    multi.add_argument("--process-id", type=int, metavar="I", help="this process's index, 0..N-1")


def _config(args):
    """--config/--set as given; with neither, the workdir's own config (a plain resume)."""
    from picojax import config_io
    from picojax.paths import run_path

    saved = run_path(args.workdir) / "config.json"
    if args.config is None and not args.overrides and saved.is_file():
        cfg = config_io.load_json(saved)
        config_io.validate(cfg)
        return cfg
    return config_io.load(args.config, args.overrides)


def run(args) -> int:
    from picojax import config_io, distributed, sharding

    if args.stop_after is not None and args.stop_after < 1:
        from picojax.errors import ConfigError

        raise ConfigError(f"--stop-after must be >= 1, got {args.stop_after}")
    cfg = _config(args)
    # Both before JAX starts its backends: fake CPU devices, then the process group.
    sharding.configure_cpu_devices(cfg.mesh)
    distributed.initialize(args.coordinator, args.num_processes, args.process_id)

    import jax

    from picojax.train import task_hooks, train

    main = jax.process_index() == 0
    if main:
        print(config_io.format_config(cfg), flush=True)
        print(f"devices: {jax.device_count()} x {jax.devices()[0].device_kind} over {jax.process_count()} process(es)",
              flush=True)
    hooks = [] if args.no_task_evals else task_hooks(cfg)
    summary = train(cfg, args.workdir, hooks=hooks, stop_after=args.stop_after, progress=not args.no_progress)
    if main:
        print("summary: " + ", ".join(f"{k}={_fmt(v)}" for k, v in summary.items() if k != "hooks"), flush=True)
    if summary.get("stopped") == "nan":
        print(f"picojax train: error: {summary['error']}", file=sys.stderr)
        return 1
    return 0


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
