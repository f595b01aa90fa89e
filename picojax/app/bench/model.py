"""`picojax bench model`: forward+backward tokens/s and MFU at several depths and device counts.

Each (depth, devices) point runs in its own subprocess, because the number of fake CPU
devices is fixed when JAX initialises. A point builds the real model with
`picojax.sharding.create_model` on a data-parallel mesh over its devices and times the
jitted value-and-grad of the next-token loss, the way the trainer's step does; the fastest
step counts (load only slows steps down). MFU is achieved FLOP/s (config.flops_per_token
x tokens/s) over the matmul peak (`picojax bench matmul`), measured on one device in a
subprocess of its own right before each depth's points, so load lowers both alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HELP = "forward+backward tokens/s and MFU of the real model at depths 2,4,6, one device vs fake devices"


def add_arguments(parser):
    parser.add_argument("--depths", default="2,4,6", help="comma list of depths (default 2,4,6)")
    parser.add_argument("--devices", default="1,0",
                        help="comma list of CPU device counts; 0 = one per core (default 1,0)")
    parser.add_argument("--batch", type=int, default=16, help="global batch in sequences (default 16)")
    parser.add_argument("--seq-len", type=int, default=256, help="sequence length (default 256)")
    parser.add_argument("--vocab", type=int, default=512, help="vocabulary size (default 512)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps after 2 warm-up steps (default 5)")
    parser.add_argument("--attention", default="auto", help="model.attention: auto, einsum, xla, cudnn")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run every point this many times, device counts alternating; the best run counts")


def _cpu_seconds() -> float:
    """CPU time of this process, all threads: the work a step costs, which (unlike wall
    time) other jobs on a shared machine barely change."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _point(spec: dict) -> dict:
    """Runs inside the subprocess: the matmul peak, or one depth on one device count."""
    from picojax.config import Config, MeshConfig, flops_per_token, resolve
    from picojax.sharding import configure_cpu_devices

    configure_cpu_devices(MeshConfig(cpu_devices=spec["devices"]))
    import jax

    from picojax.hardware import measure_matmul_peak

    if spec.get("peak"):
        return {"peak_gflops": measure_matmul_peak() / 1e9, "backend": jax.default_backend(),
                "device_kind": jax.devices()[0].device_kind}
    import numpy as np
    import optax
    from flax import nnx

    from picojax import sharding

    cfg = Config()
    cfg.model.depth, cfg.model.seq_len, cfg.model.vocab_size = spec["depth"], spec["seq_len"], spec["vocab"]
    cfg.model.attention = spec["attention"]
    cfg.mesh = MeshConfig(strategy="dp", data=-1)
    cfg = resolve(cfg)
    mesh = sharding.make_mesh(cfg.mesh)
    graphdef, state = sharding.create_model(cfg, mesh, seed=0)
    state_sh = sharding.state_shardings(state, mesh)
    batch_sh = sharding.batch_sharding(mesh)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, cfg.model.vocab_size, (spec["batch"], cfg.model.seq_len + 1), dtype=np.int32)
    inputs, targets = (jax.device_put(x, batch_sh) for x in (tokens[:, :-1], tokens[:, 1:]))

    def loss_fn(state, inputs, targets):
        logits = nnx.merge(graphdef, state)(inputs)
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

    grad_step = jax.jit(jax.value_and_grad(loss_fn), in_shardings=(state_sh, batch_sh, batch_sh),
                        out_shardings=(None, state_sh))
    with jax.set_mesh(mesh):
        for _ in range(2):
            jax.block_until_ready(grad_step(state, inputs, targets))
        times, cpu_start = [], _cpu_seconds()
        for _ in range(spec["steps"]):
            start = time.perf_counter()
            jax.block_until_ready(grad_step(state, inputs, targets))
            times.append(time.perf_counter() - start)
        cpu_per_step = (_cpu_seconds() - cpu_start) / spec["steps"]
    step_s = min(times)  # background load only ever slows a step: the fastest is the machine's figure
    tokens_per_s = spec["batch"] * cfg.model.seq_len / step_s
    return {"depth": spec["depth"], "devices": jax.device_count(), "step_s": step_s, "tokens_per_s": tokens_per_s,
            "flops_per_s": tokens_per_s * flops_per_token(cfg.model), "cpu_s": cpu_per_step}


def _run_point(spec: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # the spec sets the device count
    out = subprocess.run([sys.executable, "-m", "picojax.app.bench.model", json.dumps(spec)], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"bench point {spec} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args) -> int:
    from picojax.app.bench.report import emit

    rows, figures = [], {}
    counts = [int(x) or (os.cpu_count() or 1) for x in args.devices.split(",")]
    for depth in (int(x) for x in args.depths.split(",")):
        best: dict[int, dict] = {}
        peak = 0.0
        for _ in range(args.repeats):  # alternate device counts so a load spike hits them alike
            point = _run_point({"peak": True, "devices": 1})
            peak = max(peak, point["peak_gflops"] * 1e9)
            figures.update(backend=point["backend"], device_kind=point["device_kind"])
            for devices in counts:
                spec = dict(depth=depth, devices=devices, batch=args.batch, seq_len=args.seq_len, vocab=args.vocab,
                            steps=args.steps, attention=args.attention)
                point = _run_point(spec)
                if point["devices"] not in best or point["tokens_per_s"] > best[point["devices"]]["tokens_per_s"]:
                    best[point["devices"]] = point
        figures[f"d{depth}_peak_gflops"] = peak / 1e9
        for devices, point in best.items():
            mfu = point["flops_per_s"] / peak
            rows.append((depth, devices, point["tokens_per_s"], point["step_s"] * 1e3, point["cpu_s"] * 1e3,
                         peak / 1e9, mfu))
            figures[f"d{depth}_dev{devices}_cpu_ms_per_step"] = point["cpu_s"] * 1e3
            figures[f"d{depth}_dev{devices}_tokens_per_s"] = point["tokens_per_s"]
            figures[f"d{depth}_dev{devices}_mfu"] = mfu
        if 1 in best and len(best) > 1:
            most = max(best)
            figures[f"d{depth}_speedup_dev{most}_vs_1"] = best[most]["tokens_per_s"] / best[1]["tokens_per_s"]
    figures.update(batch=args.batch, seq_len=args.seq_len, vocab=args.vocab, attention=args.attention,
                   steps=args.steps, repeats=args.repeats)
    emit("model", ("depth", "devices", "tokens/s", "step ms", "CPU ms/step", "peak GFLOP/s", "MFU"), rows, figures)
    return 0


if __name__ == "__main__":  # one measurement point, in a fresh process (see _run_point)
    print(json.dumps(_point(json.loads(sys.argv[1]))))
