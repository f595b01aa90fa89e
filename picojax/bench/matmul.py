"""`picojax bench matmul`: the matmul peak that MFU figures are a fraction of.

A jitted f32 ``jnp.dot`` of two 2048x2048 matrices: large enough to keep every core busy,
small enough to run in a second. On this 2-core CPU it measured ~210 GFLOP/s.
"""

from __future__ import annotations

import time

HELP = "measure the matmul peak (jnp.dot 2048x2048, jitted) that MFU is quoted against"


def add_arguments(parser):
    parser.add_argument("--size", type=int, default=2048, help="matrix side (default 2048)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="operand dtype")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls; the best one counts")


def measure_matmul_peak(size: int = 2048, dtype: str = "float32", repeats: int = 10) -> float:
    """Best FLOP/s of one jitted size x size matmul on the default device."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (size, size), dtype=jnp.dtype(dtype))
    b = jax.random.normal(jax.random.key(1), (size, size), dtype=jnp.dtype(dtype))
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()  # compile and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        dot(a, b).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def run(args) -> int:
    from picojax.bench.report import emit

    flops = measure_matmul_peak(args.size, args.dtype, args.repeats)
    emit("matmul", ("size", "dtype", "GFLOP/s"), [(args.size, args.dtype, flops / 1e9)],
         {"matmul_gflops": flops / 1e9, "size": args.size, "dtype": args.dtype})
    return 0
