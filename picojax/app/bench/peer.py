"""`picojax bench peer`: picojax's train step against a plain PyTorch eager loop, side by side.

Both train the same architecture on the same shapes from random tokens: RMSNorm, RoPE,
GQA, SwiGLU, tied embeddings, AdamW (0.9/0.95, weight decay 0.1), gradient clipping at
1.0 (the PyTorch side: `picojax.app.bench._peer_torch`). picojax runs its real jitted,
donated, sharded train step (`picojax.train_step.build_train_step`, the optimizer of
`picojax.optim.make_optimizer`) on the default CPU mesh. Every point is its own process;
the two sides alternate `--repeats` times so a load spike hits both alike, and the best
step of each counts (load only slows a step down). MFU is against the matmul peak
measured in the same run.

Shapes: (a) 260K params, attention-bound (head_dim 8, L=512); (b) 6.1M; (c) 27M; and
`rpg`, the RPG quickstart preset's dims, both bare (as the others: no QK-norm, plain
causal, loss on every token) and as the preset trains (`rpg-preset`: QK-norm, segment
mask, loss on targets only; picojax only, since the peer has neither feature).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HELP = "picojax's train step vs a PyTorch eager loop (torch==2.13.0) on shapes a, b, c and the RPG preset"

SHAPES = {
    "a": dict(d_model=64, depth=5, n_heads=8, head_dim=8, n_kv_heads=4, mlp_hidden=172, vocab=512, seq_len=512, batch=32),
    "b": dict(d_model=288, depth=6, n_heads=6, head_dim=48, n_kv_heads=6, mlp_hidden=768, vocab=512, seq_len=256, batch=32),
    "c": dict(d_model=512, depth=8, n_heads=8, head_dim=64, n_kv_heads=8, mlp_hidden=1376, vocab=4096, seq_len=256, batch=16),
    "rpg": dict(d_model=128, depth=2, n_heads=4, head_dim=32, n_kv_heads=4, mlp_hidden=352, vocab=512, seq_len=256, batch=32),
}
PRESET = {"rpg-preset": "rpg"}  # picojax-only rows: the preset's features on a shape's dims


def add_arguments(parser):
    parser.add_argument("--shapes", default="a,b,c,rpg,rpg-preset",
                        help=f"comma list of {', '.join([*SHAPES, *PRESET])} (default all)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per point after 2 warm-up steps (default 5)")
    parser.add_argument("--repeats", type=int, default=2, help="alternations of the two sides (default 2)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra picojax config overrides (repeatable), e.g. model.attention=xla")


def _overrides(shape: dict, preset: bool) -> list[str]:
    s = shape
    common = [f"model.depth={s['depth']}", f"model.d_model={s['d_model']}", f"model.n_heads={s['n_heads']}",
              f"model.head_dim={s['head_dim']}", f"model.n_kv_heads={s['n_kv_heads']}",
              f"model.mlp_hidden={s['mlp_hidden']}", f"model.vocab_size={s['vocab']}", f"model.seq_len={s['seq_len']}",
              f"train.batch_size={s['batch']}", "train.steps=1000", "optim.weight_decay=0.1", "optim.clip_norm=1.0"]
    if preset:
        return common + ["model.qk_norm=true", "data.segment_mask=true", "data.loss_on=target"]
    return common + ["model.qk_norm=false", "data.segment_mask=false", "data.loss_on=all"]


def _jax_point(spec: dict) -> dict:
    """Inside the subprocess: picojax's real train step at one shape."""
    from picojax import config_io
    from picojax.sharding import configure_cpu_devices

    import picojax.app  # noqa: F401  (the task registry the config validates against)

    cfg = config_io.load(None, spec["overrides"])
    configure_cpu_devices(cfg.mesh)
    import jax
    import numpy as np

    from picojax import optim, sharding
    from picojax.config import flops_per_token
    from picojax.hardware import measure_matmul_peak
    from picojax.train_state import init_train_state
    from picojax.train_step import build_train_step

    if spec.get("peak"):
        return {"peak_gflops": measure_matmul_peak() / 1e9}
    mesh = sharding.make_mesh(cfg.mesh)
    tx, schedule = optim.make_optimizer(cfg)
    graphdef, state, shardings = init_train_state(cfg, mesh, tx)
    step_fn = build_train_step(cfg, graphdef, tx, schedule, shardings, mesh)
    b, n = cfg.train.batch_size, cfg.model.seq_len
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, cfg.model.vocab_size, (b, n + 1), dtype=np.int32)
    # A packed-looking batch for the preset row: documents of 40-ish tokens, targets after 60%.
    doc = 41
    positions = np.tile(np.arange(n, dtype=np.int32) % doc, (b, 1))
    segments = np.tile(1 + np.arange(n, dtype=np.int32) // doc, (b, 1))
    loss_mask = (positions >= int(0.6 * doc)).astype(np.float32) if cfg.data.loss_on == "target" else np.ones((b, n), np.float32)
    host = {"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "loss_mask": loss_mask,
            "segment_ids": segments, "positions": positions}
    batch = sharding.to_global_batch(host, mesh)
    start = time.perf_counter()
    state, out = step_fn(state, batch)
    jax.block_until_ready(out)
    compile_and_first = time.perf_counter() - start
    state, out = step_fn(state, batch)
    jax.block_until_ready(out)
    times = []
    for _ in range(spec["steps"]):
        start = time.perf_counter()
        state, out = step_fn(state, batch)
        jax.block_until_ready(out["loss"])
        times.append(time.perf_counter() - start)
    step_s = min(times)
    tokens_per_s = b * n / step_s
    return {"tokens_per_s": tokens_per_s, "step_s": step_s, "flops_per_s": tokens_per_s * flops_per_token(cfg.model),
            "first_step_s": compile_and_first, "devices": jax.device_count(), "loss": float(out["loss"])}


def _subprocess(module: str, spec: dict, env=None) -> dict:
    out = subprocess.run([sys.executable, "-m", module, json.dumps(spec)], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{module} point failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def run(args) -> int:
    from picojax.app.bench.report import emit
    from picojax.errors import UserError

    names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in names if s not in SHAPES and s not in PRESET]
    if unknown:
        raise UserError(f"unknown shape {unknown[0]!r}; choose from {', '.join([*SHAPES, *PRESET])}")
    have_torch = _torch_available()
    if not have_torch:
        print("bench peer: torch is not installed (pip install 'torch==2.13.0', the CPU wheel): "
              "the PyTorch column is skipped", file=sys.stderr)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # each point sets its own devices
    peak = max(_subprocess(__name__, {"peak": True, "overrides": ["mesh.cpu_devices=1"]}, env)["peak_gflops"]
               for _ in range(2)) * 1e9
    rows, figures = [], {"peak_gflops": peak / 1e9}
    for name in names:
        shape = SHAPES[PRESET.get(name, name)]
        spec = {"steps": args.steps, "overrides": _overrides(shape, name in PRESET) + args.overrides}
        best_jax, best_torch = None, None
        for _ in range(args.repeats):
            if have_torch and name not in PRESET:
                t = _subprocess("picojax.app.bench._peer_torch", {**shape, "steps": args.steps, "threads": os.cpu_count() or 2})
                best_torch = t if best_torch is None or t["tokens_per_s"] > best_torch["tokens_per_s"] else best_torch
            j = _subprocess(__name__, spec, env)
            best_jax = j if best_jax is None or j["tokens_per_s"] > best_jax["tokens_per_s"] else best_jax
        peer = best_torch["tokens_per_s"] if best_torch else float("nan")
        ratio = best_jax["tokens_per_s"] / peer if best_torch else float("nan")
        mfu = best_jax["flops_per_s"] / peak
        rows.append((name, peer, best_jax["tokens_per_s"], ratio, mfu, best_jax["first_step_s"]))
        figures.update({f"{name}_peer_tokens_per_s": peer, f"{name}_picojax_tokens_per_s": best_jax["tokens_per_s"],
                        f"{name}_ratio": ratio, f"{name}_mfu": mfu, f"{name}_first_step_s": best_jax["first_step_s"],
                        "devices": best_jax["devices"]})
    if "rpg" in names and "rpg-preset" in names:
        figures["rpg_preset_vs_bare"] = figures["rpg-preset_picojax_tokens_per_s"] / figures["rpg_picojax_tokens_per_s"]
    figures.update(steps=args.steps, repeats=args.repeats, torch=best_torch.get("torch") if have_torch and best_torch else None)
    emit("peer", ("shape", "PyTorch tok/s", "picojax tok/s", "ratio", "picojax MFU", "compile+1st step s"), rows, figures)
    return 0


if __name__ == "__main__":  # one picojax point, in a fresh process
    print(json.dumps(_jax_point(json.loads(sys.argv[1]))))
