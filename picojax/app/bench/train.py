"""`picojax bench train`: the real trainer's tokens/s, MFU and time to first step per depth.

Unlike `bench model` (a bare forward+backward), this times `picojax.train.train` itself:
Grain batches, the sharded donated step, metrics fetched one step late, logging. Each
depth runs in a fresh subprocess so "time to first step" is honest: from the start of
the process (JAX import, data pipeline, model init, compilation) to the first step's
metrics. Tokens/s is the median over logged windows after the first; MFU is analytic
FLOPs (`config.flops_per_token`) over the peak of the backend (`hardware.peak_flops`: on
CPU the matmul probe, re-measured before each depth, best figure kept).

Data: ``--data DIR`` (a prepared dataset folder), or by default a small synthetic stories
corpus generated into a temp folder with its own tokenizer and token store.
"""

from __future__ import annotations

import time

_PROCESS_START = time.perf_counter()  # first thing: the subprocess's clock for time to first step

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

HELP = "the trainer's tokens/s, MFU and time to first step at depths 2,4,6 (each in a fresh process)"


def add_arguments(parser):
    parser.add_argument("--depths", default="2,4,6", help="comma list of depths (default 2,4,6)")
    parser.add_argument("--steps", type=int, default=30, help="steps per depth (default 30)")
    parser.add_argument("--batch", type=int, default=32, help="global batch in sequences (default 32)")
    parser.add_argument("--seq-len", type=int, default=256, help="sequence length (default 256)")
    parser.add_argument("--vocab", type=int, default=512, help="tokenizer/model vocabulary (default 512)")
    parser.add_argument("--data", help="dataset folder with train/val text, tokenizer.model and store/; its task and "
                                       "vocabulary come from it (default: a synthetic stories corpus made in a temp "
                                       "folder, --vocab pieces)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra config overrides for every depth (repeatable)")


def _make_data(folder: Path, vocab: int) -> Path:
    from data_gen.stories.generator import generate_stories
    from picojax.store import tokenize_dir
    from picojax.tokenizer import train_tokenizer

    generate_stories(folder, 3000, seed=0, progress=False)
    tokenizer = train_tokenizer(folder, vocab, folder / "tokenizer.model", profile="stories")
    tokenize_dir(folder, tokenizer, task="stories")
    return folder


def _dataset_overrides(data: str) -> list[str]:
    """Config overrides for a prepared dataset folder: its task (from the token store) and
    its vocabulary (the tokenizer's pieces, rounded up to 64); a folder that is not a
    prepared dataset is one line, exit 2, before any subprocess starts."""
    from picojax.errors import UserError
    from picojax.store import TokenStore
    from picojax.tokenizer import Tokenizer

    folder = Path(data)
    if not folder.is_dir():
        raise UserError(f"--data {data}: no such folder (give a dataset folder made by `picojax data ...`)")
    tokenizer = Tokenizer.load(folder / "tokenizer.model")
    store = TokenStore(folder / "store" / "train", tokenizer_sha256=tokenizer.sha256)
    vocab = -(-tokenizer.vocab_size // 64) * 64
    return [f"data.task={store.task}", f"data.dir={folder}", f"model.vocab_size={vocab}",
            *(["data.loss_on=target"] if store.task == "rpg" else [])]


def _point(spec: dict) -> dict:
    """Inside the subprocess: train one depth for `steps` steps and report."""
    from picojax import config_io
    from picojax.sharding import configure_cpu_devices

    cfg = config_io.load(None, spec["overrides"])
    configure_cpu_devices(cfg.mesh)
    import jax

    from picojax.config import param_count
    from picojax.hardware import cpu_peak_flops
    from picojax.train import train

    probe_s = 0.0
    if jax.default_backend() == "cpu":
        probe = time.perf_counter()
        cpu_peak_flops(refresh=True)  # re-probe: the cache keeps the best peak seen, so MFU is not inflated by load
        probe_s = time.perf_counter() - probe  # the bench's own work: not part of a user's time to first step

    with tempfile.TemporaryDirectory() as workdir:
        train_start = time.perf_counter()
        summary = train(cfg, workdir, stop_after=spec["steps"], progress=False)
    return {
        "depth": cfg.model.depth, "params": param_count(cfg.model).total, "devices": jax.device_count(),
        "backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
        "tokens_per_s": summary.get("tokens_per_sec", float("nan")), "mfu": summary.get("mfu", float("nan")),
        "compile_s": summary["compile_time_s"],
        "first_step_s": train_start - _PROCESS_START - probe_s + summary["time_to_first_step_s"],
        "import_s": train_start - _PROCESS_START - probe_s,
    }


def _run_point(spec: dict) -> dict:
    from picojax.errors import UserError

    out = subprocess.run([sys.executable, "-m", "picojax.app.bench.train", json.dumps(spec)], capture_output=True, text=True)
    last = (out.stdout.strip().splitlines() or ["{}"])[-1]
    if out.returncode == 2 and last.startswith('{"error"'):
        raise UserError(json.loads(last)["error"])  # a mistake in the user's input: one line, exit 2
    if out.returncode:
        raise RuntimeError(f"bench point failed:\n{out.stderr[-3000:]}")
    return json.loads(last)


def run(args) -> int:
    from picojax.app.bench.report import emit

    data = _dataset_overrides(args.data) if args.data else None
    with tempfile.TemporaryDirectory() as tmp:
        if data is None:
            data = ["data.task=stories", f"data.dir={_make_data(Path(tmp) / 'data', args.vocab)}",
                    f"model.vocab_size={args.vocab}"]
        base = [
            *data, f"model.seq_len={args.seq_len}", f"train.batch_size={args.batch}", f"train.steps={10 * args.steps}",
            "train.log_every=5", "train.eval_every=0", "checkpoint.every_steps=0", "checkpoint.every_minutes=0",
        ]
        rows, figures = [], {}
        for depth in (int(x) for x in args.depths.split(",")):
            point = _run_point({"steps": args.steps, "overrides": [*base, f"model.depth={depth}", *args.overrides]})
            rows.append((depth, point["params"], point["devices"], point["tokens_per_s"], point["mfu"],
                         point["compile_s"], point["first_step_s"]))
            figures.update({f"d{depth}_tokens_per_s": point["tokens_per_s"], f"d{depth}_mfu": point["mfu"],
                            f"d{depth}_compile_s": point["compile_s"], f"d{depth}_time_to_first_step_s": point["first_step_s"],
                            "backend": point["backend"], "device_kind": point["device_kind"], "devices": point["devices"]})
    figures.update(batch=args.batch, seq_len=args.seq_len, vocab=args.vocab, steps=args.steps)
    emit("train", ("depth", "params", "devices", "tokens/s", "MFU", "compile s", "first step s"), rows, figures)
    return 0


if __name__ == "__main__":  # one depth, in a fresh process (see _run_point)
    from picojax.errors import UserError

    try:
        print(json.dumps(_point(json.loads(sys.argv[1]))))
    except UserError as e:  # e.g. a config the dataset cannot train: the parent says it in one line
        print(json.dumps({"error": str(e)}))
        sys.exit(2)
