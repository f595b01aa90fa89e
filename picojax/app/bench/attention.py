"""`picojax bench attention`: which attention kernel is fastest at the model's sizes.

Times forward+backward of causal attention (packed-segment mask, or plain causal) on the
shapes the depth dial gives (heads = depth, head_dim 64), for each kernel in
`picojax.attention`.
The kernels run interleaved, round after round, so background load hits them alike; the
median round counts. The winner per backend is what ``model.attention = auto`` uses.
"""

from __future__ import annotations

import statistics
import time

HELP = "time forward+backward of each attention kernel (einsum, xla[, cudnn]) at the model's sizes"


def add_arguments(parser):
    parser.add_argument("--depths", default="2,4,6", help="depths whose head counts to use (default 2,4,6)")
    parser.add_argument("--batch", type=int, default=8, help="sequences per call (default 8)")
    parser.add_argument("--seq-len", type=int, default=256, help="sequence length (default 256)")
    parser.add_argument("--head-dim", type=int, default=64, help="head width (default 64)")
    parser.add_argument("--kv-group", type=int, default=1, help="query heads per kv head (default 1)")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds (default 10)")
    parser.add_argument("--mask", default="segments", choices=("segments", "causal"),
                        help="packed-segment mask (data.segment_mask=true, default) or plain causal")
    parser.add_argument("--kernels", default=None, help="comma list; default einsum,xla,chunked (+cudnn on GPU)")


def _label(asked: str, ran: str) -> str:
    return asked if ran == asked else f"{ran} ({asked} fell back)"


def _timer(fn, args):
    import jax

    jax.block_until_ready(fn(*args))  # compile and warm up

    def once() -> float:
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        return time.perf_counter() - start

    return once


def run(args) -> int:
    import jax
    import jax.numpy as jnp

    from picojax.attention import attend, causal_mask, effective_implementation
    from picojax.app.bench.report import emit

    on_gpu = jax.default_backend() == "gpu"
    kernels = args.kernels.split(",") if args.kernels else ["einsum", "xla", "chunked"] + (["cudnn"] if on_gpu else [])
    dtype = jnp.bfloat16 if on_gpu else jnp.float32
    b, n, d = args.batch, args.seq_len, args.head_dim
    rows, figures = [], {}
    for depth in (int(x) for x in args.depths.split(",")):
        heads = depth
        kv_heads = max(1, heads // args.kv_group)
        keys = jax.random.split(jax.random.key(depth), 3)
        q = jax.random.normal(keys[0], (b, n, heads, d), dtype)
        k = jax.random.normal(keys[1], (b, n, kv_heads, d), dtype)
        v = jax.random.normal(keys[2], (b, n, kv_heads, d), dtype)
        mask = segments = None  # plain causal
        if args.mask == "segments":  # 4 packed documents per row
            segments = jnp.repeat(jnp.arange(4) + 1, n // 4)[None].repeat(b, 0)
            segments = jnp.pad(segments, ((0, 0), (0, n - segments.shape[1])))
            mask = causal_mask(segments)
        timers = {}
        for kernel in kernels:
            loss = lambda q, k, v, kernel=kernel: attend(q, k, v, mask, kernel, segments).astype(jnp.float32).sum()
            timers[kernel] = _timer(jax.jit(jax.grad(loss, argnums=(0, 1, 2))), (q, k, v))
        times = {kernel: [] for kernel in kernels}
        for _ in range(args.rounds):
            for kernel in kernels:
                times[kernel].append(timers[kernel]())
        medians = {kernel: statistics.median(t) for kernel, t in times.items()}
        # What really ran: a kernel that fell back (cuDNN rejecting the inputs) is labelled
        # by the kernel that ran instead, e.g. "xla (cudnn fell back)".
        label = {kernel: _label(kernel, effective_implementation(q, k, v, mask, kernel, segments)) for kernel in kernels}
        best = min(medians, key=medians.get)
        for kernel in kernels:
            rows.append((depth, heads, label[kernel], medians[kernel] * 1e3, min(times[kernel]) * 1e3,
                         medians[kernel] / medians[best]))
            figures[f"d{depth}_{kernel}_ms"] = medians[kernel] * 1e3
            figures[f"d{depth}_{kernel}_ran"] = effective_implementation(q, k, v, mask, kernel, segments)
        figures[f"d{depth}_fastest"] = label[best]
    figures.update(mask=args.mask, batch=b, seq_len=n, head_dim=d, kv_group=args.kv_group, dtype=jnp.dtype(dtype).name)
    emit("attention", ("depth", "heads", "kernel", "median ms", "best ms", "x fastest"), rows, figures)
    return 0
