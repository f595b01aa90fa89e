"""`picojax train`: train (or resume) a model in a run directory."""

from __future__ import annotations

import contextlib
import errno
import os
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
    """--config/--set as given; without --config, a workdir holding config.json resumes with
    it, --set changing only what a resume may change (`picojax.config_io.resume`). With
    --config, such a workdir is resumed too: the preset may not change what a resume may
    not (`picojax.config_io.FROZEN_ON_RESUME`)."""
    from picojax import config_io
    from picojax.run_dir import RunDir

    run = RunDir(args.workdir)
    given = None if args.config is None else config_io.load(args.config, args.overrides)
    saved = run.read_config()
    if saved is None:
        return given or config_io.load(None, args.overrides)
    if given is None:
        return config_io.resume(saved, args.overrides, where=str(run))
    config_io.refuse_frozen_changes(saved, given, str(run), "--config")
    return given


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
    with _background_failures_reported_once():
        summary = train(cfg, args.workdir, hooks=hooks, stop_after=args.stop_after, progress=not args.no_progress)
    if main:
        print("summary: " + ", ".join(f"{k}={_fmt(v)}" for k, v in summary.items() if k != "hooks"), flush=True)
    if summary.get("stopped") == "nan":
        print(f"picojax train: error: {summary['error']}", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _background_failures_reported_once():
    """A failed save (a full disk) is reported by the trainer in one line; without this its
    background threads would add hundreds of lines of the same: Orbax logs each failed
    write with a traceback, asyncio complains about futures nobody awaited, TensorStore
    callbacks hit a closed event loop, and TensorBoard's writer fails to flush at exit.
    Only those are dropped (they stay dropped through interpreter exit, when the last of
    them appear); anything else still prints."""
    import logging
    import threading

    def storage(exc) -> bool:
        # The disk's error itself, or anything that wraps it (TensorStore and Orbax re-raise
        # it as their own exception types, with the OSError as cause or only in the text).
        seen = 0
        while exc is not None and seen < 16:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                return True
            if any(s in str(exc) for s in ("No space left on device", "Disk quota exceeded", "Read-only file system")):
                return True
            exc, seen = exc.__cause__ or exc.__context__, seen + 1
        return False

    def background_noise(exc) -> bool:
        return storage(exc) or (isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed")

    failed = []  # set once the run has failed: its one line is on the way

    def after_failure(thread) -> bool:
        # TensorBoard's writer thread, still flushing to the full disk while the run ends,
        # can fail with anything (a closed file, a half-written record): best-effort output
        # of a run that already said why it stopped.
        return bool(failed) and type(thread).__module__.startswith("tensorboardX")

    unraisable, thread_hook = sys.unraisablehook, threading.excepthook
    sys.unraisablehook = lambda u: None if background_noise(u.exc_value) else unraisable(u)
    threading.excepthook = lambda a: None if background_noise(a.exc_value) or after_failure(a.thread) else thread_hook(a)

    class Drop(logging.Filter):
        def filter(self, record):
            if record.name == "asyncio":
                return "exception was never retrieved" not in record.getMessage()
            return not (record.levelno >= logging.ERROR and f"{os.sep}orbax{os.sep}" in record.pathname)

    drop = Drop()
    loggers = [logging.getLogger("absl"), logging.getLogger("asyncio")]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    except BaseException:
        failed.append(True)
        raise  # keep the filters: the rest of the noise comes at garbage collection and exit
    else:
        sys.unraisablehook, threading.excepthook = unraisable, thread_hook
        for logger in loggers:
            logger.removeFilter(drop)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
