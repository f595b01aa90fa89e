"""`picojax bench matmul`: the matmul peak that MFU figures are a fraction of.

A jitted f32 ``jnp.dot`` of two 2048x2048 matrices: large enough to keep every core busy,
small enough to run in a second. On this 2-core CPU it measured ~210 GFLOP/s.
"""

from __future__ import annotations

HELP = "measure the matmul peak (jnp.dot 2048x2048, jitted) that MFU is quoted against"


def add_arguments(parser):
    parser.add_argument("--size", type=int, default=2048, help="matrix side (default 2048)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="operand dtype")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls; the best one counts")


def run(args) -> int:
    from picojax.app.bench.report import emit

    from picojax.hardware import measure_matmul_peak

    flops = measure_matmul_peak(args.size, args.dtype, args.repeats)
    emit("matmul", ("size", "dtype", "GFLOP/s"), [(args.size, args.dtype, flops / 1e9)],
         {"matmul_gflops": flops / 1e9, "size": args.size, "dtype": args.dtype})
    return 0
