"""`picojax bench pipeline`: tokens/s out of the Grain train pipeline, against the step's appetite.

The issue asks the pipeline to deliver at least 20x what the training step consumes, so
data never throttles training. The step's consumption is *estimated* from the model's
training FLOPs per token (`picojax.config.flops_per_token`) and the machine's matmul
peak: at 100% MFU a step eats peak / FLOPs-per-token tokens/s, an upper bound on the real
rate. Without --data the bench writes format-exact synthetic RPG records to a temp folder,
trains a tokenizer and builds the store first (and times those too).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from data_gen.rpg.rules import ACTION_NAMES, STATUSES

HELP = "Grain pipeline tokens/s vs. the estimated consumption of the training step"

_STATUSES = list(STATUSES)
_ACTIONS = list(ACTION_NAMES)
_SYLLABLES = ["ka", "ro", "mi", "dun", "el", "bar", "tis", "gor", "an", "vel", "shu", "pim", "ox", "lor"]


def add_arguments(parser):
    from picojax.app.commands._common import add_config_args

    add_config_args(parser)
    parser.add_argument("--data", metavar="DIR",
                        help="a dataset with tokenizer and store (default: synthetic RPG records)")
    parser.add_argument("--records", type=int, default=50_000, help="synthetic records to generate (default 50,000)")
    parser.add_argument("--batches", type=int, default=300, help="batches to time (default 300)")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="the devices' peak in GFLOP/s (default: measured, as MFU uses it: "
                             "`picojax.hardware.peak_flops`, a matmul probe on CPU)")


def synthetic_records(n: int, seed: int = 0) -> list[str]:
    """Records in the exact RPG format (values random, not engine-true: only sizes matter here)."""
    rng = random.Random(seed)
    # ~200 made-up names, like the real generator's list: enough for a 512-piece vocabulary.
    names = sorted({"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 3))) for _ in range(200)})

    def entity(name):
        top = rng.randint(20, 99)
        st = ",".join(f"{s}:{rng.randint(1, 3)}" for s in sorted(rng.sample(_STATUSES, rng.randint(0, 3)))) or "-"
        cd = ",".join(f"{a}:{rng.randint(1, 5)}" for a in sorted(rng.sample(_ACTIONS, rng.randint(0, 3)))) or "-"
        return f"{name} hp={rng.randint(0, top)}/{top} st={st} cd={cd}"

    records = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        turn, result = rng.randint(1, 60), rng.choice(["ongoing", "draw", "win:" + a])
        records.append(f"turn={turn} | {entity(a)} | {entity(b)} | act={a}:{rng.choice(_ACTIONS)}:{b} => "
                       f"turn={turn + 1} | {entity(a)} | {entity(b)} | result={result}")
    return records


def _prepare_synthetic(d: Path, records: int, vocab_size: int) -> list[tuple]:
    from picojax.store import tokenize_dir
    from picojax.tokenizer import train_tokenizer

    lines = synthetic_records(records)
    cut = len(lines) * 9 // 10
    (d / "train.txt").write_text("\n".join(lines[:cut]) + "\n")
    (d / "val.txt").write_text("\n".join(lines[cut:]) + "\n")
    start = time.perf_counter()
    tok = train_tokenizer(d, vocab_size, d / "tokenizer.model")
    trained = time.perf_counter() - start
    start = time.perf_counter()
    metas = tokenize_dir(d, tok)
    written = time.perf_counter() - start
    tokens = sum(m["num_tokens"] for m in metas.values())
    return [("tokenizer train (s)", trained), ("store write tokens/s", tokens / written)]


def _measured_peak_gflops() -> float:
    """The peak MFU is quoted against: the accelerator's table figure, or this machine's
    measured (and cached) matmul probe on CPU."""
    from picojax import hardware
    from picojax.errors import UserError

    peak = hardware.peak_flops()
    if not peak:
        raise UserError("the peak FLOP/s of this accelerator is unknown: pass --peak-gflops")
    return peak / 1e9


def run(args) -> int:
    from picojax import config_io
    from picojax.app.bench.report import emit
    from picojax.config import flops_per_token
    from picojax.data import make_train_iterator

    if args.peak_gflops is not None and not args.peak_gflops > 0:
        from picojax.errors import UserError

        raise UserError(f"--peak-gflops must be > 0, got {args.peak_gflops}")
    overrides = list(args.overrides)
    if not any(o.startswith("model.depth=") for o in overrides):
        overrides.append("model.depth=4")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        if args.data is None:
            cfg = config_io.load(args.config, overrides)
            rows += _prepare_synthetic(Path(tmp), args.records, min(cfg.model.vocab_size, 512))
            overrides.append(f"data.dir={tmp}")
        else:
            overrides.append(f"data.dir={args.data}")
        cfg = config_io.load(args.config, overrides)
        it = make_train_iterator(cfg, process_index=0, process_count=1)
        for _ in range(5):  # warm up: first packing rounds, prefetch thread start
            next(it)
        positions = real = 0
        start = time.perf_counter()
        for _ in range(args.batches):
            batch = next(it)
            positions += batch["inputs"].size
            real += int((batch["segment_ids"] > 0).sum())
        seconds = time.perf_counter() - start
        it.close()

    per_token = flops_per_token(cfg.model)
    peak_gflops = args.peak_gflops if args.peak_gflops is not None else _measured_peak_gflops()
    step_tokens_per_s = peak_gflops * 1e9 / per_token  # at 100% MFU: an upper bound
    pipeline = positions / seconds
    rows += [
        ("pipeline tokens/s (positions)", pipeline),
        ("pipeline real tokens/s", real / seconds),
        ("packing fill", real / positions),
        ("ms per batch", 1e3 * seconds / args.batches),
        (f"depth-{cfg.model.depth} FLOPs/token", per_token),
        ("step tokens/s at peak (estimate)", step_tokens_per_s),
        ("pipeline / step", pipeline / step_tokens_per_s),
    ]
    figures = {
        "pipeline_tokens_per_s": pipeline, "pipeline_real_tokens_per_s": real / seconds,
        "packing_fill": real / positions, "batch_size": cfg.train.batch_size, "seq_len": cfg.model.seq_len,
        "depth": cfg.model.depth, "flops_per_token": per_token, "peak_gflops": peak_gflops,
        "peak_source": "flag" if args.peak_gflops is not None else "measured",
        "step_tokens_per_s_estimate": step_tokens_per_s, "pipeline_over_step": pipeline / step_tokens_per_s,
        "data": args.data or "synthetic-rpg",
    }
    emit("pipeline", ("measure", "value"), rows, figures)
    return 0
